import Foundation
import RTModel

/// Plain-text rendering of an `Inventory` for the terminal.
enum InfoFormatter {
    static func text(_ inv: Inventory) -> String {
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        let f = inv.files
        var summary = "Scanned \(f.scanned) file\(f.scanned == 1 ? "" : "s") under \(inv.root): \(f.dicom) DICOM"
        if !f.ignored.isEmpty { summary += ", \(f.ignored.count) ignored (not DICOM)" }
        if !f.unreadable.isEmpty { summary += ", \(f.unreadable.count) unreadable" }
        line(summary)
        for u in f.unreadable { line("  unreadable: \(u)") }
        if inv.patients.isEmpty { line("No DICOM objects found.") }
        if let r = inv.resolution {
            line()
            line("How commands read this folder:")
            for c in r.choices { line("  \(c)") }
            if let d = r.dose { line("  dose used: \(d)") }
            for n in r.notes { line("  note: \(n)") }
            if let p = r.problem { line("  not resolved (\(r.problemKind ?? "?")): \(p)") }
        }
        for p in inv.patients {
            line()
            var head = "Patient \(p.id.isEmpty ? "(no ID)" : p.id)  \(p.name)"
            let extra = [p.age.map { "age \($0)" }, p.sex.map { "sex \($0)" }, p.birthDate.map { "born \($0)" }].compactMap { $0 }
            if !extra.isEmpty { head += "  (" + extra.joined(separator: ", ") + ")" }
            line(head)
            for s in p.studies {
                var sh = "  Study \(s.studyInstanceUID)"
                if let d = s.date { sh += "  \(d)" }
                if let d = s.description { sh += "  \"\(d)\"" }
                line(sh)
                line("    Frame(s) of reference: \(s.framesOfReference.joined(separator: ", "))")
                for img in s.imageSeries { imageLines(img, s, line) }
                for ss in s.structureSets {
                    line("    Structure set \(ss.label.map { "\"\($0)\"" } ?? ss.sopInstanceUID)  \(ss.file)")
                    let w = max(4, ss.rois.map { $0.name.count }.max() ?? 4)
                    line("      " + pad("#", 4) + pad("Name", w + 2) + pad("Type", 12) + pad("Colour", 14) + pad("Contours", 10) + "Planes")
                    for r in ss.rois {
                        let colour = r.color.map { $0.map(String.init).joined(separator: ",") } ?? "-"
                        line("      " + pad(String(r.number), 4) + pad(r.name, w + 2) + pad(r.type ?? "-", 12) + pad(colour, 14)
                             + pad(String(r.contours), 10) + String(r.planes))
                    }
                }
                for dose in s.doses { doseLines(dose, line) }
                for plan in s.plans { planLines(plan, line) }
                for r in s.registrations {
                    line("    Spatial registration \(r.file)")
                    line("      into frame of reference \(r.frameOfReferenceUID) from \(r.registeredFramesOfReference.filter { $0 != r.frameOfReferenceUID }.joined(separator: ", "))")
                }
                for o in s.otherObjects {
                    let what = "\(o.count) × \(o.sopClassName) (\(o.modality.isEmpty ? "?" : o.modality), \(o.sopClassUID.isEmpty ? "no SOP Class UID" : o.sopClassUID))"
                    line(o.status == "refused" ? "    Refused: \(what): \(o.reason ?? "")" : "    Ignored: \(what): not used by sbrt")
                }
            }
        }
        if !inv.warnings.isEmpty {
            line()
            line("Warnings (\(inv.warnings.count)):")
            for w in inv.warnings { line("  [\(w.kind)] \(w.message)") }
        }
        return out
    }

    static func doseLines(_ dose: Inventory.DoseEntry, _ line: (String) -> Void) {
        line("    Dose \(dose.file)")
        let d = dose.dimensions, sp = dose.spacingMM
        let unit = dose.units == "GY" ? "Gy" : dose.units
        line("      \(d[0])×\(d[1])×\(d[2]) voxels at \(n(sp[0]))×\(n(sp[1]))×\(n(sp[2])) mm, \(dose.orientation), max \(n(dose.maxDose, 3)) \(unit)")
        line("      type \(dose.doseType), summation \(dose.summationType), \(dose.bitsAllocated)-bit, scaling \(dose.doseGridScaling), frame offsets \(dose.frameOffsetForm)")
        if dose.embeddedDVHs.isEmpty {
            line("      no embedded DVHs")
        } else {
            line("      embedded DVHs (computed from the DVH data): ")
            for h in dose.embeddedDVHs {
                let vu = h.volumeUnits == "CM3" ? "cc" : h.volumeUnits
                let du = h.doseUnits == "GY" ? "Gy" : h.doseUnits
                line("        \(h.roiNames.joined(separator: "+")): \(h.type.lowercased()), \(h.bins) bins, volume \(n(h.volume, 3)) \(vu), min/mean/max \(n(h.minDose))/\(n(h.meanDose))/\(n(h.maxDose)) \(du)")
            }
        }
    }

    static func planLines(_ plan: Inventory.PlanEntry, _ line: (String) -> Void) {
        var ph = "    Plan \(plan.label.map { "\"\($0)\"" } ?? plan.sopInstanceUID)"
        if let st = plan.approvalStatus { ph += "  \(st)" }
        line(ph + "  \(plan.file)")
        for g in plan.fractionGroups {
            line("      fraction group \(g.number.map(String.init) ?? "?"): \(g.fractionsPlanned.map(String.init) ?? "?") fractions planned, \(g.numberOfBeams.map(String.init) ?? "?") beams")
        }
        if let rx = plan.prescriptionGy {
            line("      prescription \(n(rx)) Gy (Target Prescription Dose)")
        } else {
            let all = plan.doseReferences.compactMap(\.targetPrescriptionDoseGy)
            line(all.isEmpty ? "      prescription: not stated in the plan"
                             : "      prescription: several target doses \(all.map { n($0) }.joined(separator: ", ")) Gy; none chosen")
        }
    }

    /// Two or three lines per image series: what, geometry, values; and which structure
    /// set is drawn on it.
    static func imageLines(_ img: Inventory.ImageEntry, _ s: Inventory.StudyEntry, _ line: (String) -> Void) {
        let kind = img.modality == "PT" ? "PET" : img.modality
        line("    Image series \(img.number): \(kind) \(img.seriesInstanceUID)\(img.description.map { "  \"\($0)\"" } ?? "")")
        let d = img.dimensions, sp = img.spacingMM
        var orient = img.orientation
        if let pp = img.patientPosition { orient += " (Patient Position \(pp))" }
        line("      \(img.imageCount) images, \(d[0])×\(d[1])×\(d[2]) voxels at \(n(sp[0]))×\(n(sp[1]))×\(n(sp[2])) mm, \(orient)")
        let range: String
        switch img.values {
        case "HU": range = "HU \(Int(img.valueRange[0].rounded())) … \(Int(img.valueRange[1].rounded()))"
        case "signal": range = "MR signal \(short(img.valueRange[0])) … \(short(img.valueRange[1])) (no units)"
        case "SUVbw": range = "SUVbw \(short(img.valueRange[0])) … \(short(img.valueRange[1]))"
        default: range = "\(short(img.valueRange[0])) … \(short(img.valueRange[1])) \(img.valueUnit) (no SUV)"
        }
        line("      z \(n(img.zRangeMM[0])) … \(n(img.zRangeMM[1])) mm, \(range), \(img.transferSyntaxes.joined(separator: ", "))")
        if img.modality == "PT" { line("      \(img.valueNote)") }
        if let f = img.frameOfReferenceUID, s.framesOfReference.count > 1 { line("      frame of reference \(f)") }
        let labels = img.referencedByStructureSets.map { uid in s.structureSets.first { $0.sopInstanceUID == uid }.flatMap(\.label).map { "\"\($0)\"" } ?? uid }
        if !labels.isEmpty { line("      planning images of structure set \(labels.joined(separator: ", "))") }
    }

    /// A value with up to 4 significant digits, no trailing zeros.
    static func short(_ v: Double) -> String { String(format: "%.4g", v) }

    static func n(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }
    static func pad(_ s: String, _ w: Int) -> String {
        s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count)
    }
}
