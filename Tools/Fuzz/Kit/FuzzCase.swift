import Foundation

/// One mutated file in one fixture folder, and the commands run on it: the unit the
/// command-line fuzzer makes, and the form a finding is kept in
/// (`Tools/Fuzz/regressions/cli/NAME/case.json` beside `mutant.dcm`).
public struct FuzzCase: Codable, Sendable {
    /// The fixture folder, relative to `Fixtures/`.
    public var fixture: String
    /// The replaced file, relative to the fixture folder.
    public var file: String
    /// What the mutator did, in words.
    public var mutations: [String]
    /// Argument lists; `{study}` is the mutated copy, `{fixture}` the untouched fixture,
    /// `{out}` a folder for outputs.
    public var commands: [[String]]
    public var seed: UInt64?
    public var mutant: Int?
    /// What went wrong when the case was found (empty for a case that passed).
    public var problems: [String]

    public init(fixture: String, file: String, mutations: [String], commands: [[String]], seed: UInt64? = nil, mutant: Int? = nil, problems: [String] = []) {
        self.fixture = fixture
        self.file = file
        self.mutations = mutations
        self.commands = commands
        self.seed = seed
        self.mutant = mutant
        self.problems = problems
    }

    /// The commands the fuzzer runs on a study whose file named `file` was mutated: those
    /// that read that kind of file.
    public static func commands(forFile file: String) -> [[String]] {
        let name = (file as NSString).lastPathComponent
        // Text outputs go to standard output, where the runner looks for a printed nan.
        let info = ["info", "{study}"]
        let dvh = ["dvh", "{study}", "--metrics", "D95%,D0.035cc,Dmean,V20Gy,HI,CI,GI,R50"]
        let dvhJSON = ["dvh", "{study}", "--format", "json", "--compare-embedded"]
        let check = ["check", "{study}", "--protocol", "tg101"]
        let render = ["render", "{study}", "--out", "{out}/axial.png", "--size", "256"]
        let sagittal = ["render", "{study}", "--view", "sagittal", "--through", "PTV", "--out", "{out}/sag.png", "--size", "256"]
        let expand = ["expand", "{study}", "--from", "PTV", "--margin", "3", "--name", "FZ", "--cell", "1", "--out", "{out}/rs.dcm", "--nrrd", "{out}/fz.nrrd"]
        let composite = ["composite", "--course", "{study}", "--out", "{out}/c.dcm", "--nrrd", "{out}/c.nrrd", "--report", "{out}/c.json"]
        let compare = ["compare", "{fixture}", "{study}"]
        let gamma = ["gamma", "{fixture}", "{study}", "--criteria", "3%/3mm"]
        // The second image series of a folder, through its registration when it has one.
        let second = ["render", "{study}", "--image", "2", "--through", "PTV", "--out", "{out}/second.png", "--size", "256"]
        switch name.prefix(3) {
        case "CT.", "MR.", "PT.", "RAW": return [["info", "{study}", "--json"], render, sagittal, second, expand]
        case "RS.": return [info, dvh, check, sagittal, expand, compare]
        case "RD.": return [info, dvhJSON, check, render, composite, gamma]
        case "RP.": return [info, dvh, check, composite]
        default: return [info, second, composite]
        }
    }

    /// `arguments` with the placeholders filled in.
    public static func substitute(_ arguments: [String], study: String, fixture: String, out: String) -> [String] {
        arguments.map {
            $0.replacingOccurrences(of: "{study}", with: study)
                .replacingOccurrences(of: "{fixture}", with: fixture)
                .replacingOccurrences(of: "{out}", with: out)
        }
    }

    /// Copies the fixture, puts `mutant` in place of the file, runs every command and
    /// returns each run. The copy is removed afterwards.
    public func run(mutant data: Data, fixturesRoot: String, sbrt: String, timeout: Double = 20) throws -> [CommandRun] {
        let fixturePath = (fixturesRoot as NSString).appendingPathComponent(fixture)
        let folder = try MutantFolder(copying: fixturePath)
        defer { folder.remove() }
        try folder.replace((folder.study as NSString).appendingPathComponent(file), with: data)
        return try commands.map { args in
            let argv = Self.substitute(args, study: folder.study, fixture: fixturePath, out: folder.outputs)
            return try CommandRun(sbrt, argv, timeout: timeout)
        }
    }
}
