import Foundation

extension Limit {
    /// The limits at a structure volume: per protocol and minor.
    public enum Resolved: Sendable, Equatable {
        case limits(perProtocol: Double, minor: Double?)
        /// The volume lies outside the table (no extrapolation): the range tabulated, cc.
        case outOfRange(ClosedRange<Double>)
    }

    /// Resolves the limit at `volumeCC`: fixed limits as they are; table limits exactly at a
    /// tabulated volume and linearly interpolated between neighbouring rows (RTOG 0813/0915
    /// Note 1); outside the first and last rows, `.outOfRange`.
    public func resolved(volumeCC: Double) -> Resolved {
        switch self {
        case .fixed(let p, let m): return .limits(perProtocol: p, minor: m)
        case .byVolume(let rows): return Self.interpolate(rows, at: volumeCC)
        }
    }

    static func interpolate(_ rows: [VolumeRow], at v: Double) -> Resolved {
        guard let first = rows.first, let last = rows.last else { return .outOfRange(0...0) }
        guard v >= first.volumeCC, v <= last.volumeCC else { return .outOfRange(first.volumeCC...last.volumeCC) }
        if let exact = rows.first(where: { $0.volumeCC == v }) { return .limits(perProtocol: exact.perProtocol, minor: exact.minor) }
        let k = rows.firstIndex { $0.volumeCC > v }!
        let a = rows[k - 1], b = rows[k]
        let t = (v - a.volumeCC) / (b.volumeCC - a.volumeCC)
        let p = a.perProtocol + t * (b.perProtocol - a.perProtocol)
        var m: Double?
        if let ma = a.minor, let mb = b.minor { m = ma + t * (mb - ma) }
        return .limits(perProtocol: p, minor: m)
    }
}
