import Foundation

/// A population DVH of one group of plans: the median and a band (e.g. the
/// inter-quartile range) of volume % at each dose, for `DVHPlot.population`.
public struct DVHBand: Sendable {
    public var name: String
    public var colour: Colour
    /// Doses, Gy, increasing.
    public var doseGy: [Double]
    /// Lower edge, median and upper edge of the band at each dose, % of volume.
    public var lowerPercent: [Double]
    public var medianPercent: [Double]
    public var upperPercent: [Double]

    public init(name: String, colour: Colour, doseGy: [Double], lowerPercent: [Double], medianPercent: [Double], upperPercent: [Double]) {
        self.name = name
        self.colour = colour
        self.doseGy = doseGy
        self.lowerPercent = lowerPercent
        self.medianPercent = medianPercent
        self.upperPercent = upperPercent
    }

    /// (dose, %) points of the median.
    var medianPoints: [SIMD2<Double>] { zip(doseGy, medianPercent).map { SIMD2($0, $1) } }
}

extension DVHPlot {
    /// A population DVH plot: for each band, its range filled in the band's colour
    /// (translucent) and its median drawn as a line, on the axes, grid and legend of the
    /// DVH plot (the same layout as `scene`).
    public static func populationScene(_ bands: [DVHBand], rxGy: Double? = nil, width: Int, height: Int,
                                       title: String = "Population DVH: median and inter-quartile range",
                                       doseLabel: String = "Gy") -> Scene {
        let L = layout(maxDoseGy: bands.compactMap { $0.doseGy.last }.max() ?? 1, rxGy: rxGy, width: width, height: height)
        var s = Scene(width: width, height: height, title: title)
        grid(&s, L, rxGy: rxGy)
        let lw = max(1.6, L.fs * 0.16)
        for b in bands {
            band(b, &s, L)
        }
        for b in bands {
            s.stroke([b.medianPoints.map { SIMD2(L.x($0.x), L.y($0.y)) }], width: lw, colour: lineColour(b.colour), title: b.name)
        }
        axes(&s, L, title: title, doseLabel: doseLabel)
        legend(bands.map { ($0.name, lineColour($0.colour)) }, &s, L, avoiding: bands.flatMap(\.medianPoints))
        return s
    }

    /// The band's range as one closed polygon: the upper edge forward, the lower edge back.
    static func band(_ b: DVHBand, _ s: inout Scene, _ L: Layout) {
        guard b.doseGy.count > 1 else { return }
        let upper = zip(b.doseGy, b.upperPercent).map { SIMD2(L.x($0), L.y(min(100, max(0, $1)))) }
        let lower = zip(b.doseGy, b.lowerPercent).map { SIMD2(L.x($0), L.y(min(100, max(0, $1)))) }
        s.group(title: b.name + " inter-quartile range") { g in
            g.fill([upper + lower.reversed()], colour: b.colour, alpha: 0.28)
        }
    }
}
