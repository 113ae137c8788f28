import Base
/// A 2D lattice of square cells on which polygons are rasterised with exact area coverage.
///
/// Cell (i, j) covers `[u0 + i·h, u0 + (i+1)·h) × [v0 + j·h, v0 + (j+1)·h)` in plane
/// coordinates (mm); its centre is at `u0 + (i + ½)·h`. Storage is row-major, i fastest.
public struct CellLattice: Equatable, Sendable {
    public var u0: Double
    public var v0: Double
    public var h: Double
    public var nu: Int
    public var nv: Int

    public init(u0: Double, v0: Double, h: Double, nu: Int, nv: Int) {
        self.u0 = u0
        self.v0 = v0
        self.h = h
        self.nu = nu
        self.nv = nv
    }

    public var count: Int { nu * nv }
    /// Area of one cell in mm².
    public var cellArea: Double { h * h }
}

/// Exact area coverage of polygons over lattice cells.
///
/// Each edge adds the signed area it encloses to the cells of the rows it crosses
/// (the accumulation rasteriser used by font renderers); a running sum along each row
/// then gives, for every cell, the signed fraction of its area inside the polygon. The
/// result is exact for straight edges, whatever their slope, so a contour lying on cell
/// edges gives exactly 1 or 0, never an empty or doubled border.
///
/// Several contours on one plane combine even-odd: a contour nested inside an odd
/// number of others (a hole) subtracts, one inside an even number (an island) adds,
/// whatever the direction in which each was drawn. Contours on one plane must not
/// cross each other (PS3.3 C.8.8.6.3); when they do, coverage is clamped to [0, 1].
public enum PolygonCoverage {
    /// Coverage fractions in [0, 1] of the cells of `lattice` by the even-odd union of `polygons`.
    /// - Parameter polygons: closed polygons in plane coordinates (mm); the last point
    ///   connects to the first.
    /// - Complexity: O(Σ edges × rows crossed + cells).
    public static func rasterize(_ polygons: [[SIMD2<Double>]], on lattice: CellLattice) -> [Float] {
        let stride = lattice.nu + 2
        var acc = [Double](repeating: 0, count: stride * lattice.nv)
        let signs = evenOddSigns(polygons)
        for (n, poly) in polygons.enumerated() where poly.count >= 3 {
            let orientation: Double = signedArea(poly) >= 0 ? 1 : -1
            accumulate(poly, weight: signs[n] * orientation, lattice: lattice, stride: stride, into: &acc)
        }
        var out = [Float](repeating: 0, count: lattice.count)
        for j in 0..<lattice.nv {
            var running = 0.0
            for i in 0..<lattice.nu {
                running += acc[j * stride + i]
                // The running sum leaves round-off (~1e-16) in cells the polygons do not
                // reach; snap it to an exact 0 so such cells never read as boundary cells.
                out[j * lattice.nu + i] = running < 1e-9 ? 0 : Float(min(1, running))
            }
        }
        return out
    }

    /// The pixels of an image plane that the even-odd union of `polygons` covers by at
    /// least half: pixel (i, j) is the cell of `spacingU` × `spacingV` mm centred at
    /// (i·spacingU, j·spacingV) in the plane's (u, v) coordinates (an image grid's frame,
    /// origin at its first pixel centre). Row-major, i fastest.
    /// - Complexity: as `rasterize` on an nu × nv lattice.
    public static func pixelMask(_ polygons: [[SIMD2<Double>]], spacingU: Double, spacingV: Double, nu: Int, nv: Int) -> [Bool] {
        // In pixel units the cells are unit squares, and area fractions are unchanged.
        let scaled = polygons.map { $0.map { SIMD2($0.x / spacingU, $0.y / spacingV) } }
        return rasterize(scaled, on: CellLattice(u0: -0.5, v0: -0.5, h: 1, nu: nu, nv: nv)).map { $0 >= 0.5 }
    }

    /// +1 for contours at even nesting depth (outer boundaries, islands), −1 for odd (holes).
    public static func evenOddSigns(_ polygons: [[SIMD2<Double>]]) -> [Double] {
        polygons.enumerated().map { (n, poly) in
            guard let p = poly.first else { return 1 }
            var depth = 0
            for (m, other) in polygons.enumerated() where m != n && other.count >= 3 {
                if contains(other, p) { depth += 1 }
            }
            return depth % 2 == 0 ? 1 : -1
        }
    }

