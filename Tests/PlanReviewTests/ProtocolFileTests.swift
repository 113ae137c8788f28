import Base
import Dosimetry
import PlanReview
import XCTest

final class ProtocolFileTests: XCTestCase {
    func testParsesTheSubsetWithCommentsArraysAndTables() throws {
        let text = """
        # comment
        top = "a # not a comment"   # trailing comment
        [protocol]
        n = 1.5
        flag = true
        rows = [
          [1, 2.5, 3],   # row
          [4, 5, 6],
        ]
        [[constraint]]
        x = "q\\"uote"
        [[constraint]]
        x = "second"
        """
        let doc = try ProtocolDocument.parse(text, file: "t.toml")
        XCTAssertEqual(doc.root["top"], .string("a # not a comment"))
        XCTAssertEqual(doc.table("protocol")?["n"], .number(1.5))
        XCTAssertEqual(doc.table("protocol")?["flag"], .bool(true))
        XCTAssertEqual(doc.table("protocol")?["rows"]?.array?.count, 2)
        XCTAssertEqual(doc.table("protocol")?["rows"]?.array?[0], .array([.number(1), .number(2.5), .number(3)]))
        XCTAssertEqual(doc.array("constraint").map { $0["x"]?.string }, ["q\"uote", "second"])
    }

    /// A protocol file saved with Windows line ends (CRLF, a TOML newline) reads as the
    /// same file with LF: every shipped protocol, table for table and line for line.
    func testWindowsLineEndsReadTheSame() throws {
        let shipped = try library().list()
        XCTAssertEqual(shipped.count, 4)
        for entry in shipped {
            let text = try String(contentsOfFile: entry.path, encoding: .utf8)
            XCTAssertFalse(text.contains("\r"))
            let lf = try ProtocolDocument.parse(text, file: entry.path)
            let crlf = try ProtocolDocument.parse(text.replacingOccurrences(of: "\n", with: "\r\n"), file: entry.path)
            XCTAssertEqual(String(describing: crlf), String(describing: lf), entry.id)
            XCTAssertGreaterThan(lf.tables.count, 1, entry.id)
        }
        // A line that ends in CR alone keeps it (only CRLF is a line end).
        XCTAssertThrowsError(try ProtocolDocument.parse("a = 1\r\rb = 2\n", file: "cr.toml"))
    }

    func testErrorsNameTheFileAndLine() {
        XCTAssertThrowsError(try ProtocolDocument.parse("[protocol]\nid = unquoted\n", file: "bad.toml")) { e in
            XCTAssertTrue("\(e)".contains("bad.toml:2"), "\(e)")
        }
        XCTAssertThrowsError(try ProtocolDocument.parse("a = [1, 2\n", file: "open.toml")) { e in
            XCTAssertTrue("\(e)".contains("open.toml:1: array never closed"), "\(e)")
        }
        let proto = """
        [protocol]
        id = "x"
        name = "x"
        source = "s"
        mark = "[V]"
        [[constraint]]
        structure = "Cord"
        constraint = "D0.035cc[Gy] <= 30"
        minor = "<= 20"
        """
        XCTAssertThrowsError(try ReviewProtocol.parse(proto, path: "m.toml") { _ in throw SBRTError(.invalidProtocol, "no") }) { e in
            XCTAssertTrue("\(e)".contains("m.toml:9") && "\(e)".contains("looser"), "\(e)")
        }
        XCTAssertThrowsError(try ReviewProtocol.parse(proto.replacingOccurrences(of: "[V]", with: "[X]"), path: "k.toml") { _ in throw SBRTError(.invalidProtocol, "no") }) { e in
            XCTAssertTrue("\(e)".contains("mark must be one of"), "\(e)")
        }
    }

    func testShippedProtocolsLoadWithSourcesAndMarksOnEveryRow() throws {
        let lib = library()
        XCTAssertFalse(lib.folders.isEmpty, "the resource bundle beside the test bundle holds the protocols")
        let entries = try lib.list()
        XCTAssertEqual(entries.map(\.id), ["hytec-spinal-cord", "nct01763970", "rtog0915", "tg101"])
        for e in entries {
            let p = try lib.load(e.id)
            for c in p.constraints {
                XCTAssertTrue(Provenance.marks.contains(c.provenance.mark), c.origin)
                XCTAssertFalse(c.provenance.source.isEmpty, c.origin)
            }
        }
        let tg = try lib.load("TG-101")
        XCTAssertEqual(tg.fractionColumns, [1, 3, 5])
        // The liver 5-fraction conflict (issue 11): the stricter 21 Gy [NV] is checked, 21.5 Gy [S] rides along.
        let liver5 = try XCTUnwrap(tg.constraints.first { $0.structure == "Liver" && $0.fractions == 5 })
        XCTAssertEqual(liver5.provenance.mark, "[NV]")
        XCTAssertTrue(liver5.provenance.note?.contains("21 vs 21.5") == true)
        XCTAssertEqual(liver5.text, "CV21Gy[cc] >= 700")
        XCTAssertEqual(liver5.alternative?.text, "CV21.5Gy[cc] >= 700")
        XCTAssertEqual(liver5.alternative?.provenance.mark, "[S]")
        XCTAssertEqual(tg.organTables, ["tg101"])
        // S2 rows are [S]; W rows [V].
        XCTAssertEqual(tg.constraints.first { $0.structure == "Bladder" }?.provenance.mark, "[S]")
        XCTAssertEqual(tg.constraints.first { $0.structure == "SpinalCord" && $0.fractions == 5 }?.text, "D0.35cc[Gy] <= 23")
        XCTAssertTrue(tg.constraints.contains { $0.text == "CV13.5Gy[cc] >= 1000" && $0.structure == "Lungs" && $0.fractions == 5 })
        let ped = try lib.load("pediatric-sarcoma-sbrt")
        XCTAssertEqual(ped.id, "nct01763970")
        XCTAssertEqual(ped.included, ["tg101", "hytec-spinal-cord"])
        XCTAssertEqual(ped.prescriptions.map(\.doseGy), [40, 35])
        XCTAssertEqual(ped.prescriptions[1].provenance.mark, "[R]")
        XCTAssertEqual(ped.eligibilityRule("size")?.number("max_dimension_cm"), 5.0)
        XCTAssertThrowsError(try lib.load("no-such-protocol")) { e in XCTAssertTrue("\(e)".contains("tg101"), "\(e)") }
    }

