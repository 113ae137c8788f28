import Base
import DICOM
import Foundation
import VoxelKit

/// SOP Class UIDs sbrt understands (PS3.4 Annex B).
public enum SOPClass {
    public static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    public static let rtDose = "1.2.840.10008.5.1.4.1.1.481.2"
    public static let rtStructureSet = "1.2.840.10008.5.1.4.1.1.481.3"
    public static let rtPlan = "1.2.840.10008.5.1.4.1.1.481.5"
    public static let rtIonPlan = "1.2.840.10008.5.1.4.1.1.481.8"
    public static let spatialRegistration = "1.2.840.10008.5.1.4.1.1.66.1"
}

/// Everything sbrt read from a folder: CT series, structure sets, dose grids, plans,
/// the other DICOM objects it does not use, and the warnings of the cross-checks.
public struct StudyFolder: Sendable {
    public var root: String
    public var scan: DirectoryScan
    public var ctSeries: [CTSeries]
    public var structureSets: [StructureSet]
    public var doses: [DoseGrid]
    public var plans: [Plan]
    /// DICOM files of other kinds (MR, registration…), kept for the inventory.
    public var otherFiles: [DICOMFile]
    public var warnings: [Warning]

    /// Reads every DICOM file under `path` and assembles the RT objects.
    /// - Throws: the first unreadable DICOM file or unusable RT object, naming the file.
    public static func load(_ path: String, skipUnreadable: Bool = false) throws -> StudyFolder {
        let scan = try DirectoryScan.scan(path, skipUnreadable: skipUnreadable)
        if scan.files.isEmpty {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            if !isDir.boolValue && scan.unreadable.isEmpty {
                throw SBRTError(.invalidValue, "not a DICOM file (no DICM prefix at byte 128 and no recognisable data set)", file: path)
            }
            throw SBRTError(.invalidValue, "no readable DICOM files found (\(scan.ignored.count) other file(s) ignored, \(scan.unreadable.count) unreadable)", file: path)
        }
        return try StudyFolder(root: path, scan: scan)
    }

    public init(root: String, scan: DirectoryScan) throws {
        self.root = root
        self.scan = scan
        var ctFiles: [String: [DICOMFile]] = [:]
        var ctOrder: [String] = []
        var structureSets: [StructureSet] = []
        var doses: [DoseGrid] = []
        var plans: [Plan] = []
        var other: [DICOMFile] = []
        for f in scan.files {
            let sop = f.sopClassUID ?? ""
            let modality = f.modality ?? ""
            if sop == SOPClass.ctImage || (sop.isEmpty && modality == "CT") {
                let series = f.dataSet.string(.seriesInstanceUID) ?? "(no series UID)"
                if ctFiles[series] == nil { ctOrder.append(series) }
                ctFiles[series, default: []].append(f)
            } else if sop == SOPClass.rtStructureSet || (sop.isEmpty && modality == "RTSTRUCT") {
                structureSets.append(try StructureSet(file: f))
            } else if sop == SOPClass.rtDose || (sop.isEmpty && modality == "RTDOSE") {
                doses.append(try DoseGrid(file: f))
            } else if sop == SOPClass.rtPlan || sop == SOPClass.rtIonPlan || (sop.isEmpty && modality == "RTPLAN") {
                plans.append(try Plan(file: f))
            } else {
                other.append(f)
            }
        }
        ctSeries = try ctOrder.map { try CTSeries(files: ctFiles[$0]!) }
        self.structureSets = structureSets
        self.doses = doses
        self.plans = plans
        otherFiles = other
        warnings = []
        for s in ctSeries { warnings += s.warnings }
        for s in structureSets { warnings += s.warnings }
        for d in doses { warnings += d.warnings }
        warnings += crossChecks()
    }

    /// The CT series on `frameOfReferenceUID`, preferring the one the structure set references.
    public func ctSeries(for structureSet: StructureSet) -> CTSeries? {
        let byImages = ctSeries.first { s in s.slices.contains { structureSet.referencedImageUIDs.contains($0.sopInstanceUID) } }
        return byImages ?? ctSeries.first { s in s.frameOfReferenceUID.map(structureSet.frameOfReferenceUIDs.contains) ?? false }
    }

    // MARK: Cross-checks

