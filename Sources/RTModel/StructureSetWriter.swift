import Base
import DICOM
import Foundation
import VoxelKit

/// Writes an RT Structure Set (PS3.3 A.19) that keeps every ROI of an input structure
/// set and appends new ones, on the DICOM writer.
///
/// - The input data set is copied element by element (patient, study, every existing
///   ROI, its contours and observations unchanged); the copy gets a new SOP Instance
///   UID and Series Instance UID, a new Structure Set Date/Time, Manufacturer "sbrt",
///   and (when present) Approval Status UNAPPROVED without the review attributes.
/// - Each new ROI gets the next free ROI Number, the frame of reference of the image series, ROI
///   Generation Algorithm AUTOMATIC, a display colour, an RT ROI Observation with its
///   RT ROI Interpreted Type, and CLOSED_PLANAR contours whose Contour Image Sequence
///   names the image (CT, MR or PET slice) each lies on.
/// - The Referenced Frame of Reference Sequence is kept when present, else built from
///   the image series (frame of reference → study → series → every slice). Frame of Reference
///   UID, Position Reference Indicator and Operators' Name are added where missing, so
///   that dciodvfy reports no error.
/// - Written atomically (temporary file, then rename).
public enum StructureSetWriter {
    /// A new ROI to append.
    public struct NewROI: Sendable {
        public var name: String
        /// RT ROI Interpreted Type: CTV, PTV, CONTROL, AVOIDANCE, ORGAN…
        public var interpretedType: String
        public var color: SIMD3<UInt8>
        /// Closed contours in patient coordinates (mm), each with the SOP Instance UID of its image slice.
        public var contours: [(points: [Vec3], sliceUID: String)]
        /// How the ROI was made (ROI Description and ROI Generation Description).
        public var description: String

        public init(name: String, interpretedType: String, color: SIMD3<UInt8>, contours: [(points: [Vec3], sliceUID: String)], description: String) {
            self.name = name
            self.interpretedType = interpretedType
            self.color = color
            self.contours = contours
            self.description = description
        }
    }

    /// The interpreted type suggested by a name: PTV…, CTV…, GTV…, ITV…, else CONTROL.
    public static func interpretedType(forName name: String) -> String {
        let n = name.uppercased()
        for t in ["PTV", "CTV", "GTV", "ITV"] where n.hasPrefix(t) { return t }
        if n.hasPrefix("PRV") { return "AVOIDANCE" }
        return "CONTROL"
    }

    /// A display colour for a new ROI of a type (red PTV, orange CTV…), distinct per index.
    public static func color(forType type: String, index: Int) -> SIMD3<UInt8> {
        switch type {
        case "PTV": return SIMD3(255, 0, 0)
        case "CTV": return SIMD3(255, 128, 0)
        case "GTV": return SIMD3(255, 0, 255)
        case "ITV": return SIMD3(255, 255, 0)
        default:
            let palette: [SIMD3<UInt8>] = [SIMD3(0, 200, 255), SIMD3(0, 255, 128), SIMD3(200, 100, 255), SIMD3(255, 200, 100)]
            return palette[index % palette.count]
        }
    }

    /// The data set of the new structure set.
    /// Contour Image Sequences reference the images with their own SOP Class (CT, MR or
    /// PET Image Storage).
    /// - Throws: `SBRTError` when the image series has no frame of reference.
    public static func dataSet(base: DataSet, images: ImageSeries, adding rois: [NewROI], label: String? = nil, now: Date = Date()) throws -> DataSet {
        guard let frameUID = images.frameOfReferenceUID else {
            throw SBRTError(.missingAttribute, "\(images.displayName) has no Frame of Reference UID; cannot write a structure set on it")
        }
        var ds = base
        let date = CivilDate(now).compact
        let time = CivilDate.timeOfDay(now)
        let sop = UID.generate()
        ds.set(.sopClassUID, .UI, SOPClass.rtStructureSet)
        ds.set(.sopInstanceUID, .UI, sop)
        ds.set(.seriesInstanceUID, .UI, UID.generate())
        ds.set(.modality, .CS, "RTSTRUCT")
        ds.set(.instanceCreationDate, .DA, date)
        ds.set(.instanceCreationTime, .TM, time)
        ds.set(.structureSetDate, .DA, date)
        ds.set(.structureSetTime, .TM, time)
        ds.set(.manufacturer, .LO, "sbrt")
        if let label { ds.set(.structureSetLabel, .SH, String(label.prefix(16))) }
        else if base.string(.structureSetLabel) == nil { ds.set(.structureSetLabel, .SH, "sbrt") }
        if ds[.studyInstanceUID] == nil, let study = images.studyInstanceUID { ds.set(.studyInstanceUID, .UI, study) }
        if ds[.seriesNumber] == nil { ds.set(.seriesNumber, integers: [99]) }
        // A derived structure set is not the approved one: Approval Status UNAPPROVED, no review.
        if ds[Tag(0x300E, 0x0002)] != nil {
            ds.set(Tag(0x300E, 0x0002), .CS, "UNAPPROVED")
            for e: UInt16 in [0x0004, 0x0005, 0x0008] { ds[Tag(0x300E, e)] = nil }
        }
        // Frame of Reference module (RT Structure Set IOD since 2021) and RT Series' Type 2 attributes.
        ds.set(.frameOfReferenceUID, .UI, frameUID)
        if ds[.positionReferenceIndicator] == nil { ds.set(.positionReferenceIndicator, .LO, strings: []) }
        if ds[.operatorsName] == nil { ds.set(.operatorsName, .PN, strings: []) }

        if (base.sequence(.referencedFrameOfReferenceSequence) ?? []).isEmpty {
            ds.set(.referencedFrameOfReferenceSequence, items: [referencedFrame(frameUID, images, base)])
        }

        appendROIs(rois, to: &ds, frameUID: frameUID, images: images)
        return ds
    }

