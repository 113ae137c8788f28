import Base
import DICOM
import Foundation
import VoxelKit

extension ResolvedStudy {
    /// The user's structure set, else the one the plan references, else the one on the
    /// dose's frame of reference, else the folder's only one.
    static func chooseStructureSet(_ folder: StudyFolder, _ request: StudyRequest, plan: Plan?, doseFoR: String?,
                                   choices: inout [String]) throws -> StructureSet? {
        func name(_ s: StructureSet) -> String { "\(s.label ?? s.sopInstanceUID) (\((s.path as NSString).lastPathComponent))" }
        if let path = request.structureSetPath {
            let file = try DICOMFile.read(path: path)
            guard file.sopClassUID == SOPClass.rtStructureSet || file.modality == "RTSTRUCT" else {
                throw SBRTError(.noStructureSet, "not an RT Structure Set (SOP Class \(file.sopClassUID ?? "none"))", file: path)
            }
            let s = try StructureSet(file: file)
            choices.append("structure set \(name(s)): given by the user")
            return s
        }
        let sets = folder.structureSets
        if let plan, let s = sets.first(where: { plan.referencedStructureSetUIDs.contains($0.sopInstanceUID) }) {
            choices.append("structure set \(name(s)): referenced by the plan")
            return s
        }
        var candidates = sets
        if let f = doseFoR ?? plan?.frameOfReferenceUID {
            let onFrame = sets.filter { $0.frameOfReferenceUIDs.isEmpty || $0.frameOfReferenceUIDs.contains(f) }
            candidates = onFrame
        }
        switch candidates.count {
        case 0:
            if request.needs.contains(.structureSet) {
                if sets.isEmpty { throw SBRTError(.noStructureSet, "no RT Structure Set in the folder", file: folder.root) }
                throw SBRTError(.frameOfReference, "no RT Structure Set on the dose's frame of reference \(doseFoR ?? plan?.frameOfReferenceUID ?? "?") (structure sets here are on \(sets.flatMap(\.frameOfReferenceUIDs).joined(separator: ", "))); a registration is needed", file: folder.root)
            }
            return nil
        case 1:
            choices.append("structure set \(name(candidates[0])): " + (sets.count == 1 ? "the only one in the folder" : "the only one on the dose's frame of reference"))
            return candidates[0]
        default:
            throw SBRTError(.ambiguous, "\(candidates.count) RT Structure Sets (\(candidates.map(name).joined(separator: ", "))) and nothing says which belongs to the plan", file: folder.root)
        }
    }

    /// The series the structure set references (Referenced Frame of Reference → RT
    /// Referenced Study → RT Referenced Series, else its contour images), whatever its
    /// modality; else the only series on its frame of reference; else the folder's only series.
    /// - Throws: `.unsupported` when the referenced images are objects sbrt refuses
    ///   (Enhanced multi-frame), `.ambiguous`, `.noImages` when images are needed.
    static func chooseImages(_ folder: StudyFolder, _ request: StudyRequest, structureSet: StructureSet?,
                             choices: inout [String]) throws -> ImageSeries? {
        let all = folder.imageSeries
        func name(_ s: ImageSeries) -> String {
            "\(s.modality.displayName) " + (s.seriesDescription.map { "\"\($0)\"" } ?? s.seriesInstanceUID) + " (\(s.slices.count) images)"
        }
        if let ss = structureSet {
            if let s = all.first(where: { ss.referencedSeriesUIDs.contains($0.seriesInstanceUID) }) {
                choices.append("images \(name(s)): the series the structure set references")
                return s
            }
            if let s = all.first(where: { s in s.slices.contains { ss.referencedImageUIDs.contains($0.sopInstanceUID) } }) {
                choices.append("images \(name(s)): holds images the structure set references")
                return s
            }
            if request.needs.contains(.images), let refused = folder.refusedFiles.first(where: { r in
                ss.referencedSeriesUIDs.contains(r.file.dataSet.string(.seriesInstanceUID) ?? "") || ss.referencedImageUIDs.contains(r.file.sopInstanceUID ?? "") }) {
                throw SBRTError(.unsupported, "the structure set's images are not readable: \(refused.reason)", file: refused.file.path)
            }
            let onFrame = all.filter { s in s.frameOfReferenceUID.map(ss.frameOfReferenceUIDs.contains) ?? false }
            if onFrame.count == 1 {
                choices.append("images \(name(onFrame[0])): the only series on the structure set's frame of reference")
                return onFrame[0]
            }
            if onFrame.count > 1 && request.needs.contains(.images) {
                throw SBRTError(.ambiguous, "\(onFrame.count) image series on the structure set's frame of reference (\(onFrame.map(name).joined(separator: ", "))) and it references none of them", file: ss.path)
            }
        } else if all.count == 1 {
            choices.append("images \(name(all[0])): the only series in the folder")
            return all[0]
        }
        if request.needs.contains(.images) {
            throw SBRTError(.noImages, all.isEmpty ? "no image series in the folder" : "none of the folder's image series belongs to the structure set", file: folder.root)
        }
        return nil
    }

    /// Dose, structures and images must share a frame of reference (no registration here).
    func checkFramesOfReference(_ doses: [DoseGrid]) throws {
        let doseFoRs = Set(doses.compactMap(\.frameOfReferenceUID))
        if doseFoRs.count > 1 {
            throw SBRTError(.frameOfReference, "the doses are on different frames of reference (\(doseFoRs.sorted().joined(separator: ", ")))", file: doses[0].path)
        }
        if let f = doseFoRs.first, let ss = structureSet, !ss.frameOfReferenceUIDs.isEmpty, !ss.frameOfReferenceUIDs.contains(f) {
            throw SBRTError(.frameOfReference, "the dose is on frame of reference \(f), the structure set \(ss.label ?? ss.sopInstanceUID) on \(ss.frameOfReferenceUIDs.joined(separator: ", ")); a registration is needed to overlay them", file: doses[0].path)
        }
        if let f = doseFoRs.first, let img = images, let g = img.frameOfReferenceUID, g != f {
            throw SBRTError(.frameOfReference, "the dose is on frame of reference \(f), the images on \(g); a registration is needed to overlay them", file: doses[0].path)
        }
    }
}