    /// Frame-of-reference agreement, contours on CT planes, dose coverage of structures.
    func crossChecks() -> [Warning] {
        var out: [Warning] = []
        let ctFoRs = Set(ctSeries.compactMap(\.frameOfReferenceUID))

        for ss in structureSets {
            let ssFoRs = Set(ss.frameOfReferenceUIDs + ss.rois.compactMap(\.frameOfReferenceUID))
            if !ctFoRs.isEmpty && !ssFoRs.isEmpty && ssFoRs.isDisjoint(with: ctFoRs) {
                out.append(Warning(kind: "frame-of-reference-mismatch",
                                   message: "structure set \(ss.label ?? ss.sopInstanceUID) is on frame of reference \(ssFoRs.sorted().joined(separator: ", ")), which no CT series in the folder shares",
                                   files: [ss.path]))
            }
            if let ct = ctSeries(for: ss) {
                let present = Set(ct.slices.map(\.sopInstanceUID))
                let missing = ss.referencedImageUIDs.subtracting(present)
                if !missing.isEmpty {
                    out.append(Warning(kind: "referenced-images-missing",
                                       message: "structure set \(ss.label ?? ss.sopInstanceUID) refers to \(missing.count) CT image(s) that are not in the folder (\(ct.slices.count) present); contours beyond the CT present are not checked against CT planes",
                                       files: [ss.path]))
                }
                out += contourPlaneChecks(ss, ct, missingImages: missing)
            } else if !ctSeries.isEmpty {
                out.append(Warning(kind: "structure-set-without-ct",
                                   message: "structure set \(ss.label ?? ss.sopInstanceUID) references no CT series present in the folder", files: [ss.path]))
            }
        }
        for d in doses {
            let known = ctFoRs.union(structureSets.flatMap(\.frameOfReferenceUIDs))
            if let f = d.frameOfReferenceUID, !known.isEmpty, !known.contains(f) {
                out.append(Warning(kind: "frame-of-reference-mismatch",
                                   message: "dose grid \(d.sopInstanceUID) is on frame of reference \(f), which no CT series or structure set in the folder shares; it cannot be overlaid without a registration",
                                   files: [d.path]))
                continue
            }
            for ss in structureSets where d.frameOfReferenceUID == nil || ss.frameOfReferenceUIDs.isEmpty || ss.frameOfReferenceUIDs.contains(d.frameOfReferenceUID!) {
                out += doseCoverageChecks(d, ss)
            }
        }
        for p in plans {
            if let f = p.frameOfReferenceUID, !ctFoRs.isEmpty, !ctFoRs.contains(f) {
                out.append(Warning(kind: "frame-of-reference-mismatch",
                                   message: "plan \(p.label ?? p.sopInstanceUID) is on frame of reference \(f), which no CT series in the folder shares",
                                   files: [p.path]))
            }
        }
        return out
    }

    /// Contours whose plane is more than 0.05 mm from every CT slice, and non-planar contours.
    func contourPlaneChecks(_ ss: StructureSet, _ ct: CTSeries, missingImages: Set<String> = []) -> [Warning] {
        var out: [Warning] = []
        let normal = ct.grid.axisK
        let offsets = ct.sliceOffsets
        let tolerance = 0.05
        let spacing = ct.grid.spacing.z
        for roi in ss.rois {
            var offPlane = 0
            var worst = 0.0
            var nonPlanar = 0
            var onMissing: Set<Double> = []
            for c in roi.contours where c.isClosedPlanar {
                if c.planarityError(along: normal) > tolerance { nonPlanar += 1; continue }
                let o = c.meanOffset(along: normal)
                // A contour on an image the folder lacks, beyond the CT present, cannot be checked.
                if let ref = c.referencedSOPInstanceUIDs.first, missingImages.contains(ref),
                   o < offsets[0] - tolerance || o > offsets[offsets.count - 1] + tolerance { continue }
                let d = nearestDistance(o, in: offsets)
                guard d > tolerance else { continue }
                // On the series' regular lattice but where a slice is missing?
                let steps = (o - offsets[0]) / spacing
                if offsets.count > 1, abs(steps - steps.rounded()) * spacing <= tolerance,
                   o > offsets[0], o < offsets[offsets.count - 1] {
                    onMissing.insert((o * 100).rounded() / 100)
                } else {
                    offPlane += 1
                    worst = max(worst, d)
                }
            }
            if !onMissing.isEmpty {
                out.append(Warning(kind: "contour-on-missing-ct-slice",
                                   message: "ROI \"\(roi.name)\": contours lie where CT slices are missing (at \(onMissing.sorted().map { fmt($0) }.joined(separator: ", ")) mm along the slice normal)",
                                   files: [ss.path]))
            }
            if offPlane > 0 {
                out.append(Warning(kind: "contour-off-plane",
                                   message: "ROI \"\(roi.name)\": \(offPlane) contour(s) do not lie on a CT plane (up to \(fmt(worst)) mm away)",
                                   files: [ss.path]))
            }
            if nonPlanar > 0 {
                out.append(Warning(kind: "contour-not-planar",
                                   message: "ROI \"\(roi.name)\": \(nonPlanar) closed contour(s) are not parallel to the CT slices",
                                   files: [ss.path]))
            }
        }
        return out
    }

    /// ROIs with contour points outside the dose grid (beyond half a voxel of the outer centres).
    func doseCoverageChecks(_ d: DoseGrid, _ ss: StructureSet) -> [Warning] {
        var out: [Warning] = []
        let g = d.grid
        for roi in ss.rois where roi.interpretedType?.uppercased() != "EXTERNAL" {
            var total = 0, outside = 0
            for c in roi.contours {
                for p in c.points {
                    total += 1
                    let x = g.continuousIndex(of: p)
                    let inside = x.x >= -0.5 && x.y >= -0.5 && x.z >= -0.5 &&
                        x.x <= Double(g.nx) - 0.5 && x.y <= Double(g.ny) - 0.5 && x.z <= Double(g.nz) - 0.5
                    if !inside { outside += 1 }
                }
            }
            if outside > 0 {
                let pct = 100 * Double(outside) / Double(total)
                out.append(Warning(kind: "dose-does-not-cover-structure",
                                   message: "ROI \"\(roi.name)\" extends beyond dose grid \(d.sopInstanceUID): \(outside) of \(total) contour points (\(fmt(pct, 1)) %) lie outside it",
                                   files: [d.path, ss.path]))
            }
        }
        return out
    }
}

/// Distance from `x` to the nearest value of the sorted array `v`.
func nearestDistance(_ x: Double, in v: [Double]) -> Double {
    guard !v.isEmpty else { return .infinity }
    var lo = 0, hi = v.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if v[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    var best = Double.infinity
    if lo < v.count { best = abs(v[lo] - x) }
    if lo > 0 { best = min(best, abs(v[lo - 1] - x)) }
    return best
}
