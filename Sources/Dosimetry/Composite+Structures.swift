import Base
import Foundation
import Geometry
import RTModel
import VoxelKit

extension Composite {
    /// The structure set on the reference frame, its plane frame, shapes and slice spacing.
    struct StructureContext {
        var structureSet: StructureSet?
        var frame = PlaneFrame.patient
        var shapes: [PlanarShape] = []
        var sliceSpacing = 1.0

        func shape(_ roi: ROI) -> PlanarShape? { shapes.first { $0.name == roi.name } }
    }

    /// The structures study's structure set (with its images' plane frame), which must lie
    /// on the reference frame of reference.
    static func structureContext(_ study: ResolvedStudy?, frameOfReferenceUID foR: String) throws -> StructureContext {
        var out = StructureContext()
        guard let study, let ss = study.structureSet else { return out }
        guard foR.isEmpty || ss.frameOfReferenceUIDs.isEmpty || ss.frameOfReferenceUIDs.contains(foR) else {
            throw SBRTError(.frameOfReference, "the structure set \(ss.label ?? ss.sopInstanceUID) is on frame of reference \(ss.frameOfReferenceUIDs.joined(separator: ", ")), the reference grid on \(foR)", file: ss.path)
        }
        out.structureSet = ss
        out.frame = study.images.map { PlaneFrame(grid: $0.grid) } ?? .patient
        out.shapes = ss.rois.map { PlanarShape(roi: $0, frame: out.frame) }
        out.sliceSpacing = study.images?.grid.spacing.z ?? DVHAnalysis.medianGap(out.shapes) ?? 1
        return out
    }

    // MARK: α/β

    /// One structure's α/β and why.
    struct AlphaBetaAssignment {
        var roi: ROI
        var shape: PlanarShape
        var alphaBeta: Double
        var source: AlphaBetaSource
    }

    /// The α/β map and what each structure got.
    struct AlphaBetaPlan {
        var map: AlphaBetaMap.Result?
        var infos: [CompositeReport.StructureAlphaBeta]

        /// The α/β assigned to a structure and its source (the default when none was).
        func assigned(_ name: String, default d: Double) -> (Double, AlphaBetaSource) {
            infos.first { $0.name == name }.map { ($0.alphaBetaGy, $0.source) } ?? (d, .globalDefault)
        }
    }

    /// The user's structure α/β values, then every CNS-named structure the user did not
    /// set at `cnsAlphaBetaGy` (when below the default).
    static func alphaBetaAssignments(_ request: CompositeRequest, _ structures: StructureContext) throws -> [AlphaBetaAssignment] {
        guard let ss = structures.structureSet else {
            if request.structureAlphaBeta.isEmpty { return [] }
            throw SBRTError(.noStructureSet, "α/β values for structures need a structure set on the reference frame of reference")
        }
        var out: [AlphaBetaAssignment] = []
        for (name, ab) in request.structureAlphaBeta {
            guard ab > 0, ab.isFinite else { throw SBRTError(.invalidRequest, "α/β of \(name) must be a positive number, got \(ab)") }
            guard let roi = ss.roi(named: name) else {
                throw SBRTError(.structureNotFound, "no ROI named \"\(name)\" to give an α/β (structures: \(ss.rois.map(\.name).joined(separator: ", ")))", file: ss.path)
            }
            guard let shape = structures.shape(roi), !shape.planes.isEmpty else {
                throw SBRTError(.emptyStructure, "ROI \(roi.name) has no closed contours; it cannot carry an α/β", file: ss.path)
            }
            out.append(.init(roi: roi, shape: shape, alphaBeta: ab, source: .user))
        }
        guard request.defaultAlphaBeta > cnsAlphaBetaGy else { return out }
        for roi in ss.rois where StructureClass(name: roi.name, interpretedType: roi.interpretedType).cns && !out.contains(where: { $0.roi.name == roi.name }) {
            guard let shape = structures.shape(roi), !shape.planes.isEmpty else { continue }
            out.append(.init(roi: roi, shape: shape, alphaBeta: cnsAlphaBetaGy, source: .cnsDefault))
        }
        return out
    }

    /// The per-voxel α/β map (nil when no structure carries its own) and its report entries.
    static func alphaBetaMap(_ request: CompositeRequest, _ structures: StructureContext, grid: Grid,
                             _ warnings: inout [String]) throws -> AlphaBetaPlan {
        let assignments = try alphaBetaAssignments(request, structures)
        guard !assignments.isEmpty else { return AlphaBetaPlan(map: nil, infos: []) }
        let m = AlphaBetaMap.build(grid: grid, defaultAlphaBeta: request.defaultAlphaBeta,
                                   assignments: assignments.map { .init(shape: $0.shape, alphaBeta: $0.alphaBeta) }, sliceSpacing: structures.sliceSpacing)
        var infos: [CompositeReport.StructureAlphaBeta] = []
        for (n, a) in assignments.enumerated() {
            infos.append(.init(name: a.roi.name, alphaBetaGy: a.alphaBeta, source: a.source, voxels: m.voxelCounts[n], voxelsWhereUsed: m.winningCounts[n]))
            if m.voxelCounts[n] == 0 && a.source == .user { warnings.append("no voxel centre of the reference grid lies inside \(a.roi.name): its α/β is not used") }
        }
        return AlphaBetaPlan(map: m, infos: infos)
    }

