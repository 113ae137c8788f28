import Base
import DICOM
import Foundation
import VoxelKit

/// An image series chosen as the background of a figure, with the map from the planning
/// images' frame of reference into its own.
public struct SelectedImages: Sendable {
    public var series: ImageSeries
    /// Its number in the folder, 1-based (as `sbrt info` lists it).
    public var number: Int
    /// Maps patient coordinates of the planning frame of reference (structures, dose)
    /// into the series' own; nil when the series is on that frame of reference.
    public var seriesFromPlanning: RigidTransform?
    /// How the series is joined to the plan: "same frame of reference", or the Spatial
    /// Registration's file and SOP Instance UID.
    public var registration: String
}

extension ResolvedStudy {
    /// The planning images as a selection (number, no transform).
    public var planningImages: SelectedImages? {
        guard let images else { return nil }
        let n = (folder.imageSeries.firstIndex { $0.seriesInstanceUID == images.seriesInstanceUID && $0.modality == images.modality } ?? 0) + 1
        return SelectedImages(series: images, number: n, seriesFromPlanning: nil, registration: "the planning images")
    }

    /// The image series `selector` names — its number in the folder (1-based, as `sbrt
    /// info` lists them) or its Series Instance UID — joined to the planning images: on
    /// the same frame of reference, or through a Spatial Registration in the folder that
    /// registers both frames of reference.
    /// - Throws: `.noImages` for a selector that names no series, `.frameOfReference` when
    ///   nothing joins the series to the plan, registration read errors.
    public func selectImages(_ selector: String) throws -> SelectedImages {
        let all = folder.imageSeries
        let list = all.enumerated().map { "\($0.offset + 1) \($0.element.modality.displayName) \($0.element.seriesInstanceUID)" }.joined(separator: ", ")
        let trimmed = selector.trimmingSpaces()
        let index: Int
        if let n = Int(trimmed) {
            guard n >= 1, n <= all.count else {
                throw SBRTError(.noImages, "no image series \(n): the folder has \(all.count) (\(list))", file: folder.root)
            }
            index = n - 1
        } else if let n = all.firstIndex(where: { $0.seriesInstanceUID == trimmed }) {
            index = n
        } else {
            throw SBRTError(.noImages, "no image series with Series Instance UID \(trimmed) (series here: \(list))", file: folder.root)
        }
        let series = all[index]
        guard let planningFoR = images?.frameOfReferenceUID ?? structureSet?.frameOfReferenceUIDs.first ?? dose?.primary.frameOfReferenceUID,
              let seriesFoR = series.frameOfReferenceUID, seriesFoR != planningFoR else {
            return SelectedImages(series: series, number: index + 1, seriesFromPlanning: nil, registration: "same frame of reference")
        }
        guard let (t, r) = try folder.registration(from: planningFoR, to: seriesFoR) else {
            throw SBRTError(.frameOfReference, "\(series.displayName) is on frame of reference \(seriesFoR), the plan on \(planningFoR), and no Spatial Registration in the folder registers both", file: folder.root)
        }
        return SelectedImages(series: series, number: index + 1, seriesFromPlanning: t,
                              registration: "Spatial Registration \((r.path as NSString).lastPathComponent) (\(r.sopInstanceUID))")
    }
}
