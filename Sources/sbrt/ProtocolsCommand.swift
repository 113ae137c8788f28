import Base
import ArgumentParser
import Foundation
import PlanReview
import Reports

extension SBRT {
    struct ProtocolsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "protocols",
            abstract: "List the shipped protocols (constraint sets for `sbrt check`).",
            discussion: """
                Protocols are text files (a TOML subset with comments); copy one, edit it and
                pass it with `sbrt check DIR --protocol my.toml`. See docs/protocols.md.

                Examples:
                  sbrt protocols
                  sbrt protocols --show tg101
                """
        )

        @Flag(help: "JSON instead of a table.")
        var json = false

        @Option(help: "Print the file of this protocol (id or alias).")
        var show: String?

        func run() throws {
            let library = shippedProtocols()
            if let show {
                let p = try library.load(show)
                print(try InputFiles.readText(p.path), terminator: "")
                return
            }
            let entries = try library.list()
            if json {
                print(try JSONOutput.text(entries), terminator: "")
                return
            }
            var rows = [["Id", "Name", "Fractions", "Rows", "Mark", "Source"]]
            for e in entries {
                var count = "\(e.constraints) constraints"
                if e.prescriptions > 0 { count += ", \(e.prescriptions) Rx" }
                if e.eligibilityRules > 0 { count += ", \(e.eligibilityRules) eligibility" }
                rows.append([e.id, e.name, e.fractions.isEmpty ? "any" : e.fractions.map(String.init).joined(separator: ","), count, e.mark, e.source])
            }
            print(ReportText.columns(rows), terminator: "")
            print("\nAliases: " + entries.filter { !$0.aliases.isEmpty }.map { "\($0.id) = \($0.aliases.joined(separator: ", "))" }.joined(separator: "; "))
            if let dir = library.folders.first { print("Files: \(dir)") }
        }
    }
}

/// The shipped protocols for this executable.
func shippedProtocols() -> ProtocolLibrary {
    ProtocolLibrary.shipped(executablePath: Bundle.main.executablePath ?? CommandLine.arguments[0])
}