    // MARK: Per-structure report

    /// The report's dose maps on the reference grid: per course physical, EQD2 and BED (no
    /// recovery), the cumulative EQD2 and BED (with recovery; the output quantity is the
    /// written, quantised map) and, when an organ is reported, the cumulative BED at
    /// α/β = 2 without recovery (the flags' voxel-wise maximum).
    struct ReportFields {
        var fields: [DoseField] = []
        /// The `CourseCoverage` maps (covered, edge) of the courses that have one, in pairs.
        var coverageFields: [DoseField] = []
        /// Per course: the index of its covered map in `coverageFields` (its edge map next), or nil.
        var coverageSlot: [Int?] = []
        let courses: Int

        /// The maps, each but the written one and the physical ones computed only in
        /// `boxes`, the voxels the report's structures read.
        init(_ request: CompositeRequest, _ maps: DoseMaps, written volume: Volume<Float>, recoveries: [Recovery],
             coverage: [CourseCoverage?], bed2: Bool, physical: [DoseField], boxes: [VoxelBox]) {
            let n = maps.courses.count, all = Array(0..<n), none = [Recovery](repeating: .none, count: n)
            let grid = volume.grid, rows = VoxelRows(boxes, in: grid.size)
            func map(_ q: DoseQuantity, _ which: [Int], _ recs: [Recovery], alphaBeta: Double? = nil) -> DoseField {
                maps.compute(q, which, recs, alphaBeta: alphaBeta, only: boxes, rows: rows, grid: grid)
            }
            courses = n
            for i in all {
                fields.append(physical[i])
                fields.append(map(.eqd2, [i], none))
                fields.append(map(.bed, [i], none))
            }
            fields.append(request.quantity == .eqd2 ? DoseField(volume) : map(.eqd2, all, recoveries))
            fields.append(request.quantity == .bed ? DoseField(volume) : map(.bed, all, recoveries))
            if bed2 { fields.append(map(.bed, all, none, alphaBeta: 2)) }
            for c in coverage {
                guard let c else { coverageSlot.append(nil); continue }
                coverageSlot.append(coverageFields.count)
                coverageFields += [DoseField(Volume(grid: grid, voxels: c.covered)), DoseField(Volume(grid: grid, voxels: c.edge))]
            }
        }

        func physical(_ i: Int) -> Int { 3 * i }
        func eqd2(_ i: Int) -> Int { 3 * i + 1 }
        func bed(_ i: Int) -> Int { 3 * i + 2 }
        var cumulativeEQD2: Int { 3 * courses }
        var cumulativeBED: Int { 3 * courses + 1 }
        var cumulativeBED2: Int { 3 * courses + 2 }
        /// The maps a structure needs: all but the α/β = 2 one unless the flags need it,
        /// then the coverage maps.
        func needed(bed2: Bool) -> [DoseField] { (bed2 ? fields : Array(fields[0..<(3 * courses + 2)])) + coverageFields }

        /// Course `i`'s coverage of a structure from its DVHs of `needed(bed2:)`: the
        /// fraction outside the course's grid and the course's dose at that grid's
        /// boundary inside the structure (Gy; nil when no sample lies there).
        func coverage(_ i: Int, _ dvhs: [DVH], bed2: Bool) -> (outside: Double, boundaryGy: Double?) {
            let physical = dvhs[self.physical(i)]
            guard let slot = coverageSlot[i] else { return (physical.outsideFraction, physical.boundaryMaxGy) }
            let base = (bed2 ? fields.count : 3 * courses + 2) + slot
            let outside = min(1, max(0, 1 - dvhs[base].meanGy))
            let atReferenceEdge = physical.outsideFraction > GridCoverageRule.outsideFraction ? physical.boundaryMaxGy : nil
            return (outside, max(dvhs[base + 1].maxGy, atReferenceEdge ?? 0))
        }
    }

    /// The structures to report: those named, or every ROI with closed contours but the EXTERNAL one.
    static func reportStructures(_ request: CompositeRequest, _ ss: StructureSet) throws -> [ROI] {
        if request.reportStructures.isEmpty {
            // Every ROI with closed contours but the EXTERNAL one (its DVHs cost much and say little).
            return ss.rois.filter { r in r.hasClosedContours && !r.isExternal }
        }
        return try request.reportStructures.map { name in
            guard let r = ss.roi(named: name) else {
                throw SBRTError(.structureNotFound, "no ROI named \"\(name)\" (structures: \(ss.rois.map(\.name).joined(separator: ", ")))", file: ss.path)
            }
            return r
        }
    }

