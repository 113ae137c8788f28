import Base
import Dosimetry
import Foundation
import Geometry
import PlanReview
import Store

/// What `sbrt batch` computes for every plan and how it runs.
public struct BatchRequest: Sendable {
    /// Folders, files or manifests to discover plans in (`PlanDiscovery.discover`).
    public var roots: [String]
    /// Metrics evaluated for every structure (TG-263 syntax).
    public var metrics: [Metric]
    public var endCap: EndCap = .prism
    /// A protocol to check every plan against, with its fingerprint (`ProtocolFingerprint`).
    public var review: (protocol: ReviewProtocol, fingerprint: String)?
    /// Plans computed at the same time (each gets `cores / jobs` workers for its loops).
    public var jobs: Int = 1
    public var shard: Shard = .all
    /// Compute and write plans already stored (replacing their rows).
    public var rescan = false
    /// The sbrt release, part of every plan key.
    public var sbrtVersion: String
    /// The dose step of the stored cumulative DVHs, Gy.
    public var binWidthGy = StoredDVH.defaultBinWidthGy

    public init(roots: [String], metrics: [Metric], sbrtVersion: String) {
        self.roots = roots
        self.metrics = metrics
        self.sbrtVersion = sbrtVersion
    }

    /// The options that change a plan's numbers, as stored in `plans.options_json` and
    /// hashed into the plan key. Jobs, shard and rescan change how a run goes, not what
    /// it computes, so they are not part of it.
    struct KeyOptions: Encodable {
        var binWidthGy: Double
        var endCap: String
        var metrics: [String]
        var structures = "every ROI with closed planar contours"
        var targetIndices: [String]
        var protocolID: String?
        var protocolSHA256: String?
    }

    /// `plans.options_json`: canonical JSON of the options (`PlanKey.canonicalJSON`).
    /// - Throws: `SBRTError` of kind `.invalidValue` for a non-finite bin width.
    public func optionsJSON() throws -> String {
        try PlanKey.canonicalJSON(KeyOptions(binWidthGy: binWidthGy, endCap: endCap.rawValue, metrics: metrics.map(\.text),
                                             targetIndices: TargetIndices.names, protocolID: review?.protocol.id,
                                             protocolSHA256: review?.fingerprint))
    }
}

/// The content fingerprint of a protocol: SHA-256 over the bytes of its file and of
/// every file it includes, so that an edited protocol file gives new plan keys.
public enum ProtocolFingerprint {
    /// - Throws: `SBRTError` when a file cannot be read.
    public static func of(_ proto: ReviewProtocol, library: ProtocolLibrary) throws -> String {
        var bytes = Array(try InputFiles.read(proto.path))
        for id in proto.included.sorted() {
            let included = try library.load(id)
            bytes += Array("\n--include \(id)\n".utf8) + Array(try InputFiles.read(included.path))
        }
        return SHA256.hex(bytes)
    }
}