    /// Shoelace area, positive for counter-clockwise polygons (u right, v up).
    public static func signedArea(_ poly: [SIMD2<Double>]) -> Double {
        var a = 0.0
        for n in poly.indices {
            let p = poly[n], q = poly[(n + 1) % poly.count]
            a += p.x * q.y - q.x * p.y
        }
        return a / 2
    }

    /// Even-odd point-in-polygon test.
    public static func contains(_ poly: [SIMD2<Double>], _ p: SIMD2<Double>) -> Bool {
        var inside = false
        var j = poly.count - 1
        for i in 0..<poly.count {
            let a = poly[i], b = poly[j]
            if (a.y > p.y) != (b.y > p.y) {
                let x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y)
                if p.x < x { inside.toggle() }
            }
            j = i
        }
        return inside
    }

    /// Adds `weight ×` the signed area contributions of each edge to `acc` (rows of `stride`).
    ///
    /// For an edge piece crossing one row with signed height `d`, cell `i` of the row gains
    /// `d × (1/(xb−xa)) ∫ clamp(i+1−x, 0, 1) dx` over the piece's x-range [xa, xb]: the part of
    /// the cell right of the edge. `acc` stores differences of these along the row.
    static func accumulate(_ poly: [SIMD2<Double>], weight: Double, lattice: CellLattice, stride: Int, into acc: inout [Double]) {
        let inv = 1 / lattice.h
        let w = Double(lattice.nu), hgt = Double(lattice.nv)
        acc.withUnsafeMutableBufferPointer { a in
            for n in poly.indices {
                let p = poly[n], q = poly[(n + 1) % poly.count]
                var x0 = (p.x - lattice.u0) * inv, y0 = (p.y - lattice.v0) * inv
                var x1 = (q.x - lattice.u0) * inv, y1 = (q.y - lattice.v0) * inv
                if y0 == y1 { continue }
                // For a counter-clockwise polygon the cells right of a downward edge and left of
                // an upward edge are inside: downward edges add, upward edges subtract.
                var dir = -weight
                if y0 > y1 { swap(&x0, &x1); swap(&y0, &y1); dir = weight }
                // The lattice is made to contain every polygon; clamping only guards memory.
                x0 = min(max(x0, 0), w); x1 = min(max(x1, 0), w)
                let dxdy = (x1 - x0) / (y1 - y0)
                var yStart = max(0, y0)
                let yEnd = min(hgt, y1)
                if yStart >= yEnd { continue }
                var x = x0 + (yStart - y0) * dxdy
                var row = Checked.clamped(yStart.rounded(.down))
                while yStart < yEnd && row < lattice.nv {
                    let yNext = min(Double(row + 1), yEnd)
                    let d = (yNext - yStart) * dir
                    let xNext = x + dxdy * (yNext - yStart)
                    let xa = min(x, xNext), xb = max(x, xNext)
                    let base = row * stride
                    let ia = Checked.clamped(xa.rounded(.down))
                    let ib = min(Checked.clamped(xb.rounded(.down)), lattice.nu)
                    if ia >= ib || xb - xa < 1e-12 {
                        let xm = 0.5 * (xa + xb) - Double(ia)
                        a[base + ia] += d * (1 - xm)
                        a[base + ia + 1] += d * xm
                    } else {
                        let s = 1 / (xb - xa)
                        var prev = 0.0
                        for xi in ia...ib {
                            let cellLeft = Double(xi), cellRight = Double(xi + 1)
                            var integral = max(0, min(xb, cellLeft) - xa)
                            let l = max(xa, cellLeft), r = min(xb, cellRight)
                            if r > l { integral += (cellRight - 0.5 * (l + r)) * (r - l) }
                            let c = d * integral * s
                            a[base + xi] += c - prev
                            prev = c
                        }
                        a[base + ib + 1] += d - prev
                    }
                    x = xNext
                    yStart = yNext
                    row += 1
                }
            }
        }
    }
}
