import Base
import DICOM
import Foundation
import VoxelKit

/// One plan found in a tree: the files that make it, for the study resolver.
public struct DiscoveredPlan: Sendable, Equatable {
    /// Stable identity: `plan:<RT Plan SOP Instance UID>`, or `dose:<UID>` for doses
    /// that name no plan present in the tree.
    public var id: String
    public var planUID: String?
    public var planLabel: String?
    public var patientID: String?
    /// The folder of the plan (or of its first dose).
    public var folder: String
    /// Every file of the plan: RT Plan, its RT Dose(s), structure set and image series, sorted.
    public var files: [String]
    /// The file that defines the plan: its RT Plan, or (a plan of doses only) the dose with
    /// the smallest SOP Instance UID. Names the plan in failure records.
    public var definingFile: String
    /// SOP Instance UIDs of the RT Doses grouped with the plan, sorted.
    public var doseUIDs: [String]
    /// SOP Instance UID of the structure set grouped with the plan, if one was found.
    public var structureSetUID: String?
    /// Why the plan cannot be reviewed, when discovery already knows (no dose).
    public var problem: SBRTError?

    /// The identity without the folder (`plan:<UID>` or `dose:<UID>`): the same for the
    /// plan wherever the tree is mounted, so workers that see one export at different
    /// paths still agree on it (batch sharding hashes it).
    public var uidIdentity: String {
        id.firstIndex(of: "@").map { String(id[..<$0]) } ?? id
    }
}

/// What `PlanDiscovery.discover` found.
public struct Discovery: Sendable {
    public var plans: [DiscoveredPlan]
    /// Folders that could not be listed and DICOM files that could not be read (each names its path).
    public var unreadable: [SBRTError]
    /// Files looked at (DICOM or not).
    public var scanned: Int
}

/// Finds the plans of a department export: any tree of patients, courses and plans, any
/// nesting, any file names, or a manifest listing folders.
///
/// Every file is parsed once (in parallel) and only its identifying references are
/// kept, so memory does not grow with pixel data. A plan is grouped with the doses that
/// reference it, the structure set it references (else the one of its patient and frame
/// of reference) and the image series that structure set references; a folder holding a
/// plan and doses that reference it is resolved within itself first. Doses that name
/// no plan of the tree make a plan of their own (grouped by the plan UID they name, else
/// by folder and frame of reference).
public enum PlanDiscovery {
    /// - Parameter roots: folders (searched recursively), DICOM files, or text manifests
    ///   (one folder or file per line; `#` comments; relative paths are relative to the
    ///   manifest's folder).
    /// - Throws: `SBRTError` for a root that does not exist or cannot be listed, or a
    ///   manifest that cannot be read. Entries under a root that cannot be listed (a folder
    ///   without permission) are in `unreadable`, once each however many roots reach them.
    public static func discover(_ roots: [String]) throws -> Discovery {
        var paths: [String] = []
        var unlisted: [SBRTError] = []
        for root in roots { paths += try expand(root, unreadable: &unlisted) }
        paths = Array(Set(paths)).sorted()
        var seenEntries = Set<String>()
        var unreadable = unlisted.filter { seenEntries.insert($0.file ?? $0.message).inserted }
        var entries = [Result<Entry?, SBRTError>](repeating: .success(nil), count: paths.count)
        entries.withUnsafeMutableBufferPointer { out in
            let buffer = out
            Parallel.forEachChunk(paths.count) { _, range in
                for n in range { buffer[n] = DirectoryScan.readIfDICOM(paths[n]).map { $0.map(Entry.init) } }
            }
        }
        var found: [Entry] = []
        for r in entries {
            switch r {
            case .success(let e?): found.append(e)
            case .success(nil): break
            case .failure(let e): unreadable.append(e)
            }
        }
        return Discovery(plans: group(found), unreadable: unreadable, scanned: paths.count)
    }

