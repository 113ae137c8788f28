import Base
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
            Exit codes: 0 success, 1 a check failed (a deviation, or a review that could
            not be completed), 2 bad input or usage. Example: sbrt info Fixtures/pelvis

            sbrt is a research and QA tool, not a medical device: the treatment planning
            system's numbers are authoritative for treatment.
            """,
        version: version,
        subcommands: [Info.self, DVHCommand.self, CompositeCommand.self, RenderCommand.self, ExpandCommand.self, CheckCommand.self, CompareCommand.self, GammaCommand.self, ProtocolsCommand.self, BatchCommand.self]
    )

    /// Runs the command, mapping every failure to the documented exit codes in one
    /// place: 2 for bad input or usage (the message names the file, element or option
    /// and the problem), 1 when a check failed (`ExitCode(1)` from the command).
    static func main() {
        installSignalCleanup()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as SBRTError {
            fail(error.description)
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            // Anything else is a failure sbrt did not classify: say so in words, without
            // a framework's error codes.
            fail(unexpected(error))
        }
    }

    /// A failure sbrt did not classify, in words: the system's reason for a POSIX error,
    /// else the error's type (never a framework's domain and code).
    static func unexpected(_ error: Error) -> String {
        if let p = error as? POSIXError { return "unexpected failure: \(String(cString: strerror(p.code.rawValue)))" }
        return "unexpected failure (\(type(of: error))); this is a bug, please report it with the command line"
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("sbrt: error: " + message + "\n").utf8))
        Foundation.exit(2)
    }

    /// Removes the temporary files of outputs being written when the run is interrupted.
    static func installSignalCleanup() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { s in
                OutputFiles.removeTemporaries()
                signal(s, SIG_DFL)
                raise(s)
            }
        }
    }
}

/// Writes text to standard error (warnings and progress).
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
