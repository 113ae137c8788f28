import DICOM
import Foundation
import RTModel
import VoxelKit

/// The gamma pair of the benchmark case: the case's RT Dose, and a copy (DIR-gamma/RD.dcm)
/// shifted by 1.5 mm along +x and scaled by 1.02 — the pair of issue 16 and of
/// Tools/peers/time_gamma_peers.sh.
enum GammaPair {
    static let shiftMM = Vec3(1.5, 0, 0)
    static let scale: Float = 1.02

    /// The two dose files, writing the evaluated copy once.
    static func files(_ dir: String) throws -> (reference: String, evaluated: String) {
        let reference = try CompositeBench(dir: dir, runs: 1).firstDose(dir)
        let folder = dir.hasSuffix("/") ? String(dir.dropLast()) + "-gamma" : dir + "-gamma"
        let evaluated = (folder as NSString).appendingPathComponent("RD.dcm")
        if !FileManager.default.fileExists(atPath: evaluated) {
            let file = try DICOMFile.read(path: reference)
            let d = try DoseGrid(file: file)
            var v = try d.loadDose()
            v.voxels = v.voxels.map { $0 * scale }
            v.grid.origin += shiftMM
            let q = DoseWriter.quantise(v.voxels)
            let ds = try DoseWriter.dataSet(grid: v.grid, quantised: q, template: file.dataSet, frameOfReferenceUID: d.frameOfReferenceUID ?? UID.generate(),
                                            description: .init(doseType: "PHYSICAL", summationType: "PLAN", seriesDescription: "bench gamma copy",
                                                               doseComment: "1.02 x the case dose, shifted 1.5 mm along +x", imageComments: "sbrt-bench",
                                                               referencedPlanUIDs: []))
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try DoseWriter.write(ds, to: evaluated)
        }
        return (reference, evaluated)
    }

    /// `sbrt gamma` arguments for the pair: 2 %/1 mm, 10 % cutoff, global or local.
    static func arguments(_ pair: (reference: String, evaluated: String), local: Bool) -> [String] {
        ["gamma", pair.reference, pair.evaluated, "--criteria", "2%/1mm", "--threshold", "10%", "--json"] + (local ? ["--local"] : [])
    }
}

/// `sbrt-bench gamma DIR [--runs N]`: the two `sbrt gamma` processes of `run` alone, with
/// their pass rates (from the JSON) and CPU time.
struct GammaBench {
    var dir: String
    var runs: Int

    func run() throws {
        let pair = try GammaPair.files(dir)
        let sbrt = ((executablePath() as NSString).deletingLastPathComponent as NSString).appendingPathComponent("sbrt")
        print(machineSummary())
        let out = NSTemporaryDirectory() + "sbrt-bench-gamma-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: out) }
        for local in [false, true] {
            let args = GammaPair.arguments(pair, local: local)
            var wall: [Double] = [], cpu: [Double] = [], rss: [Int] = []
            for r in 0...runs {
                let s = try spawn(sbrt, args, stdout: out)
                guard s.status == 0 else { throw BenchError("sbrt gamma exited with status \(s.status)") }
                if r > 0 { wall.append(s.wall); cpu.append(s.cpu); rss.append(s.maxRSSKB) }
            }
            let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out)))) as? [String: Any]
            let rate = json?["pass_rate_pct"] as? Double ?? .nan, points = json?["points_evaluated"] as? Int ?? 0
            let boxes = (json?["search"] as? [String: Any])?["boxes_examined"] as? Int ?? 0
            print("process sbrt \(args.joined(separator: " ")): median \(f(median(wall) * 1000)) ms, min \(f((wall.min() ?? 0) * 1000)) ms, "
                  + "cpu \(f(median(cpu) * 1000)) ms, peak RSS \(f(Double(rss.max() ?? 0) / 1024)) MB; pass rate \(f(rate, 3)) % of \(points) points, \(boxes) boxes")
        }
    }
}