    /// The files a root stands for: a folder's files, a DICOM file, or a manifest's entries.
    /// Folders under a root that cannot be listed are added to `unreadable`.
    static func expand(_ root: String, unreadable: inout [SBRTError]) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else {
            throw SBRTError(.io, "no such file or folder", file: root)
        }
        if isDir.boolValue {
            let listing = try DirectoryScan.listFilesReportingFolders(root)
            unreadable += listing.unreadable
            return listing.files
        }
        let data = try InputFiles.read(root, mappingThreshold: DICOMFile.mappingThreshold)
        if DICOMFile.signature(of: data) != nil { return [root] }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SBRTError(.invalidValue, "neither DICOM nor a text manifest of folders", file: root)
        }
        let base = (root as NSString).deletingLastPathComponent
        var out: [String] = []
        for (n, raw) in text.textLines().enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let path = line.hasPrefix("/") ? line : (base as NSString).appendingPathComponent(line)
            guard FileManager.default.fileExists(atPath: path) else {
                throw SBRTError(.io, "line \(n + 1): \(line): no such file or folder", file: root)
            }
            out += try expand(path, unreadable: &unreadable)
        }
        return out
    }

    /// What discovery keeps of a DICOM file.
    struct Entry {
        enum Kind { case plan, dose, structureSet, image, other }
        var path: String
        var kind: Kind
        var uid: String
        var series: String
        var frame: String
        var patient: String
        var label: String?
        var referencedPlans: [String] = []
        var referencedStructureSets: [String] = []
        var referencedSeries: [String] = []

        init(_ f: DICOMFile) {
            let ds = f.dataSet
            path = f.path ?? ""
            uid = f.sopInstanceUID ?? path
            series = ds.string(.seriesInstanceUID) ?? ""
            frame = ds.string(.frameOfReferenceUID) ?? ""
            patient = ds.string(.patientID) ?? ""
            let sop = f.sopClassUID ?? "", modality = f.modality ?? ""
            func ref(_ seq: Tag) -> [String] { (ds.sequence(seq) ?? []).compactMap { $0.string(.referencedSOPInstanceUID) } }
            if sop == SOPClass.rtPlan || sop == SOPClass.rtIonPlan || (sop.isEmpty && modality == "RTPLAN") {
                kind = .plan
                label = ds.string(.rtPlanLabel)
                referencedStructureSets = ref(.referencedStructureSetSequence)
            } else if sop == SOPClass.rtDose || (sop.isEmpty && modality == "RTDOSE") {
                kind = .dose
                referencedPlans = ref(.referencedRTPlanSequence)
            } else if sop == SOPClass.rtStructureSet || (sop.isEmpty && modality == "RTSTRUCT") {
                kind = .structureSet
                let frames = ds.sequence(.referencedFrameOfReferenceSequence) ?? []
                if frame.isEmpty { frame = frames.first?.string(.frameOfReferenceUID) ?? "" }
                referencedSeries = frames.flatMap { ($0.sequence(.rtReferencedStudySequence) ?? []).flatMap { ($0.sequence(.rtReferencedSeriesSequence) ?? []).compactMap { $0.string(.seriesInstanceUID) } } }
            } else if ds.contains(.pixelData) && ds.contains(.imagePositionPatient) {
                kind = .image
            } else {
                kind = .other
            }
        }
    }
}