    func testRTOG0915TableIsExactAtRowsLinearBetweenAndNeverExtrapolated() throws {
        let p = try library().load("rtog0915")
        let r50 = try XCTUnwrap(p.constraints.first { $0.metric.kind == .r50 })
        let d2cm = try XCTUnwrap(p.constraints.first { $0.metric.kind == .d2cm })
        let table: [(Double, Double, Double, Double, Double)] = [
            (1.8, 5.9, 7.5, 50, 57), (3.8, 5.5, 6.5, 50, 57), (7.4, 5.1, 6.0, 50, 58), (13.2, 4.7, 5.8, 50, 58),
            (22.0, 4.5, 5.5, 54, 63), (34.0, 4.3, 5.3, 58, 68), (50.0, 4.0, 5.0, 62, 77), (70.0, 3.5, 4.8, 66, 86),
            (95.0, 3.3, 4.4, 70, 89), (126.0, 3.1, 4.0, 73, 91), (163.0, 2.9, 3.7, 77, 94),
        ]
        for (v, a, b, c, d) in table {
            XCTAssertEqual(r50.limit.resolved(volumeCC: v), .limits(perProtocol: a, minor: b), "R50 at \(v) cc")
            XCTAssertEqual(d2cm.limit.resolved(volumeCC: v), .limits(perProtocol: c, minor: d), "D2cm at \(v) cc")
        }
        for (x, y) in zip(table, table.dropFirst()) {
            for t in [0.25, 0.5, 0.9] {
                let v = x.0 + t * (y.0 - x.0)
                guard case .limits(let p, let m) = r50.limit.resolved(volumeCC: v) else { return XCTFail("in range at \(v)") }
                XCTAssertEqual(p, x.1 + t * (y.1 - x.1), accuracy: 1e-12)
                XCTAssertEqual(m!, x.2 + t * (y.2 - x.2), accuracy: 1e-12)
                guard case .limits(let q, _) = d2cm.limit.resolved(volumeCC: v) else { return XCTFail() }
                XCTAssertEqual(q, x.3 + t * (y.3 - x.3), accuracy: 1e-12)
            }
        }
        XCTAssertEqual(r50.limit.resolved(volumeCC: 1.79), .outOfRange(1.8...163))
        XCTAssertEqual(r50.limit.resolved(volumeCC: 163.01), .outOfRange(1.8...163))
        // The R100 limits are the same at every volume.
        let r100 = try XCTUnwrap(p.constraints.first { $0.metric.kind == .r100 })
        XCTAssertEqual(r100.limit.resolved(volumeCC: 500), .limits(perProtocol: 1.2, minor: 1.5))
    }

    func testComparatorsAndMargins() {
        XCTAssertEqual(Comparator.lessOrEqual.margin(24, 30), 6)
        XCTAssertEqual(Comparator.less.margin(31, 30), -1)
        XCTAssertEqual(Comparator.greaterOrEqual.margin(900, 1000), -100)
        XCTAssertFalse(Comparator.less.holds(30, 30))
        XCTAssertTrue(Comparator.lessOrEqual.holds(30, 30))
        let (m, c, rest) = try! ReviewProtocol.parseConstraintText("CV13.5Gy[cc] >= 1000", at: "x")
        XCTAssertEqual(m.kind, .criticalVolumeGy(13.5))
        XCTAssertEqual(c, .greaterOrEqual)
        XCTAssertEqual(rest, "1000")
    }

    func testStructureNamesMatchThroughAliasesAndTheUserMap() throws {
        let names = ["Spinal Cord", "Lung_L", "Lung_R", "SmallBowel", "sacral_nerves", "PTV"]
        let m = StructureMatcher(planNames: names)
        XCTAssertEqual(try m.match("SpinalCord")?.expression, "\"Spinal Cord\"")
        XCTAssertEqual(try m.match("Lungs")?.expression, "Lung_L+Lung_R")
        XCTAssertEqual(try m.match("Bowel_Small")?.expression, "SmallBowel")
        XCTAssertEqual(try m.match("SacralPlexus")?.expression, "sacral_nerves")
        XCTAssertEqual(try m.match("spinal_cord")?.how, "name")
        XCTAssertNil(try m.match("Heart"))
        let mapped = StructureMatcher(planNames: names, userMap: ["Heart": "PTV"])
        XCTAssertEqual(try mapped.match("Heart")?.expression, "PTV")
        XCTAssertEqual(try mapped.match("Heart")?.how, "user map")
        XCTAssertThrowsError(try StructureMatcher(planNames: names, userMap: ["Heart": "Nope"]).match("Heart"))
        XCTAssertEqual(try StructureMatcher.readMap("# map\nSpinalCord = \"Cord PRV\"\n", path: "m"), ["SpinalCord": "Cord PRV"])
    }
}
