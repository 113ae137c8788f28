import Base
import DICOM
import Foundation

extension ImageValues {
    /// The values of a PET series: body-weight SUV when its tags allow, else the rescaled
    /// values in the file's Units, with the reason.
    ///
    /// SUVbw = C × W / D (g/ml): C the activity concentration (Bq/ml) = stored × Rescale
    /// Slope + Intercept, W = Patient's Weight (0010,1030) × 1000 g, D the injected activity
    /// Radionuclide Total Dose (0018,1074, Bq) decayed to the time the images are
    /// decay-corrected to: D·2^(−Δt/T½) with T½ = Radionuclide Half Life (0018,1075) and Δt
    /// from the injection (Radiopharmaceutical Start DateTime 0018,1078, else Start Time
    /// 0018,1072 on the Series Date) to the series reference time (Series Date/Time,
    /// the PET Series module, PS3.3 C.8.9.1: the reference of Decay Correction START). Decay Correction ADMIN
    /// means the images are corrected to the injection: Δt = 0. This is the vendor-neutral
    /// pseudo-code of the QIBA FDG-PET/CT technical committee ("SUV calculation", QIBA wiki).
    ///
    /// Conditions (else no SUV): Units BQML (GML: the values are SUVbw already), Corrected
    /// Image (0028,0051) holding ATTN and DECY, Decay Correction START or ADMIN, a Series
    /// Date/Time not after the Acquisition Date/Time (a later one marks a post-processed
    /// series whose reference time is vendor-specific), weight, dose and half-life positive.
    /// - Throws: `.invalidValue` for present but unreadable or non-finite numbers.
    static func pet(_ ds: DataSet, file: String?) throws -> ImageValues {
        let units = (ds.string(.petUnits) ?? "").uppercased()
        func raw(_ why: String) -> ImageValues {
            ImageValues(quantity: .petRaw, unit: units, note: "PET values as stored × Rescale Slope + Rescale Intercept\(units.isEmpty ? "" : " (Units \(units))"); no SUV: \(why)")
        }
        switch units {
        case "GML":
            return ImageValues(quantity: .suvBodyWeight, unit: "g/ml", note: "SUVbw as stored (Units GML)")
        case "BQML":
            break
        case "":
            return raw("Units (0054,1001) is missing")
        default:
            return raw("Units (0054,1001) is \(units), not BQML")
        }
        let corrected = Set((ds.strings(.correctedImage) ?? []).map { $0.uppercased() })
        guard corrected.contains("ATTN"), corrected.contains("DECY") else {
            return raw("Corrected Image (0028,0051) does not state ATTN and DECY")
        }
        let decay = (ds.string(.decayCorrection) ?? "").uppercased()
        guard decay == "START" || decay == "ADMIN" else {
            return raw("Decay Correction (0054,1102) is \(decay.isEmpty ? "missing" : decay), not START or ADMIN")
        }
        guard let weightKg = try ds.optionalDouble(.patientWeight, "Patient's Weight", file: file), weightKg > 0, weightKg < 1000 else {
            return raw("Patient's Weight (0010,1030) is missing or not a weight in kg")
        }
        guard let drug = ds.sequence(.radiopharmaceuticalInformationSequence)?.first else {
            return raw("no Radiopharmaceutical Information Sequence (0054,0016)")
        }
        guard let doseBq = try drug.optionalDouble(.radionuclideTotalDose, "Radionuclide Total Dose", file: file), doseBq > 0 else {
            return raw("Radionuclide Total Dose (0018,1074) is missing or not positive")
        }
        guard let halfLife = try drug.optionalDouble(.radionuclideHalfLife, "Radionuclide Half Life", file: file), halfLife > 0 else {
            return raw("Radionuclide Half Life (0018,1075) is missing or not positive")
        }
        var elapsed = 0.0
        if decay == "START" {
            switch petDecayTime(ds, drug) {
            case .success(let t): elapsed = t
            case .failure(let why): return raw(why.message)
            }
        }
        let decayed = doseBq * pow(2, -elapsed / halfLife)
        let factor = weightKg * 1000 / decayed
        let note = String(format: "SUVbw = Bq/ml × %.6g g / %.6g Bq (Radionuclide Total Dose decayed %.0f s with half-life %.6g s to the %@ time)",
                          weightKg * 1000, decayed, elapsed, halfLife, decay == "START" ? "series reference (Decay Correction START)" : "injection (Decay Correction ADMIN)")
        return ImageValues(quantity: .suvBodyWeight, unit: "g/ml", factor: factor, note: note)
    }