    /// Per structure: Dmax, D0.035cc, D1cc and Dmean of every report map, from one DVH pass
    /// over all of them (`DVHEngine.dvhs`), the α/β its voxel centres carry and why, and the
    /// flag inputs of organs, CNS and vertebra structures.
    static func structureReport(_ request: CompositeRequest, _ courses: [LoadedCourse], _ structures: StructureContext, maps: DoseMaps,
                                written volume: Volume<Float>, recoveries: [Recovery], coverage: [CourseCoverage?], alphaBeta: AlphaBetaPlan,
                                _ clock: inout StageClock) throws -> ([CompositeReport.StructureEntry], [FlagStructureInput]) {
        let wanted = try reportStructures(request, structures.structureSet!)
        let classes = wanted.map { StructureClass(name: $0.name, interpretedType: $0.interpretedType) }
        let physical = maps.onReference.map { DoseField(Volume(grid: volume.grid, voxels: $0)) }
        let engine = DVHEngine(frame: structures.frame, sliceSpacing: structures.sliceSpacing, shapes: structures.shapes,
                               dose: physical[0], options: request.dvhOptions)
        let boxes = try wanted.compactMap { try engine.readBox(.roi($0.name), name: $0.name) }
        let f = ReportFields(request, maps, written: volume, recoveries: recoveries, coverage: coverage,
                             bed2: classes.contains { $0.organ || $0.cns }, physical: physical, boxes: boxes)
        clock.lap("report dose maps")
        var entries: [CompositeReport.StructureEntry] = []
        var flagInputs: [FlagStructureInput] = []
        for (roi, cls) in zip(wanted, classes) {
            let bed2 = cls.organ || cls.cns
            let dvhs = try engine.dvhs(.roi(roi.name), name: roi.name, doses: f.needed(bed2: bed2))
            let physicalMax = courses.indices.map { dvhs[f.physical($0)].maxGy }
            let covers = courses.indices.map { f.coverage($0, dvhs, bed2: bed2) }
            func bed2Of(_ d: Double, _ i: Int) -> Double { Radiobiology.bed(totalGy: d, fractions: courses[i].fractions, alphaBeta: 2, linearAboveGy: request.linearAboveGy) }
            var input = FlagStructureInput(
                name: roi.name, kind: cls, courseBED2Max: courses.indices.map { bed2Of(physicalMax[$0], $0) },
                cumulativeBED2Max: bed2 ? dvhs[f.cumulativeBED2].maxGy : 0, coursePhysicalMax: physicalMax)
            input.courseOutsideFraction = covers.map(\.outside)
            input.courseBoundaryGy = covers.map(\.boundaryGy)
            input.courseBoundaryBED2 = courses.indices.map { i in covers[i].boundaryGy.map { bed2Of($0, i) } }
            entries.append(structureEntry(request, courses, roi, cls, dvhs, f, structures, alphaBeta, bed2: bed2 ? input : nil, grid: volume.grid))
            if bed2 || cls.vertebra { flagInputs.append(input) }
        }
        clock.lap("report DVHs")
        return (entries, flagInputs)
    }

    /// One structure's report entry from its DVHs of the report maps.
    static func structureEntry(_ request: CompositeRequest, _ courses: [LoadedCourse], _ roi: ROI, _ cls: StructureClass, _ dvhs: [DVH],
                               _ f: ReportFields, _ structures: StructureContext, _ alphaBeta: AlphaBetaPlan,
                               bed2: FlagStructureInput?, grid: Grid) -> CompositeReport.StructureEntry {
        func metrics(_ k: Int) -> CompositeReport.Metrics {
            CompositeReport.Metrics(dmax: dvhs[k].maxGy, d0035cc: dvhs[k].dose(hottestCC: 0.035), d1cc: dvhs[k].dose(hottestCC: 1), dmean: dvhs[k].meanGy)
        }
        let cms = courses.indices.map { i in
            let outside = f.coverage(i, dvhs, bed2: bed2 != nil).outside
            return CompositeReport.CourseMetrics(label: courses[i].label, physical: metrics(f.physical(i)), eqd2: metrics(f.eqd2(i)), bed: metrics(f.bed(i)),
                                                 outsideGridPercent: 100 * outside, coverage: .of(outsideFraction: outside))
        }
        var abValues: [Double] = [request.defaultAlphaBeta]
        if let m = alphaBeta.map, let shape = structures.shape(roi) {
            let idx = AlphaBetaMap.insideIndices(shape, sliceSpacing: structures.sliceSpacing, grid: grid)
            abValues = idx.isEmpty ? [request.defaultAlphaBeta] : AlphaBetaMap.distinctValues(m.values, at: idx)
        }
        let (assigned, source) = alphaBeta.assigned(roi.name, default: request.defaultAlphaBeta)
        return .init(name: roi.name, volumeCC: dvhs[f.cumulativeEQD2].volumeCC, alphaBetaGy: abValues, alphaBetaAssignedGy: assigned,
                     alphaBetaSource: source, classes: cls, courses: cms,
                     cumulativeEQD2: metrics(f.cumulativeEQD2), cumulativeBED: metrics(f.cumulativeBED),
                     bed2: bed2.map { .init(courseMaxima: $0.courseBED2Max, sumOfMaxima: $0.sumOfMaximaBED2, voxelWiseMax: $0.cumulativeBED2Max) })
    }
}
