import Base
import DICOM
import Dosimetry
import Foundation
import Geometry
import RTModel
import TestSupport
import VoxelKit
import XCTest

final class RadiobiologyTests: XCTestCase {
    // MARK: Worked values (BED and EQD2 worked by hand from the LQ formulas)

    func testWorkedValuesAreExact() {
        XCTAssertEqual(Radiobiology.bed(totalGy: 40, fractions: 5, alphaBeta: 10), 72, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.eqd(totalGy: 40, fractions: 5, alphaBeta: 10), 60, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.bed(totalGy: 30, fractions: 5, alphaBeta: 2), 120, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.eqd(totalGy: 30, fractions: 5, alphaBeta: 2), 60, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.bed(totalGy: 30, fractions: 5, alphaBeta: 10), 48, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.eqd(totalGy: 30, fractions: 5, alphaBeta: 10), 40, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.bed(totalGy: 35, fractions: 5, alphaBeta: 10), 59.5, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.bed(totalGy: 30, fractions: 6, alphaBeta: 10), 45, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.eqd(totalGy: 30, fractions: 6, alphaBeta: 10), 37.5, accuracy: 1e-12)
        XCTAssertEqual(Radiobiology.bed(totalGy: 54, fractions: 30, alphaBeta: 10), 63.72, accuracy: 1e-12)
        // EQD2 of 2 Gy fractions is the physical dose.
        XCTAssertEqual(Radiobiology.eqd(totalGy: 60, fractions: 30, alphaBeta: 3), 60, accuracy: 1e-12)
    }

    func testLQLinearEqualsLQBelowTransitionAndIsLinearAbove() {
        // Below d_T: unchanged.
        XCTAssertEqual(Radiobiology.bed(totalGy: 30, fractions: 5, alphaBeta: 3, linearAboveGy: 8),
                       Radiobiology.bed(totalGy: 30, fractions: 5, alphaBeta: 3), accuracy: 1e-12)
        // Above: n[d_T(1 + d_T/ab) + (d − d_T)(1 + 2d_T/ab)], 3 × 20 Gy, d_T 10, ab 10.
        let dT = 10.0, d = 20.0, ab = 10.0
        let perFraction: Double = dT * (1 + dT / ab) + (d - dT) * (1 + 2 * dT / ab)
        let expected: Double = 3 * perFraction
        XCTAssertEqual(Radiobiology.bed(totalGy: 60, fractions: 3, alphaBeta: 10, linearAboveGy: 10), expected, accuracy: 1e-12)
        // Continuous at the transition, and below LQ above it.
        let at = Radiobiology.bed(totalGy: 30, fractions: 3, alphaBeta: 10, linearAboveGy: 10)
        XCTAssertEqual(at, Radiobiology.bed(totalGy: 30, fractions: 3, alphaBeta: 10), accuracy: 1e-12)
        XCTAssertLessThan(Radiobiology.bed(totalGy: 60, fractions: 3, alphaBeta: 10, linearAboveGy: 10),
                          Radiobiology.bed(totalGy: 60, fractions: 3, alphaBeta: 10))
    }

    // MARK: Kernel: SIMD/multi-core against the scalar reference

