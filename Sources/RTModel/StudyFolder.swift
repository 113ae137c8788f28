import Base
import DICOM
import Foundation
import VoxelKit

/// Everything sbrt read from a folder: image series (CT, MR, PET), structure sets, dose
/// grids, plans, the other DICOM objects it does not use, the image objects it refuses,
/// and the warnings of the cross-checks.
public struct StudyFolder: Sendable {
    public var root: String
    public var scan: DirectoryScan
    /// Classic single-frame CT, MR and PET series, in the order their first file comes
    /// in the scan (by path): series N of `sbrt info` is `imageSeries[N - 1]`.
    public var imageSeries: [ImageSeries]
    public var structureSets: [StructureSet]
    public var doses: [DoseGrid]
    public var plans: [Plan]
    /// DICOM files of other kinds (registrations, secondary captures…), kept for the
    /// inventory; sbrt reads the Spatial Registrations among them when it needs one.
    public var otherFiles: [DICOMFile]
    /// Image objects sbrt does not read (Enhanced multi-frame CT/MR/PET, multi-frame
    /// classic images), with the reason.
    public var refusedFiles: [(file: DICOMFile, reason: String)]
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
        var imageFiles: [String: (ImageModality, [DICOMFile])] = [:]
        var imageOrder: [String] = []
        (structureSets, doses, plans, otherFiles, refusedFiles) = ([], [], [], [], [])
        for f in scan.files {
            let sop = f.sopClassUID ?? ""
            let modality = f.modality ?? ""
            if let m = ImageModality(sopClassUID: sop, modality: modality) {
                if let frames = try? f.dataSet.int(.numberOfFrames), frames > 1 {
                    refusedFiles.append((f, "a \(m.displayName) image with \(frames) frames: multi-frame images are not read"))
                    continue
                }
                // A series is one modality: a UID shared by two modalities makes two series.
                let key = m.rawValue + "/" + (f.dataSet.string(.seriesInstanceUID) ?? "(no series UID)")
                if imageFiles[key] == nil { imageOrder.append(key); imageFiles[key] = (m, []) }
                imageFiles[key]!.1.append(f)
            } else if SOPClass.enhancedImages.contains(sop) {
                refusedFiles.append((f, "\(SOPClass.displayName(sop)) is a multi-frame object that sbrt does not read; "
                                     + "convert it to single-frame images (e.g. dcm4che's emf2sf)"))
            } else if sop == SOPClass.rtStructureSet || (sop.isEmpty && modality == "RTSTRUCT") {
                structureSets.append(try StructureSet(file: f))
            } else if sop == SOPClass.rtDose || (sop.isEmpty && modality == "RTDOSE") {
                doses.append(try DoseGrid(file: f))
            } else if sop == SOPClass.rtPlan || sop == SOPClass.rtIonPlan || (sop.isEmpty && modality == "RTPLAN") {
                plans.append(try Plan(file: f))
            } else {
                otherFiles.append(f)
            }
        }
        imageSeries = try imageOrder.map { try ImageSeries(files: imageFiles[$0]!.1, modality: imageFiles[$0]!.0) }
        warnings = []
        for s in imageSeries { warnings += s.warnings }
        for s in structureSets { warnings += s.warnings }
        for d in doses { warnings += d.warnings }
        warnings += crossChecks()
    }

    /// The image series the structure set references (by its images), else the first on
    /// its frame of reference.
    public func imageSeries(for structureSet: StructureSet) -> ImageSeries? {
        let byImages = imageSeries.first { s in s.slices.contains { structureSet.referencedImageUIDs.contains($0.sopInstanceUID) } }
        return byImages ?? imageSeries.first { s in s.frameOfReferenceUID.map(structureSet.frameOfReferenceUIDs.contains) ?? false }
    }

    // MARK: Cross-checks

    /// Frame-of-reference agreement, contours on image planes, dose coverage of structures.
    func crossChecks() -> [Warning] {
        var out: [Warning] = []
        let imageFoRs = Set(imageSeries.compactMap(\.frameOfReferenceUID))

        for ss in structureSets {
            let ssFoRs = Set(ss.frameOfReferenceUIDs + ss.rois.compactMap(\.frameOfReferenceUID))
            if !imageFoRs.isEmpty && !ssFoRs.isEmpty && ssFoRs.isDisjoint(with: imageFoRs) {
                out.append(Warning(kind: "frame-of-reference-mismatch",
                                   message: "structure set \(ss.label ?? ss.sopInstanceUID) is on frame of reference \(ssFoRs.sorted().joined(separator: ", ")), which no image series in the folder shares",
                                   files: [ss.path]))
            }
            if let images = imageSeries(for: ss) {
                let present = Set(images.slices.map(\.sopInstanceUID))
                let missing = ss.referencedImageUIDs.subtracting(present)
                if !missing.isEmpty {
                    out.append(Warning(kind: "referenced-images-missing",
                                       message: "structure set \(ss.label ?? ss.sopInstanceUID) refers to \(missing.count) image(s) that are not in the folder (\(images.slices.count) of \(images.displayName) present); contours beyond the images present are not checked against image planes",
                                       files: [ss.path]))
                }
                out += contourPlaneChecks(ss, images, missingImages: missing)
            } else if !imageSeries.isEmpty {
                out.append(Warning(kind: "structure-set-without-ct",
                                   message: "structure set \(ss.label ?? ss.sopInstanceUID) references no image series present in the folder", files: [ss.path]))
            }
        }
        for d in doses {
            let known = imageFoRs.union(structureSets.flatMap(\.frameOfReferenceUIDs))
            if let f = d.frameOfReferenceUID, !known.isEmpty, !known.contains(f) {
                out.append(Warning(kind: "frame-of-reference-mismatch",
                                   message: "dose grid \(d.sopInstanceUID) is on frame of reference \(f), which no image series or structure set in the folder shares; it cannot be overlaid without a registration",
                                   files: [d.path]))
                continue
            }
            for ss in structureSets where d.frameOfReferenceUID == nil || ss.frameOfReferenceUIDs.isEmpty || ss.frameOfReferenceUIDs.contains(d.frameOfReferenceUID!) {
                out += doseCoverageChecks(d, ss)
            }
        }
        for p in plans {
            if let f = p.frameOfReferenceUID, !imageFoRs.isEmpty, !imageFoRs.contains(f) {
                out.append(Warning(kind: "frame-of-reference-mismatch",
                                   message: "plan \(p.label ?? p.sopInstanceUID) is on frame of reference \(f), which no image series in the folder shares",
                                   files: [p.path]))
            }
        }
        return out
    }

    /// Contours whose plane is more than 0.05 mm from every image slice, and non-planar contours.
    func contourPlaneChecks(_ ss: StructureSet, _ images: ImageSeries, missingImages: Set<String> = []) -> [Warning] {
        var out: [Warning] = []
        let normal = images.grid.axisK
        let offsets = images.sliceOffsets
        let tolerance = 0.05
        let spacing = images.grid.spacing.z
        for roi in ss.rois {
            var offPlane = 0
            var worst = 0.0
            var nonPlanar = 0
            var onMissing: Set<Double> = []
            for c in roi.contours where c.isClosedPlanar {
                if c.planarityError(along: normal) > tolerance { nonPlanar += 1; continue }
                let o = c.meanOffset(along: normal)
                // A contour on an image the folder lacks, beyond the images present, cannot be checked.
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
                                   message: "ROI \"\(roi.name)\": contours lie where \(images.modality.displayName) slices are missing (at \(onMissing.sorted().map { fmt($0) }.joined(separator: ", ")) mm along the slice normal)",
                                   files: [ss.path]))
            }
            if offPlane > 0 {
                out.append(Warning(kind: "contour-off-plane",
                                   message: "ROI \"\(roi.name)\": \(offPlane) contour(s) do not lie on a \(images.modality.displayName) plane (up to \(fmt(worst)) mm away)",
                                   files: [ss.path]))
            }
            if nonPlanar > 0 {
                out.append(Warning(kind: "contour-not-planar",
                                   message: "ROI \"\(roi.name)\": \(nonPlanar) closed contour(s) are not parallel to the \(images.modality.displayName) slices",
                                   files: [ss.path]))
            }
        }
        return out
    }

    /// ROIs with contour points outside the dose grid (beyond half a voxel of the outer centres).
    func doseCoverageChecks(_ d: DoseGrid, _ ss: StructureSet) -> [Warning] {
        var out: [Warning] = []
        let g = d.grid
        for roi in ss.rois where !roi.isExternal {
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
