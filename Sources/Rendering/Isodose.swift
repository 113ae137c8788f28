/// One isodose level to draw: its dose, its percentage of the prescription when known,
/// and its colour.
public struct IsodoseLevel: Equatable, Sendable {
    public var doseGy: Double
    /// Percentage of Rx; nil when the level was given in Gy without a prescription.
    public var percentOfRx: Double?
    public var colour: Colour

    public init(doseGy: Double, percentOfRx: Double?, colour: Colour) {
        self.doseGy = doseGy
        self.percentOfRx = percentOfRx
        self.colour = colour
    }
}

/// Isodose levels and their colours, after the conventions of open-source planning
/// viewers (dicompyler's default isodose set): dark red above the prescription, red-orange at
/// 100 %, orange and yellow just below, greens for 70–90 %, cyan to blue for low doses.
public enum IsodoseStyle {
    /// The default SBRT levels, % of Rx: the hot spot, coverage (100 %), the 90 and 80 %
    /// lines of SRS QA, the 50 % line (R50, gradient index) and a low-dose line.
    public static let defaultPercentLevels: [Double] = [105, 100, 90, 80, 50, 30]

    /// Colour anchors (% of Rx, colour), interpolated linearly between; clamped outside.
    /// Close to dicompyler's and OnkoDICOM's defaults, with the low-dose blues lightened
    /// so that they read on a dark CT.
    public static let anchors: [(Double, Colour)] = [
        (10, Colour(70, 70, 230)),
        (30, Colour(60, 110, 255)),
        (50, Colour(0, 190, 255)),
        (60, Colour(0, 255, 255)),
        (70, Colour(0, 175, 90)),
        (80, Colour(0, 230, 0)),
        (90, Colour(255, 255, 0)),
        (95, Colour(255, 170, 0)),
        (100, Colour(255, 70, 0)),
        (105, Colour(185, 0, 0)),
        (110, Colour(140, 0, 40)),
        (120, Colour(150, 0, 150)),
    ]

    /// The colour of a level at `percent` of Rx.
    public static func colour(percent: Double) -> Colour {
        if percent <= anchors[0].0 { return anchors[0].1 }
        for n in 1..<anchors.count where percent <= anchors[n].0 {
            let (p0, c0) = anchors[n - 1], (p1, c1) = anchors[n]
            return c0.mixed(with: c1, (percent - p0) / (p1 - p0))
        }
        return anchors[anchors.count - 1].1
    }

    /// Levels at `percents` of `rxGy`, highest first.
    public static func levels(percent percents: [Double], rxGy: Double) -> [IsodoseLevel] {
        percents.sorted(by: >).map { IsodoseLevel(doseGy: $0 / 100 * rxGy, percentOfRx: $0, colour: colour(percent: $0)) }
    }

    /// Levels at absolute doses, highest first; coloured by their percentage of `rxGy`,
    /// or without a prescription by their percentage of `referenceGy` (the highest level
    /// or the maximum dose).
    public static func levels(gy doses: [Double], rxGy: Double?, referenceGy: Double) -> [IsodoseLevel] {
        doses.sorted(by: >).map { d in
            let pct = rxGy.map { 100 * d / $0 }
            let colourPct = pct ?? (referenceGy > 0 ? 100 * d / referenceGy : 100)
            return IsodoseLevel(doseGy: d, percentOfRx: pct, colour: colour(percent: colourPct))
        }
    }
}

/// A display window: grey = (value − (level − width/2)) / width, clamped to [0, 1], in
/// the image's own values (HU for CT, signal for MR, SUV or PET units for PET). The
/// named presets are CT windows in HU.
public struct DisplayWindow: Equatable, Sendable {
    public var width: Double
    public var level: Double

    public init(width: Double, level: Double) {
        self.width = width
        self.level = level
    }

    /// Soft tissue: W400 / L40.
    public static let soft = DisplayWindow(width: 400, level: 40)
    /// Bone: W1800 / L400.
    public static let bone = DisplayWindow(width: 1800, level: 400)
    /// Lung: W1500 / L−600.
    public static let lung = DisplayWindow(width: 1500, level: -600)

    /// Whether `text` names a CT preset (soft, bone, lung) rather than giving W/L.
    public static func isPreset(_ text: String) -> Bool {
        ["soft", "soft-tissue", "abdomen", "bone", "lung"].contains(text.lowercased())
    }

    /// `soft`, `bone`, `lung`, or `W/L` (e.g. `400/40`, `1500/-600`); nil when unreadable
    /// or the width is not positive.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "soft", "soft-tissue", "abdomen": self = .soft
        case "bone": self = .bone
        case "lung": self = .lung
        default:
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let w = Double(parts[0]), let l = Double(parts[1]), w > 0, w.isFinite, l.isFinite else { return nil }
            self.init(width: w, level: l)
        }
    }

    /// `W400/L40`; decimals only where the width needs them (`W975/L527`, `W3.25/L1.6`).
    public var label: String {
        let d = width >= 100 ? 0 : width >= 10 ? 1 : 2
        return "W\(Format.number(width, decimals: d))/L\(Format.number(level, decimals: d))"
    }
}

/// Number formatting for labels (locale-independent, no trailing zeros).
enum Format {
    /// `x` with at most `decimals` decimals, trailing zeros removed, − as minus sign.
    static func number(_ x: Double, decimals: Int = 2) -> String {
        var s = String(format: "%.\(decimals)f", x)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        if s == "-0" { s = "0" }
        return s.replacingOccurrences(of: "-", with: "−")
    }

    /// `x` with exactly `decimals` decimals, − as minus sign.
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        var s = String(format: "%.\(decimals)f", x)
        if Double(s) == 0 { s = String(format: "%.\(decimals)f", 0.0) }
        return s.replacingOccurrences(of: "-", with: "−")
    }
}

import Foundation
