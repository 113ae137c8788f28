// sbrt-validate: runs sbrt's DVH engine over the full matrix of Nelms-style analytic
// phantoms (Tools/AnalyticPhantoms) and its margin engine on a contoured sphere, and
// prints Markdown tables of the worst errors against closed-form truth, in the style of
// Nelms et al. 2015 ("points > 3 %: N of M").
// Exits 1 when any tolerance is exceeded:
//   prism end caps vs the prism stack:          volume, Dmean ≤ 0.5 %; doses ≤ 1 % of local dose
//   interpolated end caps vs the true solid:    volume, Dmean, D95, D5 ≤ 2 %
//   margins, sphere r = 10 mm (interpolated):   +5 mm within 1 %, −3 mm within 2 % of analytic
//
//   swift build -c release --product sbrt-validate --scratch-path .build-validate
//   .build-validate/release/sbrt-validate
//
// See docs/validation.md.

import AnalyticPhantoms
import Dosimetry
import Foundation
import Geometry

/// One DVH of the matrix, compared with its truth.
struct Result {
    var label: String
    var comparisons: [Comparison]
    var seconds: Double
    /// Tolerance (fraction) per endpoint; nil when the endpoint is reported but not toleranced.
    var tolerance: (Endpoint) -> Double?
}

struct Group {
    var name: String
    var results: [Result] = []
}

let columns: [Endpoint] = Endpoint.all
let thresholds = [0.01, 0.02, 0.03]

func prismTolerance(_ e: Endpoint) -> Double? { e.isVolumeOrMean ? 0.005 : 0.01 }
func interpolatedTolerance(_ e: Endpoint) -> Double? {
    switch e {
    case .volume, .mean, .hottestPercent(95), .hottestPercent(5): return 0.02
    default: return nil
    }
}

var failures: [String] = []
var totalDVHSeconds = 0.0
var dvhCount = 0
let wallStart = Date()

