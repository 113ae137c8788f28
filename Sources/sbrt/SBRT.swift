import ArgumentParser
import DICOM
import Foundation
import RTModel

/// The sbrt command: offline review of stereotactic radiotherapy plans from DICOM.
@main
struct SBRT: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sbrt",
        abstract: "Offline review of stereotactic radiotherapy (SBRT/SRS) plans from DICOM.",
        discussion: """
            Exit codes: 0 success, 1 a check failed, 2 bad input or usage.
            Example: sbrt info Fixtures/pelvis
            """,
        version: version,
        subcommands: [Info.self, DVHCommand.self, CompositeCommand.self, RenderCommand.self, ExpandCommand.self, CheckCommand.self, CompareCommand.self, ProtocolsCommand.self]
    )

    /// Runs the command, mapping every failure to the documented exit codes:
    /// 2 for bad input or usage (with a message naming the file and the problem).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as DICOMError {
            fail(error.description)
        } catch let error as RTModelError {
            fail(error.description)
        } catch let error as InputError {
            fail(error.message)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if let exit = error as? ExitCode {
                Foundation.exit(exit.rawValue)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("sbrt: error: " + message + "\n").utf8))
        Foundation.exit(2)
    }
}

/// A usage or input problem found by the CLI itself.
struct InputError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Writes text to standard error (warnings and progress).
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
