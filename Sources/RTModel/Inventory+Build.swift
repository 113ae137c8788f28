import Base
import DICOM
import Foundation
import VoxelKit

extension Inventory {
    /// Builds the inventory of a loaded folder. Computes each image series' value range by
    /// scanning stored pixel values (no volume is built).
    /// - Throws: pixel data or registration read errors, naming the file.
    public init(_ folder: StudyFolder) throws {
        root = folder.root
        files = FileCounts(scanned: folder.scan.scannedCount, dicom: folder.scan.files.count,
                           ignored: folder.scan.ignored, unreadable: folder.scan.unreadable.map(\.description))
        warnings = folder.warnings
        var b = Builder()
        try b.addImages(folder)
        b.addStructureSets(folder)
        try b.addDoses(folder)
        b.addPlans(folder)
        b.addOthers(folder)
        patients = b.patientOrder.map { pid in
            let info = b.patientInfo[pid]!
            return PatientEntry(id: pid, name: info.name, birthDate: info.birth, sex: info.sex, age: info.age,
                                studies: b.studyOrder.filter { $0.patient == pid }.map { b.studies[$0]! })
        }
    }

    /// Groups a folder's objects by patient and study, in the order they are met.
    struct Builder {
        struct Key: Hashable { var patient: String; var study: String }
        var patientInfo: [String: (name: String, birth: String?, sex: String?, age: String?)] = [:]
        var patientOrder: [String] = []
        var studies: [Key: StudyEntry] = [:]
        var studyOrder: [Key] = []

        mutating func key(_ ds: DataSet) -> Key {
            let pid = ds.string(.patientID) ?? ""
            if patientInfo[pid] == nil {
                patientInfo[pid] = (ds.string(.patientName) ?? "", ds.string(.patientBirthDate), ds.string(.patientSex), ds.string(.patientAge))
                patientOrder.append(pid)
            }
            let k = Key(patient: pid, study: ds.string(.studyInstanceUID) ?? "")
            if studies[k] == nil {
                studies[k] = StudyEntry(studyInstanceUID: k.study, date: ds.string(.studyDate), description: ds.string(.studyDescription),
                                        framesOfReference: [], ctSeries: [], imageSeries: [], structureSets: [], doses: [], plans: [],
                                        registrations: [], otherObjects: [])
                studyOrder.append(k)
            }
            return k
        }

        mutating func addFoR(_ k: Key, _ uid: String?) {
            if let uid, !uid.isEmpty, !studies[k]!.framesOfReference.contains(uid) { studies[k]!.framesOfReference.append(uid) }
        }

        static func r6(_ v: Double) -> Double { (v * 1e6).rounded() / 1e6 }
        static func vec(_ v: Vec3) -> [Double] { [v.x, v.y, v.z].map(r6) }

        mutating func addImages(_ folder: StudyFolder) throws {
            for (n, s) in folder.imageSeries.enumerated() {
                let first = s.slices[0]
                let k = key(first.file.dataSet)
                addFoR(k, s.frameOfReferenceUID)
                let range = try s.valueRange()
                let zs = s.slices.map { $0.plane.position.z }
                let p = first.plane
                let syntaxes = Array(Set(s.slices.map { $0.file.transferSyntax.name })).sorted()
                let referencing = folder.structureSets.filter { ss in
                    ss.referencedSeriesUIDs.contains(s.seriesInstanceUID) || s.slices.contains { ss.referencedImageUIDs.contains($0.sopInstanceUID) }
                }.map(\.sopInstanceUID)
                let entry = ImageEntry(
                    number: n + 1, modality: s.modality.rawValue, sopClassUID: first.sopClassUID,
                    seriesInstanceUID: s.seriesInstanceUID, seriesNumber: s.seriesNumber, description: s.seriesDescription,
                    frameOfReferenceUID: s.frameOfReferenceUID, imageCount: s.slices.count,
                    dimensions: [s.grid.nx, s.grid.ny, s.grid.nz], spacingMM: Self.vec(s.grid.spacing),
                    orientation: s.orientationCode, patientPosition: s.patientPosition,
                    imageOrientationPatient: Self.vec(p.rowCosine) + Self.vec(p.columnCosine),
                    zRangeMM: [zs.first!, zs.last!], originMM: Self.vec(s.grid.origin),
                    valueRange: [Self.r6(range.min), Self.r6(range.max)], values: s.values.quantity.rawValue,
                    valueUnit: s.values.unit, valueNote: s.values.note, transferSyntaxes: syntaxes,
                    referencedByStructureSets: referencing)
                studies[k]!.imageSeries.append(entry)
                if s.modality == .ct { studies[k]!.ctSeries.append(CTEntry(entry)) }
            }
        }

