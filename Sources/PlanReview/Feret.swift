import Foundation
import VoxelKit

/// The maximum Feret diameter (greatest 3D caliper distance) of a point set.
///
/// The greatest distance between any two points of a set is reached between two
/// vertices of its convex hull, so the maximum over all pairs of points is exact on the
/// hull of the points. Here every pair is considered, pruned by distance from the
/// centroid: |p − q| ≤ rₚ + r_q, so once rᵢ + rⱼ cannot beat the best pair found the
/// inner loop stops.
/// - Complexity: O(n²) in the worst case (points on a sphere about their centroid),
///   typically far less; 10⁴ contour points take a few milliseconds.
public enum Feret {
    /// The greatest distance between two of `points` (mm), with the two points; nil for an empty set.
    public static func maximum(_ points: [Vec3]) -> (diameterMM: Double, a: Vec3, b: Vec3)? {
        guard let first = points.first else { return nil }
        if points.count == 1 { return (0, first, first) }
        var c = Vec3(0, 0, 0)
        for p in points { c += p }
        c /= Double(points.count)
        let sorted = points.map { ($0, length($0 - c)) }.sorted { $0.1 > $1.1 }
        var best2 = -1.0, ia = 0, ib = 0
        for i in 0..<sorted.count {
            let (p, rp) = sorted[i]
            // No pair with this point or any later (closer to the centroid) can be longer.
            if (2 * rp) * (2 * rp) <= best2 { break }
            for j in (i + 1)..<sorted.count {
                let (q, rq) = sorted[j]
                let bound = rp + rq
                if bound * bound <= best2 { break }
                let d = p - q
                let d2 = dot(d, d)
                if d2 > best2 { best2 = d2; ia = i; ib = j }
            }
        }
        return (best2.squareRoot(), sorted[ia].0, sorted[ib].0)
    }

    /// The plain reference: every pair, no pruning (for tests).
    public static func bruteForce(_ points: [Vec3]) -> Double {
        var best = 0.0
        for i in points.indices { for j in points.indices where j > i { best = max(best, length(points[i] - points[j])) } }
        return best
    }
}
