import Base
import Foundation
import RTModel
import Store

/// A deterministic share of a cohort: shard `index` of `count` (1-based, as `--shard K/N`).
///
/// A plan belongs to shard `1 + h mod count`, where `h` is the first 8 bytes (big-endian)
/// of the SHA-256 of its UID identity (`DiscoveredPlan.uidIdentity`: `plan:<RT Plan SOP
/// Instance UID>` or `dose:<RT Dose SOP Instance UID>`). The share depends on nothing a
/// worker sees differently — not the order files are listed in, not the path the tree is
/// mounted at, not the other plans — so N workers started on one export take disjoint
/// shares that together cover it, and a restarted worker takes the same share again.
/// Copies of one plan in two folders share a UID, hence a shard (and a plan key).
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 1-based index of this shard.
    public let index: Int
    /// Number of shards.
    public let count: Int

    /// The whole cohort (`1/1`).
    public static let all = Shard(checkedIndex: 1, count: 1)

    /// The largest number of shards accepted (a bound on nonsense, not on scale).
    public static let maximumCount = 1_000_000

    private init(checkedIndex: Int, count: Int) {
        self.index = checkedIndex
        self.count = count
    }

    /// - Throws: `SBRTError` of kind `.invalidRequest` unless 1 ≤ index ≤ count ≤ `maximumCount`.
    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= Self.maximumCount, index >= 1, index <= count else {
            throw SBRTError(.invalidRequest, "shard \(index)/\(count): expected K/N with 1 ≤ K ≤ N ≤ \(Self.maximumCount)")
        }
        self.init(checkedIndex: index, count: count)
    }

    /// Reads `K/N` (e.g. `3/8`).
    /// - Throws: `SBRTError` of kind `.invalidRequest` for anything else.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingSpaces()),
              let n = Int(parts[1].trimmingSpaces()) else {
            throw SBRTError(.invalidRequest, "shard \"\(text)\": expected K/N, e.g. 1/4")
        }
        try self.init(index: k, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether `plan` is in this shard.
    public func contains(_ plan: DiscoveredPlan) -> Bool {
        Self.bucket(of: plan.uidIdentity, count: count) == index - 1
    }

    /// The 0-based bucket of `identity` among `count`.
    public static func bucket(of identity: String, count: Int) -> Int {
        let d = SHA256.digest(Array(identity.utf8))
        var h: UInt64 = 0
        for b in d.prefix(8) { h = h << 8 | UInt64(b) }
        return Int(h % UInt64(max(1, count)))
    }
}