extension PlanDiscovery {
    /// Groups files into plans (see the type's rules). Copies of one object in several
    /// folders (the same SOP Instance UID twice) resolve to the copy nearest the plan.
    /// Deterministic: sorted by id.
    static func group(_ entries: [Entry]) -> [DiscoveredPlan] {
        let plans = entries.filter { $0.kind == .plan }
        let doses = entries.filter { $0.kind == .dose }
        let sets = entries.filter { $0.kind == .structureSet }
        // Image series by (series UID, folder): copies of a series in two folders stay apart.
        let images = Dictionary(grouping: entries.filter { $0.kind == .image }) { "\($0.series)|\(dir($0.path))" }
        func structureSet(named uids: [String], patient: String, frame: String, near anchor: String) -> Entry? {
            let named = sets.filter { uids.contains($0.uid) }
            if !named.isEmpty { return nearest(named, to: anchor) }
            let same = sets.filter { $0.patient == patient && (frame.isEmpty || $0.frame == frame) }
            if same.count == 1 { return same[0] }
            let here = same.filter { dir($0.path) == dir(anchor) }
            return here.count == 1 ? here[0] : nil
        }
        func imageFiles(_ ss: Entry?) -> [String] {
            guard let ss else { return [] }
            var groups = images.values.filter { g in ss.referencedSeries.contains(g[0].series) }
            if groups.isEmpty { groups = images.values.filter { $0[0].frame == ss.frame && $0[0].patient == ss.patient } }
            // One copy per series: the folder nearest the structure set.
            let bySeries = Dictionary(grouping: groups) { $0[0].series }
            return bySeries.values.flatMap { copies in copies.max { commonPrefix($0[0].path, ss.path) < commonPrefix($1[0].path, ss.path) }! }.map(\.path)
        }
        var out: [DiscoveredPlan] = []
        var claimed = Set<String>()
        // Folders holding a copy of each plan: doses there belong to that copy.
        let planFolders = Dictionary(grouping: plans, by: \.uid).mapValues { Set($0.map { dir($0.path) }) }
        for p in plans {
            let mine = planDoses(of: p, among: doses, planFolders: planFolders[p.uid] ?? [])
            mine.forEach { claimed.insert($0.path) }
            let ss = structureSet(named: p.referencedStructureSets, patient: p.patient, frame: p.frame, near: p.path)
            let files = [p.path] + mine.map(\.path) + (ss.map { [$0.path] } ?? []) + imageFiles(ss)
            let problem = mine.isEmpty ? SBRTError(.noDose, "no RT Dose in the tree references plan \(p.label ?? p.uid)", file: p.path) : nil
            out.append(DiscoveredPlan(id: "plan:\(p.uid)@\(dir(p.path))", planUID: p.uid, planLabel: p.label, patientID: p.patient,
                                      folder: dir(p.path), files: Array(Set(files)).sorted(), definingFile: p.path,
                                      doseUIDs: mine.map(\.uid).sorted(), structureSetUID: ss?.uid, problem: problem))
        }
        let orphans = Dictionary(grouping: doses.filter { !claimed.contains($0.path) }) { d in
            "\(dir(d.path))|" + (d.referencedPlans.isEmpty ? d.frame : d.referencedPlans.sorted().joined(separator: ","))
        }
        for (_, group) in orphans {
            let first = group.min { $0.uid < $1.uid }!
            let ss = structureSet(named: [], patient: first.patient, frame: first.frame, near: first.path)
            let files = group.map(\.path) + (ss.map { [$0.path] } ?? []) + imageFiles(ss)
            out.append(DiscoveredPlan(id: "dose:\(first.uid)@\(dir(first.path))", planUID: nil, planLabel: nil, patientID: first.patient,
                                      folder: dir(first.path), files: Array(Set(files)).sorted(), definingFile: first.path,
                                      doseUIDs: group.map(\.uid).sorted(), structureSetUID: ss?.uid, problem: nil))
        }
        return out.sorted { $0.id < $1.id }
    }

    /// The doses of one copy of a plan. A folder that holds the plan and doses referencing
    /// it is complete: those doses alone, whatever other folders hold (two exports of one
    /// plan with different doses stay two plans). A copy with no dose beside it takes the
    /// referencing doses of folders that hold no copy of the plan (else every referencing
    /// dose: a copy of the plan alone is the same plan), nearest copy of each.
    static func planDoses(of p: Entry, among doses: [Entry], planFolders: Set<String>) -> [Entry] {
        let referencing = doses.filter { $0.referencedPlans.contains(p.uid) }
        let local = referencing.filter { dir($0.path) == dir(p.path) }
        let elsewhere = referencing.filter { !planFolders.contains(dir($0.path)) }
        let pool = !local.isEmpty ? local : (elsewhere.isEmpty ? referencing : elsewhere)
        return Dictionary(grouping: pool, by: \.uid).values.map { nearest($0, to: p.path) }.sorted { $0.path < $1.path }
    }

    /// Of copies of one object, the one whose path shares the most leading folders with `anchor`.
    static func nearest(_ copies: [Entry], to anchor: String) -> Entry {
        copies.max { (commonPrefix($0.path, anchor), $1.path) < (commonPrefix($1.path, anchor), $0.path) }!
    }

    /// Number of leading path components two paths share.
    static func commonPrefix(_ a: String, _ b: String) -> Int {
        zip(a.split(separator: "/"), b.split(separator: "/")).prefix { $0 == $1 }.count
    }

    static func dir(_ path: String) -> String { (path as NSString).deletingLastPathComponent }
}
