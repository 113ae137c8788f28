import ArgumentParser
import Base
import Batch
import Foundation
import Rendering
import Store

/// `sbrt render --population`: the population DVH of a structure from a batch database.
extension SBRT.RenderCommand {
    /// Colours of the bands, in group order: the colour-blind-safe qualitative palette of
    /// Okabe & Ito ("Color Universal Design", 2008), with a dark yellow for its yellow and
    /// grey for its black. No two bands share a colour: beyond these eight groups, the
    /// groups with the most plans are drawn and the others named on standard error.
    static let bandColours = [Colour(0, 114, 178), Colour(213, 94, 0), Colour(0, 158, 115), Colour(204, 121, 167),
                              Colour(230, 159, 0), Colour(86, 180, 233), Colour(190, 175, 40), Colour(110, 110, 110)]

    func validatePopulation() throws {
        guard population else { throw ValidationError("--db, --structure and --by go with --population") }
        guard path == nil else { throw ValidationError("--population reads the database of --db, not a folder: drop \(path!)") }
        guard db != nil else { throw ValidationError("--population needs --db FILE.sqlite or --db postgresql://…") }
        guard let s = populationStructure, !s.isEmpty else { throw ValidationError("--population needs --structure NAME") }
        guard out != nil || svg != nil else { throw ValidationError("give --out FILE.png and/or --svg FILE.svg") }
        if let size, !(64...8192).contains(size) { throw ValidationError("--size must be 64 to 8192 pixels") }
        let flags: [Bool] = [dvh, figure, allSlices, atMax, colorwash]
        let texts: [String?] = [through, isodose, isodoseGy, structures, window, image, zoomTo, outDir]
        let numbers: [Double?] = [sliceZ, sliceX, sliceY]
        let sliceOptions = flags.contains(true) || texts.contains { $0 != nil } || numbers.contains { $0 != nil } || !constraints.isEmpty
        guard !sliceOptions else { throw ValidationError("--population draws only the population DVH: drop the slice and DVH options") }
    }

    func runPopulation() throws {
        try OutputFiles.validate([out, svg].compactMap { $0 })
        let store = try PlanStore.open(try storeLocation(db!), readOnly: true)
        defer { store.close() }
        let name = populationStructure!
        let rows = try store.dvhCurves(structure: name)
        guard !rows.isEmpty else {
            throw SBRTError(.structureNotFound, "no stored plan has a structure named \"\(name)\"", file: store.location.description)
        }
        let all = try PopulationDVH.bands(rows, by: by)
        // The most plans first when some must be left out; the drawn ones keep their order.
        let keep = Set(all.indices.sorted { all[$0].plans > all[$1].plans || (all[$0].plans == all[$1].plans && $0 < $1) }
            .prefix(Self.bandColours.count))
        let bands = all.indices.filter { keep.contains($0) }.map { all[$0] }
        let left = all.indices.filter { !keep.contains($0) }.map { "\(all[$0].group) (n = \(all[$0].plans))" }
        if !left.isEmpty {
            printError("note: \(all.count) groups; the \(bands.count) with the most plans are drawn, each in its own colour; not drawn: \(left.joined(separator: ", "))")
        }
        let drawn = bands.enumerated().map { n, b in
            DVHBand(name: "\(by == .none ? name : b.group) (n = \(b.plans))", colour: Self.bandColours[n],
                    doseGy: b.doseGy, lowerPercent: b.q1Percent, medianPercent: b.medianPercent, upperPercent: b.q3Percent)
        }
        let w = size ?? 1000, h = Int((Double(size ?? 1000) * 0.72).rounded())
        let title = "\(name): median and inter-quartile range of \(rows.count) plan(s)" + (by == .none ? "" : " by \(by.rawValue)")
        let scene = DVHPlot.populationScene(drawn, width: w, height: h, title: title)
        var outputs = OutputFiles()
        let source = "sbrt \(SBRT.version) render --population; \(rows.count) plan(s) from \(store.location.description)"
        if let out { outputs.add(try PNGEncoder.encode(scene.raster(), text: [("Source", source), ("Description", title)]), to: out) }
        if let svg { outputs.add(scene.svg(), to: svg) }
        try outputs.commit()
        for file in [out, svg].compactMap({ $0 }) { print("\(file): population DVH of \(name), \(bands.count) group(s), \(rows.count) plan(s)") }
    }
}

extension PopulationDVH.Grouping: ExpressibleByArgument {}
