import Foundation
import VoxelKit

/// How a stack of planar contours fills the space between and beyond its planes.
public enum EndCap: String, Sendable, CaseIterable, Codable {
    /// Each plane extruded to half the distance to its neighbours, and by half a slice
    /// beyond the first and last planes (the common planning-system convention).
    case prism
    /// As `prism` between planes, but nothing beyond the first and last plane of each
    /// run of contiguous planes.
    case none
    /// Shape-based interpolation of signed distances between contiguous planes, continued
    /// half a slice beyond the end planes with the rim rounded (a fillet of half a slice).
    case interpolated
}

/// The occupancy of a planar shape on a cell lattice, as a function of w.
///
/// Between "breakpoints" the definition of the cross-section does not change (one
/// prism slab, or one interval between two planes), so a sampler that subdivides each
/// breakpoint interval samples every part of the shape consistently.
public final class ShapeOccupancy: @unchecked Sendable {
    public let shape: PlanarShape
    public let lattice: CellLattice
    public let endCap: EndCap
    /// The spacing of a contiguous stack (CT slice spacing), mm.
    public let sliceSpacing: Double

    /// Per plane, the coverage fractions on `lattice` (computed once).
    public let planeCoverage: [[Float]]
    /// Per plane, the slab [w − below, w + above] it fills in prism/none modes.
    public let slabs: [(lo: Double, hi: Double)]
    /// Whether plane p and p+1 are contiguous (gap ≤ 1.5 slice spacings).
    let contiguousWithNext: [Bool]
    /// Signed distance (mm, negative inside) per plane, for interpolation; empty otherwise.
    let signedDistance: [[Float]]
    /// Largest inscribed radius per plane (−min signed distance), mm.
    let inscribedRadius: [Double]

    public init(shape: PlanarShape, lattice: CellLattice, endCap: EndCap, sliceSpacing: Double) {
        self.shape = shape
        self.lattice = lattice
        self.endCap = endCap
        self.sliceSpacing = sliceSpacing
        let planes = shape.planes
        var coverage = [[Float]](repeating: [], count: planes.count)
        coverage.withUnsafeMutableBufferPointer { out in
            let o = out
            DispatchQueue.concurrentPerform(iterations: planes.count) { p in
                o[p] = PolygonCoverage.rasterize(planes[p].polygons, on: lattice)
            }
        }
        planeCoverage = coverage
        var contiguous: [Bool] = []
        for p in planes.indices {
            contiguous.append(p + 1 < planes.count && planes[p + 1].w - planes[p].w <= 1.5 * sliceSpacing)
        }
        contiguousWithNext = contiguous
        var slabs: [(Double, Double)] = []
        for p in planes.indices {
            let hasPrev = p > 0 && contiguous[p - 1]
            let hasNext = contiguous[p]
            let below = hasPrev ? (planes[p].w - planes[p - 1].w) / 2 : (endCap == .none ? 0 : sliceSpacing / 2)
            let above = hasNext ? (planes[p + 1].w - planes[p].w) / 2 : (endCap == .none ? 0 : sliceSpacing / 2)
            slabs.append((planes[p].w - below, planes[p].w + above))
        }
        self.slabs = slabs
        if endCap == .interpolated {
            var sd = [[Float]](repeating: [], count: planes.count)
            sd.withUnsafeMutableBufferPointer { out in
                let o = out
                DispatchQueue.concurrentPerform(iterations: planes.count) { p in
                    o[p] = SignedDistance2D.fromCoverage(coverage[p], lattice: lattice)
                }
            }
            signedDistance = sd
            inscribedRadius = sd.map { Double(-($0.min() ?? 0)) }
        } else {
            signedDistance = []
            inscribedRadius = []
        }
    }

    /// The w values where the cross-section's definition changes, increasing.
    public var breakpoints: [Double] {
        var out: [Double] = []
        switch endCap {
        case .prism, .none:
            for s in slabs where s.hi > s.lo { out.append(s.lo); out.append(s.hi) }
        case .interpolated:
            let planes = shape.planes
            for p in planes.indices {
                let startsRun = p == 0 || !contiguousWithNext[p - 1]
                if startsRun { out.append(planes[p].w - sliceSpacing / 2) }
                out.append(planes[p].w)
                if !contiguousWithNext[p] { out.append(planes[p].w + sliceSpacing / 2) }
            }
        }
        out.sort()
        var unique: [Double] = []
        for x in out where unique.last.map({ x - $0 > 1e-9 }) ?? true { unique.append(x) }
        return unique
    }

    /// Writes the coverage of the cross-section at `w` into `out` (lattice.count values);
    /// returns false (and leaves `out` untouched) when the shape is empty there.
    public func coverage(at w: Double, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        let planes = shape.planes
        switch endCap {
        case .prism, .none:
            guard let p = slabs.firstIndex(where: { w >= $0.lo && w < $0.hi }) else { return false }
            _ = out.initialize(from: planeCoverage[p])
            return true
        case .interpolated:
            // Between two contiguous planes: interpolate signed distances.
            for p in planes.indices {
                let wp = planes[p].w
                if contiguousWithNext[p] && w >= wp && w < planes[p + 1].w {
                    let t = Float((w - wp) / (planes[p + 1].w - wp))
                    fill(out) { i in (1 - t) * self.signedDistance[p][i] + t * self.signedDistance[p + 1][i] }
                    return true
                }
                let half = sliceSpacing / 2
                let startsRun = p == 0 || !contiguousWithNext[p - 1]
                if startsRun && w >= wp - half && w < wp {
                    capFill(out, plane: p, inward: contiguousWithNext[p] ? p + 1 : nil, distance: wp - w)
                    return true
                }
                if !contiguousWithNext[p] && w >= wp && w < wp + half {
                    capFill(out, plane: p, inward: p > 0 && contiguousWithNext[p - 1] ? p - 1 : nil, distance: w - wp)
                    return true
                }
            }
            return false
        }
    }

    /// Rounded end, at distance d beyond an end plane (0 ≤ d < c, c = half a slice):
    /// the shape-based interpolation continued past the end plane — the signed distance
    /// extrapolated linearly from the neighbouring plane inward (a tapering solid keeps
    /// tapering, a straight one stays straight; growth limited to d) — and its rim rounded
    /// with a fillet of radius c (eroded by c − √(c² − d²)). A single plane gets the
    /// fillet alone.
    private func capFill(_ out: UnsafeMutableBufferPointer<Float>, plane p: Int, inward q: Int?, distance d: Double) {
        let c = sliceSpacing / 2
        let x = min(d, c)
        let fillet = Float(c - (c * c - x * x).squareRoot())
        let sdP = signedDistance[p]
        guard let q else {
            fill(out) { i in sdP[i] + fillet }
            return
        }
        let sdQ = signedDistance[q]
        let t = Float(d / abs(shape.planes[p].w - shape.planes[q].w))
        let maxGrowth = Float(d)
        fill(out) { i in
            let extrapolated = sdP[i] + t * (sdP[i] - sdQ[i])
            // The taper is the rounding here; the fillet only where the solid does not taper.
            return max(extrapolated, sdP[i] - maxGrowth, sdP[i] + fillet)
        }
    }

    /// Coverage from signed distances: a linear ramp across one cell.
    private func fill(_ out: UnsafeMutableBufferPointer<Float>, _ sd: (Int) -> Float) {
        let invH = Float(1 / lattice.h)
        for i in 0..<lattice.count {
            out[i] = min(1, max(0, 0.5 - sd(i) * invH))
        }
    }
}
