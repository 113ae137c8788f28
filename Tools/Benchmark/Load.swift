import Foundation
import RTModel
import VoxelKit

/// `sbrt-bench load DIR`: everything a review needs in memory, in one process —
/// scan and parse every file (StudyFolder.load, which also reads the structure sets,
/// dose headers and plans), the value volume of every image series (HU for CT) and every dose volume.
/// Prints one line of `key=value` pairs, ending with the peak RSS (VmHWM).
enum LoadAll {
    static func run(_ dir: String, checksum: Bool = false) throws {
        let t0 = now()
        let folder = try StudyFolder.load(dir)
        let t1 = now()
        var imageVolumes: [Volume<Float>] = []
        for series in folder.imageSeries { imageVolumes.append(try series.loadValues()) }
        let t2 = now()
        var doseVolumes: [Volume<Float>] = []
        for d in folder.doses { doseVolumes.append(try d.loadDose()) }
        let t3 = now()

        let points = folder.structureSets.reduce(0) { s, ss in
            s + ss.rois.reduce(0) { $0 + $1.contours.reduce(0) { $0 + $1.points.count } }
        }
        let images = imageVolumes.first.map { "\($0.grid.nx)x\($0.grid.ny)x\($0.grid.nz)" } ?? "-"
        let dose = doseVolumes.first.map { "\($0.grid.nx)x\($0.grid.ny)x\($0.grid.nz)" } ?? "-"
        // One value from each volume, so the work is visibly used.
        let probe = imageVolumes.first.map { v in Double(v.voxels[v.voxels.count / 2]) } ?? 0
        let peak = doseVolumes.first.map { $0.voxels.max() ?? 0 } ?? 0
        if checksum {
            // FNV-1a over the voxel bytes, to check that loading changes give identical volumes.
            func fnv<T>(_ v: [T]) -> String {
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                v.withUnsafeBytes { for b in $0 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
                return String(h, radix: 16)
            }
            print("image_fnv=\(imageVolumes.map { fnv($0.voxels) }.joined(separator: ",")) dose_fnv=\(doseVolumes.map { fnv($0.voxels) }.joined(separator: ","))")
        }
        print("files=\(folder.scan.files.count) images=\(images) dose=\(dose) "
              + "rois=\(folder.structureSets.reduce(0) { $0 + $1.rois.count }) points=\(points) "
              + "image_probe=\(f(probe, 2)) dose_max_gy=\(f(Double(peak), 3)) "
              + "scan_ms=\(f((t1 - t0) * 1000)) image_ms=\(f((t2 - t1) * 1000)) dose_ms=\(f((t3 - t2) * 1000)) "
              + "total_ms=\(f((t3 - t0) * 1000)) vmhwm_kb=\(peakRSSKB())")
    }
}

/// VmHWM of this process from /proc/self/status, kB (0 where unavailable).
func peakRSSKB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
    return 0
}

/// `v` with `digits` decimals.
func f(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }
