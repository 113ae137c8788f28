import Dosimetry
import PlanReview
@testable import Reports
import RTModel
import XCTest

/// The pelvis plan with every dose scaled by a known factor, checked against limits
/// placed at known distances from the scaled values: every verdict and margin is known.
final class PlanCheckTests: XCTestCase {
    func testScaledPlanViolatesKnownConstraintsByKnownAmounts() throws {
        // Baseline values of the unscaled plan.
        let base = try ResolvedStudy.resolve(fixture("pelvis"), StudyRequest())
        var req = DVHRequest()
        req.structures = ["SacralPlexus", "Rectum", "PTV"]
        let a = try DVHAnalysis.run(base, req)
        let sacral = try XCTUnwrap(a.dvhs[0].dose(hottestCC: 0.035)), rectumMax = a.dvhs[1].maxGy
        let rectumVol = a.dvhs[1].volumeCC
        // Scale so the sacral plexus near-maximum lands on 34 Gy: 2 Gy over TG-101's 32 Gy (5 fx).
        let factor = 34.0 / sacral
        let dir = try scaledPelvis(factor, name: "violate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try ResolvedStudy.resolve(dir, StudyRequest())

        let tg = try library().load("tg101")
        let (report, _) = try PlanCheck.run(folder, tg, CheckRequest())
        let row = try XCTUnwrap(report.rows.first { $0.constraint == "D0.035cc[Gy] <= 32" && $0.structure == "SacralPlexus" })
        XCTAssertEqual(row.verdict, .majorDeviation)
        XCTAssertEqual(row.value!, 34, accuracy: 0.02)
        XCTAssertEqual(row.margin!, -2, accuracy: 0.02)
        XCTAssertEqual(row.mark, "[V]")
        XCTAssertEqual(report.fractions, 5)
        XCTAssertTrue(report.notes.contains { $0.contains("5-fraction column") })
        XCTAssertEqual(report.overall, .majorDeviation)

        // A protocol of our own with per-protocol, minor and major rows, a critical volume and a missing required structure.
        let own = """
        [protocol]
        id = "known"
        name = "Known amounts"
        source = "test"
        mark = "[D]"
        [[constraint]]
        structure = "SacralPlexus"
        constraint = "D0.035cc[Gy] <= 33"
        minor = "<= 35"
        [[constraint]]
        structure = "Sacral_Plexus"
        constraint = "D0.035cc[Gy] < 36.5"
        [[constraint]]
        structure = "Rectum"
        constraint = "Dmax[Gy] <= \(rectumMax * factor + 0.5)"
        [[constraint]]
        structure = "Rectum"
        constraint = "CV13.5Gy[cc] >= \(rectumVol + 1)"
        minor = ">= \(rectumVol - 1)"
        [[constraint]]
        structure = "SpinalCord"
        required = true
        constraint = "Dmax[Gy] <= 25.3"
        """
        let path = dir + "/known.toml"
        try own.write(toFile: path, atomically: true, encoding: .utf8)
        let (r2, _) = try PlanCheck.run(folder, try library().load(path), CheckRequest())
        XCTAssertEqual(r2.rows.map(\.verdict), [.minorDeviation, .perProtocol, .perProtocol, .minorDeviation, .notEvaluable])
        XCTAssertEqual(r2.rows[0].margin!, -1, accuracy: 0.02)
        XCTAssertEqual(r2.rows[1].margin!, 2.5, accuracy: 0.02)
        XCTAssertEqual(r2.rows[2].margin!, 0.5, accuracy: 0.02)
        XCTAssertEqual(r2.rows[3].margin!, -1, accuracy: 1e-3, "the whole rectum stays below 13.5 Gy: CV = volume")
        XCTAssertEqual(r2.rows[1].planStructure, "SacralPlexus")
        XCTAssertTrue(r2.rows[4].reason?.contains("required structure SpinalCord not found") == true, r2.rows[4].reason ?? "")
        // The worst deviation is the overall verdict; the missing required structure also makes the review incomplete.
        XCTAssertEqual(r2.overall, .minorDeviation)
        XCTAssertTrue(r2.incomplete.contains { $0.contains("Dmax[Gy] <= 25.3 [SpinalCord]") }, "\(r2.incomplete)")
        XCTAssertFalse(r2.overall.passes)
    }

    func testFractionColumnMustExistAndRTOGTableIsInterpolatedOnThePTV() throws {
        let folder = try ResolvedStudy.resolve(fixture("pelvis"), StudyRequest())
        var four = StudyRequest()
        four.fractions = 4
        XCTAssertThrowsError(try PlanCheck.run(try ResolvedStudy.resolve(fixture("pelvis"), four), try library().load("tg101"), CheckRequest())) { e in
            XCTAssertTrue("\(e)".contains("no 4-fraction column"), "\(e)")
        }
        let (r, _) = try PlanCheck.run(folder, try library().load("rtog0915"), CheckRequest())
        let r50 = try XCTUnwrap(r.rows.first { $0.constraint.hasPrefix("R50") })
        // PTV 25.62 cc lies between the 22.0 and 34.0 cc rows.
        let t = (25.618 - 22.0) / 12.0
        XCTAssertEqual(r50.limit!, 4.5 + t * (4.3 - 4.5), accuracy: 2e-3)
        XCTAssertEqual(r50.minorLimit!, 5.5 + t * (5.3 - 5.5), accuracy: 2e-3)
        XCTAssertEqual(r50.margin!, r50.limit! - r50.value!, accuracy: 1e-12)
        XCTAssertEqual(r.protocolStructuresNotFound, [CheckReport.NotFound(name: "Lungs", required: false)])
    }

    func testEligibilityOfThePelvisPlanForAnEightYearOld() throws {
        var eight = StudyRequest()
        eight.ageYears = 8
        let folder = try ResolvedStudy.resolve(fixture("pelvis"), eight)
        let req = EligibilityRequest()
        let r = try Eligibility.run(folder, try library().load("pediatric-sarcoma-sbrt"), req)
        XCTAssertEqual(r.lesions.map(\.name), ["GTV"])
        let rule = Dictionary(uniqueKeysWithValues: r.rules.map { ($0.rule, $0) })
        XCTAssertEqual(rule["lesion-count"]?.outcome, .eligible)
        XCTAssertEqual(rule["size"]?.outcome, .eligible)
        XCTAssertEqual(rule["sbrt-fractionation"]?.outcome, .eligible)
        XCTAssertEqual(rule["bed10"]?.value, "BED10 72.0 Gy", "40 Gy / 5 fx: 40 (1 + 8/10)")
        XCTAssertEqual(rule["reduced-dose-age"]?.outcome, .note)
        XCTAssertTrue(rule["reduced-dose-age"]?.note?.contains("35 Gy / 5 fx") == true)
        XCTAssertEqual(rule["vertebral-fracture"]?.outcome, .eligible)
        XCTAssertTrue(r.rules.allSatisfy { ["[R]", "[V]"].contains($0.mark) && !$0.source.isEmpty })
        XCTAssertTrue(r.eligible)
        // The GTV's greatest dimension is its contour points' largest distance.
        let gtv = try XCTUnwrap(folder.structureSet!.rois.first { $0.name == "GTV" })
        XCTAssertEqual(r.lesions[0].feretMM, Feret.bruteForce(gtv.contours.flatMap(\.points)), accuracy: 1e-9)

        // 30 Gy in 1 fraction to a 41-year-old: age fails, more than 24 Gy per fraction is flagged.
        var stated = StudyRequest()
        stated.ageYears = 41
        stated.rxGy = 30
        stated.fractions = 1
        let r2 = try Eligibility.run(try ResolvedStudy.resolve(fixture("pelvis"), stated), try library().load("nct01763970"), req)
        let rule2 = Dictionary(uniqueKeysWithValues: r2.rules.map { ($0.rule, $0) })
        XCTAssertEqual(rule2["age"]?.outcome, .notEligible)
        XCTAssertEqual(rule2["vertebral-fracture"]?.outcome, .flag)
        XCTAssertFalse(r2.eligible)
        // Notes that do not apply say so: BED10 = 30 (1 + 30/10) = 120 Gy is above the
        // 48 Gy note, age 41 is not under the reduced-dose bound of 10.
        XCTAssertEqual(rule2["bed10"]?.value, "BED10 120.0 Gy")
        XCTAssertEqual(rule2["bed10"]?.outcome, .notApplicable)
        XCTAssertEqual(rule2["reduced-dose-age"]?.outcome, .notApplicable)
        XCTAssertTrue(ReportText.eligibilityOverall(r2).contains("flag raised: vertebral-fracture"), ReportText.eligibilityOverall(r2))
    }

    /// With an HTML report the review computes the plot's DVHs in its own pass: the
    /// report's rows and notes are those of a review without them, and each extra DVH is
    /// the one a DVH run of that structure alone gives.
    func testTheHTMLPlotsStructuresComeFromTheReviewsPassWithoutChangingTheReview() throws {
        let study = try ResolvedStudy.resolve(fixture("pelvis"), StudyRequest())
        let tg = try library().load("tg101")
        let (plain, plainAnalysis) = try PlanCheck.run(study, tg, CheckRequest())
        var request = CheckRequest()
        request.alsoStructures = HTMLReport.plottedStructures(study)
        let (withPlot, analysis) = try PlanCheck.run(study, tg, request)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        XCTAssertEqual(try encoder.encode(plain), try encoder.encode(withPlot))

        let evaluated = Set(try XCTUnwrap(plainAnalysis).dvhs.map(\.name))
        let extras = request.alsoStructures.filter { !evaluated.contains($0) }
        XCTAssertFalse(extras.isEmpty, "the pelvis plan has plotted structures TG-101 does not constrain")
        let names = Set(try XCTUnwrap(analysis).dvhs.map(\.name))
        XCTAssertTrue(Set(request.alsoStructures).isSubset(of: names))
        for name in extras {
            var alone = DVHRequest()
            alone.structures = [name]
            let expected = try DVHAnalysis.run(study, alone).dvhs[0]
            let got = try XCTUnwrap(analysis?.dvhs.first { $0.name == name })
            XCTAssertEqual(got.volumeCC, expected.volumeCC, name)
            XCTAssertEqual(got.meanGy, expected.meanGy, name)
            XCTAssertEqual(got.cumulativeCC, expected.cumulativeCC, name)
        }
    }

    /// A constrained structure whose name an expression quotes ("Rectum wall") is computed
    /// once: the plot takes the review's DVH of the quoted expression, the same curve as a
    /// run of the plain name gives.
    func testAPlottedStructureUnderAQuotedNameIsComputedOnce() throws {
        let dir = try renamedPelvis("Rectum", to: "Rectum wall", name: "quoted")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let study = try ResolvedStudy.resolve(dir, StudyRequest())
        var request = CheckRequest()
        request.structureMap["Rectum"] = "Rectum wall"
        request.alsoStructures = HTMLReport.plottedStructures(study)
        XCTAssertTrue(request.alsoStructures.contains("Rectum wall"))
        let (report, analysis) = try PlanCheck.run(study, try library().load("tg101"), request)
        XCTAssertTrue(report.rows.contains { $0.planStructure == "\"Rectum wall\"" })
        let names = try XCTUnwrap(analysis).dvhs.map(\.name)
        XCTAssertEqual(names.filter { $0 == "Rectum wall" || $0 == "\"Rectum wall\"" }.count, 1, "\(names)")
        var alone = DVHRequest()
        alone.structures = ["Rectum wall"]
        let plain = try DVHAnalysis.run(study, alone).dvhs[0]
        let curve = try XCTUnwrap(HTMLReport.dvhCurves(.init(title: "t", study: study, path: dir, analysis: analysis),
                                                         rois: study.structureSet!.rois, indices: study.structureSet!.rois.indices.filter { study.structureSet!.rois[$0].name == "Rectum wall" }).first)
        XCTAssertEqual(curve.dvh.cumulativeCC, plain.cumulativeCC)
        XCTAssertEqual(curve.dvh.volumeCC, plain.volumeCC)
    }
}