    /// Referenced Frame of Reference → RT Referenced Study → RT Referenced Series with
    /// every image of the series (its own SOP Class).
    static func referencedFrame(_ frameUID: String, _ images: ImageSeries, _ base: DataSet) -> DataSet {
        var items: [DataSet] = []
        for s in images.slices {
            var item = DataSet()
            item.set(.referencedSOPClassUID, .UI, s.sopClassUID)
            item.set(.referencedSOPInstanceUID, .UI, s.sopInstanceUID)
            items.append(item)
        }
        var series = DataSet()
        series.set(.seriesInstanceUID, .UI, images.seriesInstanceUID)
        series.set(.contourImageSequence, items: items)
        var study = DataSet()
        // Study Component Management SOP Class (retired), as planning systems write it.
        study.set(.referencedSOPClassUID, .UI, "1.2.840.10008.3.1.2.3.1")
        study.set(.referencedSOPInstanceUID, .UI, images.studyInstanceUID ?? base.string(.studyInstanceUID) ?? UID.generate())
        study.set(.rtReferencedSeriesSequence, items: [series])
        var f = DataSet()
        f.set(.frameOfReferenceUID, .UI, frameUID)
        f.set(.rtReferencedStudySequence, items: [study])
        return f
    }

    /// Structure Set ROI, ROI Contour and RT ROI Observations items of the new ROIs,
    /// numbered after the data set's own.
    static func appendROIs(_ rois: [NewROI], to ds: inout DataSet, frameUID: String, images: ImageSeries) {
        let sopClass = Dictionary(images.slices.map { ($0.sopInstanceUID, $0.sopClassUID) }, uniquingKeysWith: { a, _ in a })
        var roiItems = ds.sequence(.structureSetROISequence) ?? []
        var contourItems = ds.sequence(.roiContourSequence) ?? []
        var observationItems = ds.sequence(.rtROIObservationsSequence) ?? []
        var nextNumber = (roiItems.compactMap { try? $0.int(.roiNumber) }.max() ?? 0) + 1
        var nextObservation = (observationItems.compactMap { try? $0.int(.observationNumber) }.max() ?? 0) + 1
        for roi in rois {
            let number = nextNumber
            nextNumber += 1
            var item = DataSet()
            item.set(.roiNumber, integers: [number])
            item.set(.referencedFrameOfReferenceUID, .UI, frameUID)
            item.set(.roiName, .LO, String(roi.name.prefix(64)))
            item.set(Tag(0x3006, 0x0028), .ST, roi.description)            // ROI Description
            item.set(.roiGenerationAlgorithm, .CS, "AUTOMATIC")
            item.set(Tag(0x3006, 0x0038), .LO, String(roi.description.prefix(64)))  // ROI Generation Description
            roiItems.append(item)

            var rc = DataSet()
            rc.set(.roiDisplayColor, .IS, strings: [roi.color.x, roi.color.y, roi.color.z].map { String($0) })
            // Contour items built in parallel (formatting the decimal strings is the work), in order.
            var items = [DataSet?](repeating: nil, count: roi.contours.count)
            items.withUnsafeMutableBufferPointer { out in
                let o = out
                Parallel.forEachChunk(roi.contours.count) { _, range in
                    for n in range where roi.contours[n].points.count >= 3 {
                        let c = roi.contours[n]
                        o[n] = contourItem(c.points, number: n + 1, image: c.sliceUID, sopClass: sopClass[c.sliceUID] ?? images.modality.sopClassUID)
                    }
                }
            }
            let contours = items.compactMap { $0 }
            // Contour Sequence is type 3 but needs at least one item when present (PS3.3 C.8.8.6).
            if !contours.isEmpty { rc.set(.contourSequence, items: contours) }
            rc.set(.referencedROINumber, integers: [number])
            contourItems.append(rc)

            var ob = DataSet()
            ob.set(.observationNumber, integers: [nextObservation])
            nextObservation += 1
            ob.set(.referencedROINumber, integers: [number])
            ob.set(.rtROIInterpretedType, .CS, roi.interpretedType)
            ob.set(.roiInterpreter, .PN, strings: [])
            observationItems.append(ob)
        }
        ds.set(.structureSetROISequence, items: roiItems)
        ds.set(.roiContourSequence, items: contourItems)
        ds.set(.rtROIObservationsSequence, items: observationItems)
    }

    /// One CLOSED_PLANAR contour item naming the image it lies on.
    static func contourItem(_ points: [Vec3], number: Int, image: String, sopClass: String) -> DataSet {
        var ci = DataSet()
        var img = DataSet()
        img.set(.referencedSOPClassUID, .UI, sopClass)
        img.set(.referencedSOPInstanceUID, .UI, image)
        ci.set(.contourImageSequence, items: [img])
        ci.set(.contourGeometricType, .CS, "CLOSED_PLANAR")
        ci.set(.numberOfContourPoints, integers: [points.count])
        ci.set(.contourNumber, integers: [number])
        var values: [Double] = []
        values.reserveCapacity(points.count * 3)
        // Rounded to 0.1 µm: shorter decimal strings, far below contour accuracy.
        for p in points { values.append(round4(p.x)); values.append(round4(p.y)); values.append(round4(p.z)) }
        ci.set(.contourData, decimals: values)
        return ci
    }

    static func round4(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }

    /// Writes the structure set atomically.
    public static func write(_ dataSet: DataSet, to path: String) throws {
        try DICOMWriter.write(dataSet, to: path)
    }
}
