import Base
import DICOM
import Foundation
import VoxelKit

/// A DICOM Spatial Registration object (PS3.3 C.20.2): per frame of reference, the matrix
/// taking its coordinates into the registration's own frame of reference.
///
/// Each Registration Sequence (0070,0308) item names a Frame of Reference UID and holds
/// Matrix Registration Sequence (0070,0309) → Matrix Sequence (0070,030A) → Frame of
/// Reference Transformation Matrix (3006,00C6), which maps a point of that frame into the
/// frame named at the top level (0020,0052). Several matrices in one item are applied in
/// order (the first applied first).
public struct SpatialRegistration: Sendable {
    public var path: String
    public var sopInstanceUID: String
    /// The registration's own (reference) frame of reference.
    public var frameOfReferenceUID: String
    /// Frame of reference UID → matrix into `frameOfReferenceUID`.
    public var matrices: [String: RigidTransform]

    public init(file: DICOMFile) throws {
        let ds = file.dataSet
        path = file.path ?? "?"
        sopInstanceUID = file.sopInstanceUID ?? ""
        guard let top = ds.string(.frameOfReferenceUID), !top.isEmpty else {
            throw SBRTError(.invalidValue, "spatial registration without Frame of Reference UID (0020,0052)", file: path)
        }
        frameOfReferenceUID = top
        var matrices: [String: RigidTransform] = [top: .identity]
        for item in ds.sequence(.registrationSequence) ?? [] {
            guard let f = item.string(.frameOfReferenceUID) else { continue }
            var total = RigidTransform.identity
            for mr in item.sequence(.matrixRegistrationSequence) ?? [] {
                for mx in mr.sequence(.matrixSequence) ?? [] {
                    let values: [Double]
                    do {
                        values = try mx.doubles(Tag(0x3006, 0x00C6)) ?? []
                    } catch let e as SBRTError {
                        throw SBRTError(.invalidValue, "Frame of Reference Transformation Matrix (3006,00C6): \(e.message)", file: path)
                    }
                    guard !values.isEmpty else { continue }
                    do {
                        let t = try RigidTransform(values)
                        try t.checkPlausible()
                        total = t.composed(after: total)
                    } catch let e as SBRTError {
                        throw SBRTError(.invalidValue, "Frame of Reference Transformation Matrix (3006,00C6) for \(f): \(e.message)", file: path)
                    }
                }
            }
            matrices[f] = total
        }
        self.matrices = matrices
    }

    /// The transform taking coordinates of frame `from` into frame `to`, when this object
    /// registers both; nil otherwise.
    public func transform(from: String, to: String) -> RigidTransform? {
        guard let a = matrices[from], let b = matrices[to] else { return nil }
        return b.inverse.composed(after: a)
    }
}

extension StudyFolder {
    /// The folder's Spatial Registration objects, parsed (in scan order).
    /// - Throws: `SBRTError` for a registration whose matrices cannot be read.
    public func spatialRegistrations() throws -> [SpatialRegistration] {
        try otherFiles.filter { $0.sopClassUID == SOPClass.spatialRegistration }.map { try SpatialRegistration(file: $0) }
    }

    /// The transform taking patient coordinates of frame of reference `from` into those of
    /// `to`, and the first registration (in scan order) that registers both; nil when none does.
    public func registration(from: String, to: String) throws -> (transform: RigidTransform, registration: SpatialRegistration)? {
        for r in try spatialRegistrations() {
            if let t = r.transform(from: from, to: to) { return (t, r) }
        }
        return nil
    }
}