    func randomDoses(_ n: Int, seed: UInt64, max: Float) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(g.next01()) * max }
    }

    func testKernelAgreesWithScalarReferenceForEveryQuantityAndModel() {
        let n = 100_003   // not a multiple of 8: exercises the tail
        let a = randomDoses(n, seed: 1, max: 60), b = randomDoses(n, seed: 2, max: 45)
        let ab = randomDoses(n, seed: 3, max: 9).map { $0 + 1 }
        for quantity in DoseQuantity.allCases {
            for linear in [nil, 6.0] {
                for useMap in [false, true] {
                    for recovery in [Recovery.none, .fraction(0.25)] {
                        var fast = [Float](repeating: 0, count: n), slow = fast
                        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in ab.withUnsafeBufferPointer { pab in
                            let terms = [CompositeTerm(dose: pa, fractions: 10, recovery: recovery), CompositeTerm(dose: pb, fractions: 3)]
                            let field: AlphaBetaField = useMap ? .map(pab) : .uniform(2.5)
                            fast.withUnsafeMutableBufferPointer { CompositeKernel.sum(quantity, terms, alphaBeta: field, linearAboveGy: linear, into: $0) }
                            slow.withUnsafeMutableBufferPointer { CompositeKernel.sumReference(quantity, terms, alphaBeta: field, linearAboveGy: linear, into: $0) }
                        } } }
                        var worst: Float = 0
                        for i in 0..<n { worst = max(worst, abs(fast[i] - slow[i]) / max(1, slow[i])) }
                        XCTAssertLessThan(worst, 2e-6, "\(quantity) linear \(String(describing: linear)) map \(useMap) \(recovery)")
                    }
                }
            }
        }
    }

    /// The kernel over a few boxes only: every voxel in them is the whole kernel's, to the
    /// bit (the same chunks and SIMD blocks, on a grid whose chunks end mid-block), no
    /// other voxel is written, and the maximum is the whole map's.
    func testKernelOverBoxesEqualsTheWholeKernelThereAndGivesItsMaximum() {
        let size = SIMD3(37, 29, 280), n = size.x * size.y * size.z
        let a = randomDoses(n, seed: 4, max: 60), b = randomDoses(n, seed: 5, max: 45)
        let ab = randomDoses(n, seed: 6, max: 9).map { $0 + 1 }
        let boxes = [VoxelBox(lo: SIMD3(3, 2, 10), hi: SIMD3(20, 11, 90)), VoxelBox(lo: SIMD3(15, 0, 80), hi: SIMD3(36, 28, 140)),
                     VoxelBox(lo: SIMD3(0, 28, 279), hi: SIMD3(36, 28, 279))]
        let rows = VoxelRows(boxes, in: size)
        func inside(_ v: Int) -> Bool {
            let i = v % size.x, r = v / size.x
            return rows.rows[r].contains(i)
        }
        XCTAssertTrue(inside(10 + 37 * (5 + 29 * 50)))
        XCTAssertFalse(inside(30 + 37 * (5 + 29 * 50)))
        for quantity in DoseQuantity.allCases {
            for (useMap, recovery) in [(false, Recovery.none), (true, .fraction(0.25)), (true, .jonesGrant(toleranceBED: 100, r: 0.5))] {
                var whole = [Float](repeating: 0, count: n), part = [Float](repeating: -7, count: n)
                var largest: Float = 0
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in ab.withUnsafeBufferPointer { pab in
                    let terms = [CompositeTerm(dose: pa, fractions: 5, recovery: recovery), CompositeTerm(dose: pb, fractions: 3)]
                    let field: AlphaBetaField = useMap ? .map(pab) : .uniform(3)
                    whole.withUnsafeMutableBufferPointer { CompositeKernel.sum(quantity, terms, alphaBeta: field, linearAboveGy: 6, into: $0) }
                    largest = part.withUnsafeMutableBufferPointer { CompositeKernel.sum(quantity, terms, alphaBeta: field, linearAboveGy: 6, into: $0, only: rows) }
                } } }
                let label = "\(quantity) map \(useMap) \(recovery)"
                XCTAssertEqual(largest, whole.max()!, label)
                var mismatches = 0, written = 0
                for v in 0..<n {
                    if inside(v) { if part[v].bitPattern != whole[v].bitPattern { mismatches += 1 } } else if part[v] != -7 { written += 1 }
                }
                XCTAssertEqual(mismatches, 0, label)
                XCTAssertEqual(written, 0, label)
            }
        }
        var poisoned = randomDoses(n, seed: 7, max: 10)
        poisoned[n - 3] = .nan
        var out = [Float](repeating: 0, count: n)
        let m = poisoned.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { CompositeKernel.sum(.physical, [CompositeTerm(dose: p, fractions: 1)], alphaBeta: .uniform(3), into: $0, only: rows) }
        }
        XCTAssertTrue(m.isNaN, "a NaN anywhere makes the maximum NaN")
    }

    func testKernelUsesEachVoxelsOwnDosePerFraction() {
        // Two voxels of one course: 40 Gy and 20 Gy in 5 fx, α/β 10 → EQD2 60 and 23.33.
        let d: [Float] = [40, 20]
        var out = [Float](repeating: 0, count: 2)
        d.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { CompositeKernel.sum(.eqd2, [CompositeTerm(dose: p, fractions: 5)], alphaBeta: .uniform(10), into: $0) }
        }
        XCTAssertEqual(Double(out[0]), 60, accuracy: 1e-5)
        XCTAssertEqual(Double(out[1]), 20 * (4 + 10) / 12.0, accuracy: 1e-5)
    }

    func testJonesGrantRecoveryFollowsTheFormulaAndOnlyInsideItsRange() {
        let r = Recovery.jonesGrant(toleranceBED: 100, r: 2)
        XCTAssertEqual(r.effectiveBED(50, alphaBeta: 2), 100 * (1 - pow(0.5, 1.0 / 3)), accuracy: 1e-12)
        XCTAssertEqual(r.effectiveBED(120, alphaBeta: 2), 120)   // outside 0 < BED/BED_tol < 1: unchanged
        // A cord model at α/β 2 Gy: elsewhere the course counts in full (issue 11).
        XCTAssertEqual(r.effectiveBED(50, alphaBeta: 3), 50)
        XCTAssertEqual(Recovery.fraction(0.25).effectiveBED(40, alphaBeta: 3), 30, accuracy: 1e-12)
        // The intervals its curves were fitted on: 1 to 3 years.
        XCTAssertEqual(RecoveryModel.jonesGrantFittedDays, 365...1096)
        XCTAssertEqual(RecoveryModel.simple.recovery(intervalDays: 100, toleranceBED: nil), .none)
        XCTAssertEqual(RecoveryModel.simple.recovery(intervalDays: 200, toleranceBED: nil), .fraction(0.25))
        XCTAssertEqual(RecoveryModel.simple.recovery(intervalDays: 400, toleranceBED: nil), .fraction(0.5))
        if case .jonesGrant(_, let rr) = RecoveryModel.jonesGrant.recovery(intervalDays: 365, toleranceBED: 100) {
            XCTAssertEqual(rr, 1.5 + exp(1.2 * (365 / 365.25 - 1)), accuracy: 1e-12)
        } else { XCTFail("expected Jones-Grant") }
    }

    // MARK: Resampling

    func testResamplerMatchesReferenceThroughObliqueGridsAndRotation() throws {
        let src = Grid(size: SIMD3(20, 18, 12), origin: Vec3(-20, -15, -10), spacing: Vec3(2, 2.5, 3))
        var g = SplitMix64(seed: 9)
        let vol = Volume(grid: src, voxels: (0..<src.count).map { _ in Float(g.next01() * 10) })
        let c = cos(0.3), s = sin(0.3)
        let target = Grid(size: SIMD3(15, 14, 9), origin: Vec3(-12, -10, -8), spacing: Vec3(2.2, 2.1, 2.7),
                          axisI: Vec3(c, s, 0), axisJ: Vec3(-s, c, 0), axisK: Vec3(0, 0, -1))
        let t = try RigidTransform([cos(0.1), -sin(0.1), 0, 3, sin(0.1), cos(0.1), 0, -2, 0, 0, 1, 1, 0, 0, 0, 1])
        let fast = Resampler.resample(vol, onto: target, sourceFromTarget: t)
        let slow = Resampler.resampleReference(vol, onto: target, sourceFromTarget: t)
        XCTAssertEqual(fast.outsideCount, slow.outsideCount)
        XCTAssertGreaterThan(fast.outsideCount, 0)
        for i in 0..<target.count { XCTAssertEqual(fast.volume.voxels[i], slow.volume.voxels[i], accuracy: 1e-4) }
    }

    func testResamplingALinearFieldIsExactAndSameGridIsACopy() throws {
        let src = Grid(size: SIMD3(10, 10, 10), origin: Vec3(0, 0, 0), spacing: Vec3(3, 3, 3))
        var voxels = [Float](repeating: 0, count: src.count)
        for k in 0..<10 { for j in 0..<10 { for i in 0..<10 {
            let p = src.position(Double(i), Double(j), Double(k))
            voxels[src.linearIndex(i, j, k)] = Float(1 + 0.1 * p.x + 0.2 * p.y - 0.05 * p.z)
        } } }
        let vol = Volume(grid: src, voxels: voxels)
        let target = Grid(size: SIMD3(8, 8, 8), origin: Vec3(2.2, 3.1, 1.7), spacing: Vec3(2.9, 2.9, 2.9))
        let t = RigidTransform.translation(Vec3(0.4, -0.3, 0.2))
        let r = Resampler.resample(vol, onto: target, sourceFromTarget: t)
        XCTAssertEqual(r.outsideCount, 0)
        for k in 0..<8 { for j in 0..<8 { for i in 0..<8 {
            let p = t.apply(target.position(Double(i), Double(j), Double(k)))
            XCTAssertEqual(Double(r.volume[i, j, k]), 1 + 0.1 * p.x + 0.2 * p.y - 0.05 * p.z, accuracy: 1e-4)
        } } }
        let same = Resampler.resample(vol, onto: src)
        XCTAssertTrue(same.copied)
        XCTAssertEqual(same.volume.voxels, voxels)
    }

    func testRigidTransformInverseAndComposition() throws {
        let t = try RigidTransform([0, -1, 0, 5, 1, 0, 0, -3, 0, 0, 1, 2, 0, 0, 0, 1])
        XCTAssertTrue(t.isRigid())
        let p = Vec3(1.5, -2, 7)
        XCTAssertEqual(length(t.inverse.apply(t.apply(p)) - p), 0, accuracy: 1e-12)
        XCTAssertTrue(t.inverse.composed(after: t).isIdentity || length(t.inverse.composed(after: t).apply(p) - p) < 1e-12)
        XCTAssertThrowsError(try RigidTransform([1, 0, 0]))
        XCTAssertThrowsError(try RigidTransform([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1]))
    }

    // MARK: α/β map

    func square(_ name: String, _ lo: Double, _ hi: Double, planes: [Double]) -> PlanarShape {
        PlanarShape(name: name, frame: .patient, planes: planes.map {
            PlanarShape.Plane(w: $0, polygons: [[SIMD2(lo, lo), SIMD2(hi, lo), SIMD2(hi, hi), SIMD2(lo, hi)]])
        })
    }

    func testAlphaBetaMapLowestWinsOnOverlapAndDefaultElsewhere() {
        let grid = Grid(size: SIMD3(10, 10, 5), origin: Vec3(0, 0, 0), spacing: Vec3(1, 1, 1))
        let cord = square("Cord", 1.5, 5.5, planes: [1, 2, 3])       // voxels 2…5 in x and y, z 1…3 (prism ± 0.5)
        let gtv = square("GTV", 3.5, 8.5, planes: [1, 2, 3])
        for order in [[(cord, 2.0), (gtv, 10.0)], [(gtv, 10.0), (cord, 2.0)]] {
            let m = AlphaBetaMap.build(grid: grid, defaultAlphaBeta: 3,
                                       assignments: order.map { AlphaBetaMap.Assignment(shape: $0.0, alphaBeta: $0.1) }, sliceSpacing: 1)
            XCTAssertEqual(m.values[grid.linearIndex(4, 4, 2)], 2)     // overlap: cord's 2 wins over 10
            XCTAssertEqual(m.values[grid.linearIndex(7, 7, 2)], 10)    // GTV only
            XCTAssertEqual(m.values[grid.linearIndex(2, 2, 2)], 2)     // cord only
            XCTAssertEqual(m.values[grid.linearIndex(0, 0, 2)], 3)     // neither: default
            XCTAssertEqual(m.values[grid.linearIndex(4, 4, 4)], 3)     // beyond the end cap (3 + 0.5)
            XCTAssertEqual(m.voxelCounts[order[0].0.name == "Cord" ? 0 : 1], 16 * 3)
        }
    }

    // MARK: Flags and names

    func testStructureNamesAreClassified() {
        XCTAssertTrue(StructureClass(name: "SpinalCord").cord)
        XCTAssertTrue(StructureClass(name: "Spinal_Cord").cns)
        XCTAssertTrue(StructureClass(name: "CaudaEquina").cord)
        XCTAssertTrue(StructureClass(name: "Brainstem").cns)
        XCTAssertFalse(StructureClass(name: "Brainstem").cord)
        XCTAssertFalse(StructureClass(name: "SpinalCord_PRV03").cns)
        XCTAssertFalse(StructureClass(name: "SpinalCord_PRV03").organ)
        XCTAssertTrue(StructureClass(name: "T11").vertebra)
        XCTAssertTrue(StructureClass(name: "L3_VB").vertebra)
        XCTAssertTrue(StructureClass(name: "Vertebra_L1").vertebra)
        XCTAssertFalse(StructureClass(name: "Liver").vertebra)
        // Issue 11: the thecal sac is its own class (Sahgal 2012 scored it), not the cord.
        XCTAssertTrue(StructureClass(name: "Thecal_Sac").thecalSac && StructureClass(name: "Thecal_Sac").cns)
        XCTAssertFalse(StructureClass(name: "ThecalSac").cord)
        // Issue 11: plexuses, optic apparatus and nerve roots are CNS (α/β 2 Gy by default);
        // names are read through StructureName.key (laterality, case, punctuation).
        for name in ["SacralPlexus", "BrachialPlex_L", "Lt Brachial Plexus", "LUMBOSACRAL-PLEXUS-RIGHT", "OpticNrv_R", "Optic Chiasm",
                     "Cauda", "Hippocampus_L", "SpinalCanal", "Sacral_Nerve_Roots"] {
            XCTAssertTrue(StructureClass(name: name).cns, name)
        }
        for name in ["Rectum", "Esophagus", "Lung_L", "Parotid_R", "Bladder"] { XCTAssertFalse(StructureClass(name: name).cns, name) }
        // Organs: not targets, not the external contour, not non-anatomical types.
        XCTAssertTrue(StructureClass(name: "Esophagus", interpretedType: "ORGAN").organ)
        XCTAssertTrue(StructureClass(name: "Rectum").organ)
        XCTAssertFalse(StructureClass(name: "GTV_T10", interpretedType: "ORGAN").organ)
        XCTAssertFalse(StructureClass(name: "Boost", interpretedType: "PTV").organ)
        XCTAssertTrue(StructureClass(name: "Boost", interpretedType: "PTV").target)
        XCTAssertFalse(StructureClass(name: "BODY", interpretedType: "ORGAN").organ)
        XCTAssertFalse(StructureClass(name: "Couch", interpretedType: "SUPPORT").organ)
    }

    func testFlagsFollowTheCitedThresholds() {
        let d1 = CourseSpec.parseDate("2025-03-02")!, d2 = CourseSpec.parseDate("2025-07-15")!
        let courses = [FlagCourseInput(label: "prior", fractions: 10, date: d1), FlagCourseInput(label: "sbrt", fractions: 3, date: d2)]
        // Cord: 30 Gy/10 fx → BED₂ 75; SBRT 3 × 8 Gy → BED₂ 120 (> 98); sum of maxima 195 (> 135.5, ≤ 200);
        // the voxel-wise cumulative maximum (150) is reported beside it.
        let cord = FlagStructureInput(name: "SpinalCord", kind: StructureClass(name: "SpinalCord"),
                                      courseBED2Max: [75, 120], cumulativeBED2Max: 150, coursePhysicalMax: [30, 24])
        let vb = FlagStructureInput(name: "T11", kind: StructureClass(name: "T11"), courseBED2Max: [30, 50], cumulativeBED2Max: 70,
                                    coursePhysicalMax: [30, 72])
        let flags = CompositeFlags.evaluate(structures: [cord, vb], courses: courses)
        func flag(_ rule: String, _ course: String? = nil, _ structure: String = "SpinalCord") -> CompositeFlag? {
            flags.first { $0.rule == rule && (course == nil || $0.course == course) && ($0.structure == nil || $0.structure == structure) }
        }
        XCTAssertEqual(flag("interval-6-months")?.exceeded, true)           // 4.4 months
        XCTAssertEqual(flag("chandy2020-cumulative-bed2-200")?.exceeded, false)
        XCTAssertEqual(flag("chandy2020-cumulative-bed2-200")?.value ?? 0, 195, accuracy: 1e-9)
        XCTAssertEqual(flag("chandy2020-cumulative-bed2-200")?.voxelWiseValue ?? 0, 150, accuracy: 1e-9)
        XCTAssertTrue(flag("chandy2020-cumulative-bed2-200")!.status.contains("[NV]"))
        XCTAssertEqual(flag("nieder2006-cumulative-bed2")?.exceeded, true)
        XCTAssertEqual(flag("nieder2006-cumulative-bed2")?.value ?? 0, 195, accuracy: 1e-9)
        XCTAssertEqual(flag("nieder2006-course-bed2", "prior")?.exceeded, false)
        XCTAssertEqual(flag("nieder2006-course-bed2", "sbrt")?.exceeded, true)
        // No thecal sac evaluated: Sahgal's rules on the cord, said so.
        XCTAssertEqual(flag("sahgal2012-cumulative-nbed")?.value ?? 0, 97.5, accuracy: 1e-9)
        XCTAssertEqual(flag("sahgal2012-cumulative-nbed")?.voxelWiseValue ?? 0, 75, accuracy: 1e-9)
        XCTAssertTrue(flag("sahgal2012-cumulative-nbed")!.status.contains("no thecal sac"))
        XCTAssertEqual(flag("sahgal2012-sbrt-course-nbed")?.exceeded, true)    // 60 > 25
        XCTAssertEqual(flag("sahgal2012-sbrt-share")?.value ?? 0, 100 * 60 / 97.5, accuracy: 1e-9)
        XCTAssertEqual(flag("sahgal2012-interval")?.exceeded, true)         // < 5 months
        XCTAssertEqual(flag("sahgal2013-vertebra-dose-per-fraction", "prior", "T11")?.exceeded, false)  // 3 Gy/fx
        XCTAssertEqual(flag("sahgal2013-vertebra-dose-per-fraction", "sbrt", "T11")?.exceeded, true)    // 24 Gy/fx (≥)
        for f in flags where f.rule != "interval-unknown" {
            XCTAssertFalse(f.source.isEmpty, f.rule)
            XCTAssertTrue(f.status.contains("[V]") || f.status.contains("[NV]") || f.status.contains("[S]"), f.rule)
        }
    }

    /// Issue 11: Sahgal's limits on the thecal sac when one is evaluated (never on the cord
    /// then), Nieder's on the cord; Chandy's cumulative BED₂ on every organ, not on targets.
    func testEachRuleOnTheStructuresItWasDefinedOn() {
        let courses = [FlagCourseInput(label: "prior", fractions: 10, date: nil), FlagCourseInput(label: "sbrt", fractions: 1, date: nil)]
        func input(_ name: String, _ type: String?, _ maxima: [Double], _ voxelWise: Double) -> FlagStructureInput {
            FlagStructureInput(name: name, kind: StructureClass(name: name, interpretedType: type), courseBED2Max: maxima,
                               cumulativeBED2Max: voxelWise, coursePhysicalMax: [0, 0])
        }
        let flags = CompositeFlags.evaluate(structures: [input("SpinalCord", "ORGAN", [75, 71.5], 87), input("ThecalSac", "ORGAN", [91.8, 97.5], 189.3),
                                                         input("Esophagus", "ORGAN", [175, 84], 259), input("PTV", "PTV", [175, 220], 395)],
                                            courses: courses)
        func on(_ rule: String) -> [String] { flags.filter { $0.rule == rule }.compactMap(\.structure) }
        XCTAssertEqual(on("sahgal2012-cumulative-nbed"), ["ThecalSac"])
        XCTAssertEqual(on("nieder2006-cumulative-bed2"), ["SpinalCord"])
        XCTAssertEqual(on("chandy2020-cumulative-bed2-200"), ["SpinalCord", "ThecalSac", "Esophagus"])
        let eso = flags.first { $0.rule == "chandy2020-cumulative-bed2-200" && $0.structure == "Esophagus" }!
        XCTAssertTrue(eso.exceeded)
        XCTAssertEqual(eso.value ?? 0, 259, accuracy: 1e-9)
        let cord = flags.first { $0.rule == "nieder2006-cumulative-bed2" }!
        XCTAssertTrue(cord.exceeded)                          // 146.5 summed > 135.5 …
        XCTAssertEqual(cord.voxelWiseValue ?? 0, 87, accuracy: 1e-9)   // … though no voxel exceeds 87
        XCTAssertTrue(flags.contains { $0.rule == "interval-unknown" })
    }

    func testCourseSpecParsesOptionsAndRejectsBadOnes() throws {
        let s = try CourseSpec.parse("prior/RD.dcm:fractions=10:date=2025-03-02:label=p")
        XCTAssertEqual(s.path, "prior/RD.dcm")
        XCTAssertEqual(s.fractions, 10)
        XCTAssertEqual(s.date, "2025-03-02")
        XCTAssertEqual(s.label, "p")
        XCTAssertEqual(try CourseSpec.parse("current/").path, "current/")
        let t = try CourseSpec.parse("prior:per-session:plan=PLAN_B")
        XCTAssertEqual(t.path, "prior")
        XCTAssertTrue(t.perSessionDose)
        XCTAssertEqual(t.plan, "PLAN_B")
        XCTAssertFalse(try CourseSpec.parse("prior").perSessionDose)
        XCTAssertThrowsError(try CourseSpec.parse("x:per-session=yes"))
        XCTAssertThrowsError(try CourseSpec.parse("x:fractions=0"))
        XCTAssertThrowsError(try CourseSpec.parse("x:date=2025-02-30"))
        XCTAssertThrowsError(try CourseSpec.parse("x:color=red"))
    }

    // MARK: RT Dose writer

    func testWriterQuantisesBelowOneTenThousandthOfMaxAndRoundTrips() throws {
        let grid = Grid(size: SIMD3(7, 5, 4), origin: Vec3(-10, 20, 5), spacing: Vec3(2, 3, 2.5),
                        axisI: Vec3(1, 0, 0), axisJ: Vec3(0, 1, 0), axisK: Vec3(0, 0, -1))
        var g = SplitMix64(seed: 4)
        let values = (0..<grid.count).map { _ in Float(g.next01() * 123.4) }
        let q = DoseWriter.quantise(values)
        let maxV = Double(values.max()!)
        for (a, b) in zip(values, q.dequantised) { XCTAssertLessThan(abs(Double(a) - Double(b)), 1e-4 * maxV) }
        var template = DataSet()
        template.set(.patientName, .PN, "Test^Patient")
        template.set(.patientID, .LO, "T1")
        let ds = try DoseWriter.dataSet(grid: grid, quantised: q, template: template, frameOfReferenceUID: "1.2.3",
                                        description: .init(doseType: "EFFECTIVE", summationType: "MULTI_PLAN", seriesDescription: "s",
                                                           doseComment: "EQD2 a/b 3 Gy, no recovery", imageComments: "c", referencedPlanUIDs: ["1.2.4"]))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-writer-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rd.dcm").path
        try DoseWriter.write(ds, to: path)
        let back = try DoseGrid(file: try DICOMFile.read(path: path))
        XCTAssertEqual(back.doseType, "EFFECTIVE")
        XCTAssertEqual(back.summationType, "MULTI_PLAN")
        XCTAssertTrue(Resampler.sameLattice(back.grid, grid))
        XCTAssertEqual(back.grid.axisK, Vec3(0, 0, -1))
        XCTAssertEqual(try back.loadDose().voxels, q.dequantised)
        XCTAssertEqual(back.file.dataSet.string(.doseComment), "EQD2 a/b 3 Gy, no recovery")
    }
}


extension RadiobiologyTests {
    /// α/β enters the library checked: positive and finite (an infinite one made NaN EQD2
    /// maps), for the default and for a structure.
    func testAlphaBetaMustBeAPositiveFiniteNumber() throws {
        let pelvis = GammaFixtureTests.root.appendingPathComponent("Fixtures/pelvis").path
        for (defaultAB, structureAB) in [(Double.infinity, 3.0), (.nan, 3), (-1, 3), (3, .infinity), (3, .nan), (3, 0)] {
            var r = CompositeRequest()
            r.courses = [CourseSpec(path: pelvis, fractions: 5)]
            r.structuresPath = pelvis
            r.defaultAlphaBeta = defaultAB
            r.structureAlphaBeta = [("GTV", structureAB)]
            XCTAssertThrowsError(try Composite.run(r), "\(defaultAB) \(structureAB)") { e in
                XCTAssertEqual((e as? SBRTError)?.kind, .invalidRequest)
            }
        }
    }
}
