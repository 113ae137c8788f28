import ArgumentParser
import Base
import Foundation
import RTModel

extension SBRT {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Inventory of a folder of DICOM files: image series (CT, MR, PET), structure sets, dose grids, plans, registrations, ignored objects, warnings.",
            discussion: """
                Searches the folder recursively; any file names, other files mixed in. Example:
                sbrt info Fixtures/pelvis --json JSON schema: docs/info.md (sbrt.info/2).
                """
        )

        @Argument(help: "A folder of DICOM files (searched recursively), or one file.")
        var path: String

        @Flag(help: "Print the inventory as JSON (schema sbrt.info/2, see docs/info.md).")
        var json = false

        @Flag(help: "List DICOM files that cannot be read instead of stopping at the first one.")
        var skipUnreadable = false

        func run() throws {
            let folder = try StudyFolder.load(path, skipUnreadable: skipUnreadable)
            var inventory = try Inventory(folder)
            var request = StudyRequest(needs: [])
            request.absoluteDose = false
            do {
                inventory.resolution = .init(try ResolvedStudy.resolve(folder: folder, request))
            } catch let e as SBRTError where e.kind != .io {
                var hinted = e
                hinted.message += StudyOptions.hint(e)
                inventory.resolution = .init(hinted)
            }
            if json {
                print(try JSONOutput.text(inventory), terminator: "")
            } else {
                print(InfoFormatter.text(inventory), terminator: "")
            }
        }
    }
}