func run(_ c: AnalyticCase, truth: some DVHTruth, label: String, tolerance: @escaping (Endpoint) -> Double?) -> Result {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let dvh: DVH
    do { dvh = try c.dvh() } catch {
        failures.append("\(label): DVH failed: \(error)")
        return Result(label: label, comparisons: [], seconds: 0, tolerance: tolerance)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    totalDVHSeconds += seconds
    dvhCount += 1
    let comparisons = compare(dvh, with: truth)
    for r in comparisons {
        guard let tol = tolerance(r.endpoint), !(r.relativeError <= tol) else { continue }
        let measured = r.measured.map { String(format: "%.4f", $0) } ?? "none"
        failures.append(String(format: "%@: %@ truth %.4f, sbrt %@, error %.2f %% (tolerance %.1f %%)",
                               label, r.endpoint.description, r.truth, measured, 100 * r.relativeError, 100 * tol))
    }
    return Result(label: label, comparisons: comparisons, seconds: seconds, tolerance: tolerance)
}

func pct(_ x: Double) -> String { x.isFinite ? String(format: "%.2f", 100 * x) : "—" }

/// Markdown table: per group, worst |error| (%) per endpoint, points over 1/2/3 %.
func table(_ title: String, _ groups: [Group], note: String) {
    print("### \(title)\n")
    print(note + "\n")
    let head = ["Group", "DVHs"] + columns.map { $0 == .volume ? "Volume" : $0.description } + ["> 1 %", "> 2 %", "> 3 %", "time (s)"]
    print("| " + head.joined(separator: " | ") + " |")
    print("|" + head.enumerated().map { $0.offset == 0 ? "---" : "---:" }.joined(separator: "|") + "|")
    var all: [(Comparison, Double?)] = []
    for g in groups {
        let pairs = g.results.flatMap { r in r.comparisons.map { ($0, r.tolerance($0.endpoint)) } }
        all += pairs
        var cells = [g.name, String(g.results.count)]
        for e in columns {
            let errs = pairs.filter { $0.0.endpoint == e }
            if errs.isEmpty { cells.append("n/a"); continue }
            let worst = errs.map(\.0.relativeError).max()!
            let over = errs.contains { p in p.1.map { p.0.relativeError > $0 } ?? false }
            cells.append(over ? "**\(pct(worst))**" : pct(worst))
        }
        for t in thresholds { cells.append(String(pairs.filter { $0.0.relativeError > t }.count)) }
        cells.append(String(format: "%.2f", g.results.reduce(0) { $0 + $1.seconds }))
        print("| " + cells.joined(separator: " | ") + " |")
    }
    let m = all.count
    let counts = thresholds.map { t in all.filter { $0.0.relativeError > t }.count }
    print("\nPoints > 1 %: \(counts[0]) of \(m); > 2 %: \(counts[1]) of \(m); **> 3 %: \(counts[2]) of \(m)**.\n")
}

let errorNote = "Worst |error| in %: volume and Dmean relative to truth, dose endpoints relative to the local (true) dose. "

// MARK: 1. Nelms objects, prism end caps, against the prism stack

let nelmsSlices = [1.0, 2.0, 3.0], nelmsGrids = [1.0, 2.0, 3.0]
var byObject: [Group] = []
var bySpacing: [String: Group] = [:]
for ph in Phantoms.nelms {
    for axis in [GradientAxis.z, .x, .y] {
        var g = Group(name: "\(ph.name), gradient \(axis)")
        for slice in nelmsSlices {
            for grid in nelmsGrids {
                let c = AnalyticCase(ph, slice: slice, grid: grid, gradient: axis, endCap: .prism)
                let label = "prism \(ph.name), slices \(Int(slice)) mm, dose grid \(Int(grid)) mm, gradient \(axis)"
                let r = run(c, truth: PrismStackTruth(c), label: label, tolerance: prismTolerance)
                g.results.append(r)
                let key = "slices \(Int(slice)) mm, dose grid \(Int(grid)) mm"
                bySpacing[key, default: Group(name: key)].results.append(r)
            }
        }
        byObject.append(g)
    }
}

// MARK: 2. Small spheres (Stanley 2021 sizes), prism end caps, 1 mm dose grid

var spheres: [Group] = []
for d in [3.0, 5.0, 7.0, 10.0, 15.0, 20.0] {
    var g = Group(name: "sphere \(Int(d)) mm")
    for slice in [1.0, 2.0, 3.0] {
        for axis in [GradientAxis.z, .x, .y] {
            // Planes offset by 0.3 slice so that the spheres are cut off-centre.
            let c = AnalyticCase(Phantoms.sphere(diameter: d), slice: slice, grid: 1, gradient: axis, endCap: .prism, offset: slice * 0.3)
            guard !c.slabs.isEmpty else { continue }
            g.results.append(run(c, truth: PrismStackTruth(c), label: "prism sphere \(Int(d)) mm, slices \(Int(slice)) mm, dose grid 1 mm, gradient \(axis)",
                                 tolerance: prismTolerance))
        }
    }
    spheres.append(g)
}

// MARK: 3. Interpolated end caps at 2 mm slices, against the true solid

var interpolated: [Group] = []
for ph in Phantoms.nelms {
    for axis in [GradientAxis.z, .x, .y] {
        guard let truth = TrueSolidTruth(ph, gradient: axis) else { continue }
        var g = Group(name: "\(ph.name), gradient \(axis)")
        for grid in nelmsGrids {
            // Planes at odd mm so that the end planes lie half a slice inside the solid.
            let c = AnalyticCase(ph, slice: 2, grid: grid, gradient: axis, endCap: .interpolated, offset: 1)
            g.results.append(run(c, truth: truth, label: "interpolated \(ph.name), slices 2 mm, dose grid \(Int(grid)) mm, gradient \(axis)",
                                 tolerance: interpolatedTolerance))
        }
        interpolated.append(g)
    }
}

// MARK: 4. Margins on a contoured sphere (issue 7), against the analytic sphere

/// A sphere of radius r contoured on `planes` (the analytic phantom's 0.2 mm-chord circles).
func contouredSphere(_ r: Double, planes: [Double]) -> PlanarShape {
    let sphere = Phantoms.sphere(diameter: 2 * r)
    return PlanarShape(name: "S", frame: .patient, planes: planes.compactMap { z in
        let polygons = sphere.polygonsAt(z)
        return polygons.isEmpty ? nil : PlanarShape.Plane(w: z, polygons: polygons)
    })
}

/// Σ area × thickness over a result's planes.
func stackVolume(_ r: MarginResult, thickness: Double) -> Double {
    r.shape(name: "R", frame: .patient).planeAreas.reduce(0, +) * thickness
}

var marginRows: [String] = []
for source in [EndCap.interpolated, .prism] {
    for (step, offset) in [(2.0, 0.0), (2.0, 1.0), (3.0, 0.0), (3.0, 1.5)] {
        for m in [5.0, -3.0] {
            var planes: [Double] = []
            var z = -30 + offset
            while z <= 30 + 1e-9 { planes.append(z); z += step }
            let shape = contouredSphere(10, planes: planes)
            var options = MarginOptions()
            options.endCap = source
            let expr = MarginExpression.expansion(.roi("S"), DirectionalMargin(uniformMM: m))
            let t0 = DispatchTime.now().uptimeNanoseconds
            let onCT: MarginResult
            let solid: MarginResult
            do {
                onCT = try MarginEngine(frame: .patient, sliceSpacing: step, shapes: [shape], outputPlanes: planes, options: options).evaluate(expr)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                // The grown solid itself: the same engine contoured every 0.1 mm.
                let fine = (0..<400).map { -19.95 + 0.1 * Double($0) }
                solid = try MarginEngine(frame: .patient, sliceSpacing: step, shapes: [shape], outputPlanes: fine, options: options).evaluate(expr)
                let R = 10 + m
                let analytic = 4 / 3 * Double.pi * R * R * R
                let vSolid = stackVolume(solid, thickness: 0.1)
                let written = onCT.shape(name: "R", frame: .patient)
                let vInterp = written.volumeMM3(endCap: .interpolated, sliceSpacing: step)
                let vPrism = stackVolume(onCT, thickness: step)
                let exactPrism = planes.reduce(0) { $0 + Double.pi * max(0, R * R - $1 * $1) * step }
                func pc(_ a: Double, _ b: Double) -> String { String(format: "%+.2f %%", 100 * (a / b - 1)) }
                let label = "\(source.rawValue) source, \(Int(step)) mm slices, planes at \(offset)+k·\(Int(step)), \(m > 0 ? "+" : "")\(Int(m)) mm"
                marginRows.append("| \(source.rawValue) | \(Int(step)) mm, \(offset) + \(Int(step))k | \(m > 0 ? "+" : "−")\(Int(abs(m))) mm | " +
                    String(format: "%.3f", analytic / 1000) + " | " + String(format: "%.3f", vSolid / 1000) + " (\(pc(vSolid, analytic))) | " +
                    String(format: "%.3f", vInterp / 1000) + " (\(pc(vInterp, analytic))) | " +
                    String(format: "%.3f", vPrism / 1000) + " (\(pc(vPrism, exactPrism))) | " + String(format: "%.2f", seconds) + " |")
                // Issue 7: +5 mm within 1 %, −3 mm within 2 % of the analytic sphere (interpolated source).
                if source == .interpolated {
                    let tol = m > 0 ? 0.01 : 0.02
                    for (what, v) in [("grown solid", vSolid), ("written contours, interpolated", vInterp)] where !(abs(v / analytic - 1) <= tol) {
                        failures.append("\(label): \(what) \(pc(v, analytic)) against the analytic sphere (tolerance \(Int(tol * 100)) %)")
                    }
                }
            } catch {
                failures.append("sphere margin \(m) mm, \(step) mm slices: \(error)")
            }
        }
    }
}

// MARK: Report

print("## Results\n")
table("Nelms objects, `prism` end caps, against the prism-stack truth, by object and gradient", byObject,
      note: errorNote + "Each row: slices 1, 2, 3 mm × dose grid 1, 2, 3 mm. Tolerance: volume, Dmean 0.5 %; doses 1 %; bold = beyond tolerance.")
let spacingOrder = nelmsSlices.flatMap { s in nelmsGrids.map { "slices \(Int(s)) mm, dose grid \(Int($0)) mm" } }
table("Nelms objects, `prism` end caps, against the prism-stack truth, by slice spacing and dose grid",
      spacingOrder.compactMap { bySpacing[$0] },
      note: errorNote + "Each row: \(Phantoms.nelms.count) objects × gradients z, x, y.")
table("Small spheres, `prism` end caps, 1 mm dose grid, against the prism-stack truth", spheres,
      note: errorNote + "Each row: slices 1, 2, 3 mm (planes offset by 0.3 slice) × gradients z, x, y; D0.03cc only where the sphere exceeds 0.03 cc.")
table("`interpolated` end caps, 2 mm slices, against the true solid", interpolated,
      note: errorNote + "Each row: dose grid 1, 2, 3 mm. Toleranced (2 %): volume, Dmean, D95, D5 only; the other columns are reported, not judged.")

print("### Margins on a contoured sphere (r = 10 mm), against the analytic sphere\n")
print("The sphere is contoured on the planes (0.2 mm chords), grown by 5 mm or shrunk by 3 mm with `sbrt expand`'s engine, and contoured again on the same planes. *Grown solid*: the engine's result contoured every 0.1 mm (the solid itself). *Written, interpolated*: the contours on the CT planes, measured as the interpolated solid they describe (what `sbrt expand` prints first, and `sbrt dvh --end-cap interpolated`). *Written, prism*: Σ area × slice, against the exact grown sphere measured the same way on the same planes. Tolerance (interpolated source, issue 7): 1 % grown, 2 % shrunk; the prism source is reported, not judged. Time: one evaluation on the CT planes.\n")
print("| source | slices, planes at | margin | analytic cc | grown solid cc | written, interpolated cc | written, prism cc (vs exact on planes) | time (s) |")
print("|---|---|---|---:|---:|---:|---:|---:|")
for r in marginRows { print(r) }
print("")

let wall = Date().timeIntervalSince(wallStart)
print(String(format: "**Timing:** %d DVHs in %.2f s of DVH computation (mean %.3f s, release build); %.1f s wall time including the truth.\n",
             dvhCount, totalDVHSeconds, totalDVHSeconds / Double(max(dvhCount, 1)), wall))

if failures.isEmpty {
    print("**All tolerances met.**")
} else {
    print("### Beyond tolerance (\(failures.count))\n")
    for f in failures { print("- " + f) }
    exit(1)
}
