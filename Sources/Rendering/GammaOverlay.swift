import Dosimetry
import VoxelKit

/// A gamma map drawn on a CT slice: each pixel shows the γ of the nearest reference voxel
/// centre (within half a voxel; the map is defined at those points only); passing points
/// are tinted faintly green, failing points coloured by γ, points not evaluated (below the
/// cutoff) left clear.
public enum GammaOverlay {
    /// A colour band: points with γ above the previous band's limit and up to `upTo`.
    public struct Band: Sendable, Equatable {
        public var upTo: Double
        public var colour: Colour
        public var alpha: Double
        public var label: String
    }

    /// The bands for a map capped at `maxGamma`: pass (≤ 1), 1–1.2, 1.2–1.5, 1.5–max, and
    /// the points at max-gamma (none found below it).
    public static func bands(maxGamma: Double) -> [Band] {
        func f(_ x: Double) -> String { Format.number(x) }
        var out = [Band(upTo: 1, colour: Colour(40, 200, 90), alpha: 0.28, label: "≤ 1 (pass)")]
        var lower = 1.0
        for (limit, colour) in [(1.2, Colour(255, 235, 0)), (1.5, Colour(255, 140, 0))] where limit < maxGamma {
            out.append(Band(upTo: limit, colour: colour, alpha: 0.8, label: "\(f(lower)) – \(f(limit))"))
            lower = limit
        }
        out.append(Band(upTo: maxGamma.nextDown, colour: Colour(235, 30, 30), alpha: 0.8, label: "\(f(lower)) – \(f(maxGamma))"))
        out.append(Band(upTo: .infinity, colour: Colour(230, 0, 230), alpha: 0.85, label: "≥ \(f(maxGamma)) (none below)"))
        return out
    }

    /// The overlay of `map` (values as `GammaMap.gamma`: −1 not evaluated).
    public static func overlay(_ map: Volume<Float>, maxGamma: Double, title: String, subtitle: String?, caption: String?) -> SliceOverlay {
        let bands = bands(maxGamma: maxGamma)
        return SliceOverlay(title: title, subtitle: subtitle, rows: bands.map { SliceOverlay.Row(colour: $0.colour, label: $0.label) },
                            caption: caption) { canvas, view in
            draw(map, bands, &canvas, view)
        }
    }

    /// The band of a γ value.
    static func band(_ g: Double, _ bands: [Band]) -> Band {
        bands.first { g <= $0.upTo } ?? bands[bands.count - 1]
    }

    static func draw(_ map: Volume<Float>, _ bands: [Band], _ canvas: inout Canvas, _ view: SliceView) {
        let g = map.grid
        let i00 = g.continuousIndex(of: view.patient(0.5, 0.5))
        let dX = g.continuousIndex(of: view.patient(1.5, 0.5)) - i00
        let dY = g.continuousIndex(of: view.patient(0.5, 1.5)) - i00
        let hi = SIMD3<Double>(Double(g.nx), Double(g.ny), Double(g.nz)) - 0.5
        map.voxels.withUnsafeBufferPointer { v in
            for y in 0..<view.height {
                var idx = i00 + dY * Double(y)
                for x in 0..<view.width {
                    defer { idx += dX }
                    guard all(idx .>= SIMD3(repeating: -0.5)), all(idx .< hi) else { continue }
                    let r = idx.rounded(.toNearestOrAwayFromZero)
                    let i = min(max(Int(r.x), 0), g.nx - 1), j = min(max(Int(r.y), 0), g.ny - 1), k = min(max(Int(r.z), 0), g.nz - 1)
                    let gamma = v[g.linearIndex(i, j, k)]
                    guard gamma >= 0 else { continue }
                    let b = band(Double(gamma), bands)
                    canvas.blend(x, y, b.colour, b.alpha)
                }
            }
        }
    }

    /// A point on the reference plane (k) with the most failing points (ties: the lower k):
    /// the mean of those points; nil when every point passes.
    public static func worstPoint(_ map: Volume<Float>) -> Vec3? {
        let g = map.grid
        var best = (count: 0, k: -1)
        for k in 0..<g.nz {
            var n = 0
            for v in (k * g.sliceCount)..<((k + 1) * g.sliceCount) where map.voxels[v] > 1 { n += 1 }
            if n > best.count { best = (n, k) }
        }
        guard best.k >= 0 else { return nil }
        var sum = Vec3(0, 0, 0)
        for j in 0..<g.ny { for i in 0..<g.nx where map[i, j, best.k] > 1 {
            sum += g.position(Double(i), Double(j), Double(best.k))
        } }
        return sum / Double(best.count)
    }
}
