import DICOM
import Foundation
import PlanReview
import XCTest

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
func fixture(_ relative: String) -> String { packageRoot.appendingPathComponent("Fixtures/" + relative).path }

/// The shipped protocols as the test bundle finds them (the resource bundle beside it).
func library() -> ProtocolLibrary {
    ProtocolLibrary.shipped(executablePath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
}

/// A copy of the pelvis fixture whose RT Dose has its Dose Grid Scaling
/// multiplied by `factor`, i.e. every dose scaled exactly by `factor` (written with the
/// DICOM writer).
func scaledPelvis(_ factor: Double, name: String) throws -> String {
    let src = fixture("pelvis")
    let dir = NSTemporaryDirectory() + "sbrt-p6-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in try FileManager.default.contentsOfDirectory(atPath: src) where f.hasSuffix(".dcm") {
        if f.hasPrefix("RD.") {
            var file = try DICOMFile.read(path: src + "/" + f)
            let s = try XCTUnwrap(try file.dataSet.double(.doseGridScaling))
            file.dataSet.set(.doseGridScaling, .DS, DecimalString.format(s * factor))
            try DICOMWriter.write(file.dataSet, to: dir + "/" + f)
        } else {
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
        }
    }
    return dir
}

/// A copy of the pelvis fixture with one ROI renamed in its RT Structure Set (written with
/// the DICOM writer), e.g. to a name an expression must quote.
func renamedPelvis(_ old: String, to new: String, name: String) throws -> String {
    let src = fixture("pelvis")
    let dir = NSTemporaryDirectory() + "sbrt-rn-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in try FileManager.default.contentsOfDirectory(atPath: src) where f.hasSuffix(".dcm") {
        var file = try DICOMFile.read(path: src + "/" + f)
        if var items = file.dataSet.sequence(.structureSetROISequence) {
            for k in items.indices where items[k].string(.roiName) == old { items[k].set(.roiName, .LO, new) }
            file.dataSet.set(.structureSetROISequence, items: items)
            try DICOMWriter.write(file.dataSet, to: dir + "/" + f)
        } else {
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
        }
    }
    return dir
}