        mutating func addStructureSets(_ folder: StudyFolder) {
            for ss in folder.structureSets {
                guard let file = folder.scan.files.first(where: { $0.path == ss.path }) else { continue }
                let k = key(file.dataSet)
                ss.frameOfReferenceUIDs.forEach { addFoR(k, $0) }
                let normal = folder.imageSeries(for: ss)?.grid.axisK ?? Vec3(0, 0, 1)
                studies[k]!.structureSets.append(StructureSetEntry(
                    file: ss.path, sopInstanceUID: ss.sopInstanceUID, label: ss.label,
                    frameOfReferenceUIDs: ss.frameOfReferenceUIDs,
                    rois: ss.rois.map { r in
                        ROIEntry(number: r.number, name: r.name, type: r.interpretedType,
                                 color: r.color.map { [Int($0.x), Int($0.y), Int($0.z)] },
                                 contours: r.contours.count, planes: r.planeCount(normal: normal),
                                 points: r.contours.reduce(0) { $0 + $1.points.count },
                                 geometricTypes: Array(Set(r.contours.map(\.geometricType))).sorted())
                    }))
            }
        }

        mutating func addDoses(_ folder: StudyFolder) throws {
            let names = Dictionary(folder.structureSets.flatMap { $0.rois.map { ($0.number, $0.name) } }, uniquingKeysWith: { a, _ in a })
            for d in folder.doses {
                let k = key(d.file.dataSet)
                addFoR(k, d.frameOfReferenceUID)
                let g = d.grid
                studies[k]!.doses.append(DoseEntry(
                    file: d.path, sopInstanceUID: d.sopInstanceUID, frameOfReferenceUID: d.frameOfReferenceUID,
                    dimensions: [g.nx, g.ny, g.nz], spacingMM: Self.vec(g.spacing), originMM: Self.vec(g.origin),
                    orientation: ImagePlane(position: g.origin, rowCosine: g.axisI, columnCosine: g.axisJ, rowSpacing: 1, columnSpacing: 1).orientationCode,
                    maxDose: Self.r6(try d.maxDose()), units: d.units, doseType: d.doseType, summationType: d.summationType,
                    bitsAllocated: d.bitsAllocated, doseGridScaling: d.scaling, frameOffsetForm: d.frameOffsetForm,
                    referencedPlanUIDs: d.referencedPlanUIDs,
                    embeddedDVHs: d.embeddedDVHs.map { h in
                        DVHEntry(roiNumbers: h.referencedROINumbers, roiNames: h.referencedROINumbers.map { names[$0] ?? "?" },
                                 type: h.type, doseUnits: h.doseUnits, volumeUnits: h.volumeUnits, bins: h.doses.count - 1,
                                 volume: Self.r6(h.totalVolume), minDose: Self.r6(h.minDose), meanDose: Self.r6(h.meanDose), maxDose: Self.r6(h.maxDose),
                                 reportedMinDose: h.reportedMinimum, reportedMeanDose: h.reportedMean, reportedMaxDose: h.reportedMaximum)
                    }))
            }
        }

        mutating func addPlans(_ folder: StudyFolder) {
            for p in folder.plans {
                guard let file = folder.scan.files.first(where: { $0.path == p.path }) else { continue }
                let k = key(file.dataSet)
                addFoR(k, p.frameOfReferenceUID)
                studies[k]!.plans.append(PlanEntry(file: p.path, sopInstanceUID: p.sopInstanceUID, label: p.label, name: p.name,
                                                   approvalStatus: p.approvalStatus, fractionGroups: p.fractionGroups,
                                                   doseReferences: p.doseReferences, prescriptionGy: p.prescriptionGy, beams: p.beamCount))
            }
        }

        /// Registrations (parsed), then every other object counted by SOP Class: refused
        /// image objects with their reason, the rest as ignored.
        mutating func addOthers(_ folder: StudyFolder) {
            struct Group: Hashable { var key: Key; var sop: String; var status: String; var reason: String? }
            var counts: [Group: (modality: String, count: Int)] = [:]
            var order: [Group] = []
            func count(_ f: DICOMFile, _ status: String, _ reason: String?) {
                let g = Group(key: key(f.dataSet), sop: f.sopClassUID ?? "", status: status, reason: reason)
                if counts[g] == nil { order.append(g) }
                counts[g, default: (f.modality ?? "", 0)].count += 1
            }
            for f in folder.otherFiles {
                guard f.sopClassUID == SOPClass.spatialRegistration else { count(f, "ignored", nil); continue }
                do {
                    let r = try SpatialRegistration(file: f)
                    studies[key(f.dataSet)]!.registrations.append(RegistrationEntry(
                        file: r.path, sopInstanceUID: r.sopInstanceUID, frameOfReferenceUID: r.frameOfReferenceUID,
                        registeredFramesOfReference: r.matrices.keys.sorted()))
                } catch {
                    count(f, "refused", "unreadable registration: \((error as? SBRTError)?.message ?? "\(error)")")
                }
            }
            for r in folder.refusedFiles { count(r.file, "refused", r.reason) }
            for g in order.sorted(by: { ($0.status, $0.sop) < ($1.status, $1.sop) }) {
                let c = counts[g]!
                studies[g.key]!.otherObjects.append(OtherEntry(modality: c.modality, sopClassUID: g.sop, sopClassName: SOPClass.displayName(g.sop),
                                                               count: c.count, status: g.status, reason: g.reason))
            }
        }
    }
}