    /// Seconds from the injection to the series reference time (Series Date/Time).
    static func petDecayTime(_ ds: DataSet, _ drug: DataSet) -> Result<Double, SBRTError> {
        func fail(_ m: String) -> Result<Double, SBRTError> { .failure(SBRTError(.missingAttribute, m)) }
        guard let seriesDate = ds.string(.seriesDate), let seriesTime = ds.string(.seriesTime),
              let scan = DICOMTime.seconds(date: seriesDate, time: seriesTime) else {
            return fail("Series Date/Time (0008,0021/0031) is missing or unreadable")
        }
        if let acqDate = ds.string(.acquisitionDate), let acqTime = ds.string(.acquisitionTime),
           let acq = DICOMTime.seconds(date: acqDate, time: acqTime), scan > acq + 0.5 {
            return fail("Series Time is after Acquisition Time (a post-processed series: its decay reference is vendor-specific)")
        }
        var start: Double
        if let dt = drug.string(.radiopharmaceuticalStartDateTime), let s = DICOMTime.seconds(dateTime: dt) {
            start = s
        } else if let t = drug.string(.radiopharmaceuticalStartTime), let s = DICOMTime.seconds(date: seriesDate, time: t) {
            start = s
            // A start time later in the day than the scan: the injection was the day before.
            if start > scan { start -= 86_400 }
        } else {
            return fail("Radiopharmaceutical Start DateTime/Time (0018,1078/1072) is missing or unreadable")
        }
        let elapsed = scan - start
        guard elapsed >= 0, elapsed < 7 * 86_400 else {
            return fail(String(format: "the injection lies %.0f s from the series reference time", elapsed))
        }
        return .success(elapsed)
    }
}

/// DICOM DA, TM and DT values as seconds on one time line (UTC, offsets ignored).
enum DICOMTime {
    /// `date` YYYYMMDD and `time` HH[MM[SS[.F…]]] (colons tolerated), in seconds.
    static func seconds(date: String, time: String) -> Double? {
        guard let day = days(date), let t = timeOfDay(time) else { return nil }
        return day * 86_400 + t
    }

    /// A DT value YYYYMMDDHHMMSS.F…[&ZZXX] in seconds (the offset is ignored).
    static func seconds(dateTime: String) -> Double? {
        var s = dateTime.trimmingSpaces()
        if let sign = s.firstIndex(where: { $0 == "+" || $0 == "-" }) { s = String(s[..<sign]) }
        guard s.count >= 8 else { return nil }
        let date = String(s.prefix(8)), time = String(s.dropFirst(8))
        return seconds(date: date, time: time.isEmpty ? "00" : time)
    }

    static func days(_ da: String) -> Double? {
        let d = da.replacingOccurrences(of: ".", with: "").trimmingSpaces()
        guard d.count == 8, let y = Int(d.prefix(4)), let m = Int(d.dropFirst(4).prefix(2)), let dd = Int(d.suffix(2)),
              (1...12).contains(m), (1...31).contains(dd) else { return nil }
        var c = DateComponents()
        (c.year, c.month, c.day) = (y, m, dd)
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        guard let date = cal.date(from: c) else { return nil }
        return (date.timeIntervalSince1970 / 86_400).rounded()
    }

    static func timeOfDay(_ tm: String) -> Double? {
        let t = tm.replacingOccurrences(of: ":", with: "").trimmingSpaces()
        let parts = t.split(separator: ".", maxSplits: 1)
        guard let whole = parts.first, whole.count >= 2, whole.count <= 6, whole.count % 2 == 0,
              whole.allSatisfy(\.isNumber) else { return nil }
        let digits = Array(whole).map { Int(String($0))! }
        let h = digits[0] * 10 + digits[1]
        let m = digits.count >= 4 ? digits[2] * 10 + digits[3] : 0
        let s = digits.count >= 6 ? digits[4] * 10 + digits[5] : 0
        guard h < 24, m < 60, s < 61 else { return nil }
        var fraction = 0.0
        if parts.count == 2 {
            guard let f = Double("0." + parts[1]) else { return nil }
            fraction = f
        }
        return Double(h * 3600 + m * 60 + s) + fraction
    }
}
