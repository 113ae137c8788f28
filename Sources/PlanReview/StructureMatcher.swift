import Base
import Foundation
import RTModel

/// Finds the plan's structure for a protocol's canonical (TG-263) name.
///
/// Order: the user's mapping (`Canonical = "plan name or expression"`), then the
/// canonical name itself, then the built-in aliases, in the order listed. Names compare
/// by `StructureName.key`: case, spaces, underscores and hyphens ignored, laterality
/// words (L/R/Lt/Rt/Left/Right) as prefix or suffix, British spellings read as American
/// (`Lt Lung` = `Lung_L`, `Oesophagus` = `Esophagus`, `Spinal_Cord` = `SPINALCORD`). An
/// alias may be an expression of plan names (`Lung_L+Lung_R`); it matches when every
/// name in it exists.
///
/// Targets (`GTV`, `CTV`, `ITV`, `PTV`) match every lesion's target: the ROIs of that
/// RT ROI Interpreted Type (or, without a type, named so), unions such as `PTV_All`
/// left out, one per lesion (ROIs whose bounding boxes overlap are one lesion; the
/// canonical name, an alias or a numbered name such as `PTV2` is preferred).
public struct StructureMatcher: Sendable {
    /// Canonical name → aliases (names or expressions), for the organs of the shipped
    /// protocols; the first that matches wins (so a cortex comes before the whole kidney).
    public static let builtInAliases: [String: [String]] = [
        "SpinalCord": ["Cord", "Spinal_Cord", "SpinalCanal_Cord", "Cord_Spinal", "Myelon"],
        "Brainstem": ["BrainStem", "Brain_Stem"],
        "OpticPathway": ["OpticChiasm", "Optic_Chiasm", "Chiasm", "OpticNrv_L+OpticNrv_R+OpticChiasm"],
        "Cochlea": ["Cochlea_L+Cochlea_R", "Cochlea_L", "Cochlea_R"],
        "CaudaEquina": ["Cauda_Equina", "Cauda"],
        "SacralPlexus": ["Sacral_Plexus", "SacralNerves", "Sacral_Nerves", "Nrv_Sacral", "SacralPlex"],
        "Esophagus": ["Esoph"],
        "BrachialPlexus": ["Brachial_Plexus", "BrachialPlex_L+BrachialPlex_R", "BrachialPlex_L", "BrachialPlex_R"],
        "Heart": ["Pericardium", "Heart_Pericardium"],
        "GreatVes": ["GreatVessels", "Great_Vessels", "Aorta"],
        "Trachea": ["Trachea_Bronchi", "Airway_Proximal"],
        "Bronchus": ["Bronchi", "Bronchus_L+Bronchus_R", "Airway_Small"],
        "ChestWall": ["Chest_Wall", "Ribs", "Rib", "Chestwall"],
        "Skin": ["Skin_3mm", "Skin_5mm"],
        "Stomach": ["Stomach"],
        "Duodenum": ["Bowel_Duodenum"],
        "Bowel_Small": ["SmallBowel", "Small_Bowel", "Bowel", "Jejunum_Ileum", "Jejunum+Ileum"],
        "Colon": ["Bowel_Large", "LargeBowel", "Large_Bowel", "Sigmoid"],
        "Rectum": ["Rectum"],
        "Bladder": ["Bladder_Wall", "BladderWall", "Urinary_Bladder"],
        "PenileBulb": ["Penile_Bulb", "Bulb_Penile"],
        "Femur_Heads": ["Femur_Head_L+Femur_Head_R", "FemoralHeads", "Femoral_Heads", "Femurs"],
        "Kidneys": ["Kidneys_Cortex", "Kidney_Cortex", "Kidney_Cortex_L+Kidney_Cortex_R", "Kidneys_Cortex_L+Kidneys_Cortex_R",
                    "Kidney_L+Kidney_R", "Kidney_Both"],
        "Renal_Hilum": ["RenalHilum", "Kidney_Hilum_L+Kidney_Hilum_R", "Kidney_Hilum"],
        "Liver": ["Liver"],
        "Lungs": ["Lung_Total", "Lung_Both", "Lung", "Lungs_Total", "Lung_L+Lung_R"],
        "PTV": ["PTV_High", "PTV1", "PTV_1"],
        "GTV": ["GTV1", "GTV_1"],
    ]

    /// Canonical names that stand for every lesion's target.
    static let targetKeys: Set<String> = ["gtv", "ctv", "itv", "ptv"]

    /// Whether `canonical` names a target (GTV, CTV, ITV, PTV).
    public static func isTarget(_ canonical: String) -> Bool { targetKeys.contains(StructureName.key(canonical)) }

    /// Canonical name → plan name or expression, from `--map`.
    public var userMap: [String: String]
    /// The plan's ROI names.
    public var planNames: [String]
    /// The plan's ROIs with closed contours (types and extents for target matching).
    public var rois: [ROI]

    public init(planNames: [String], userMap: [String: String] = [:]) {
        self.planNames = planNames
        self.userMap = userMap
        rois = []
    }

    /// A matcher over the ROIs of a structure set that have closed contours.
    public init(rois: [ROI], userMap: [String: String] = [:]) {
        self.rois = rois.filter { $0.hasClosedContours }
        planNames = self.rois.map(\.name)
        self.userMap = userMap
    }

    /// How a canonical name was matched.
    public struct Match: Sendable, Equatable, Codable {
        /// A plan ROI name, or an expression of plan ROI names (quoted where needed).
        public var expression: String
        /// "user map", "name" or "alias".
        public var how: String
    }

    /// The plan structure for `canonical`, or nil when none matches.
    /// - Throws: `SBRTError` when the user map names a structure the plan lacks.
    public func match(_ canonical: String) throws -> Match? {
        if let m = try mapped(canonical) { return m }
        if let n = exact(canonical) { return Match(expression: quote(n), how: "name") }
        let key = StructureName.key(canonical)
        let aliases = Self.builtInAliases.first { StructureName.key($0.key) == key }?.value ?? []
        for a in aliases {
            if let e = resolve(a) { return Match(expression: e, how: "alias \(a)") }
        }
        return nil
    }

    /// The user's mapping of `canonical`, resolved; nil without one.
    /// - Throws: `SBRTError` when the mapping names a structure the plan lacks.
    func mapped(_ canonical: String) throws -> Match? {
        let key = StructureName.key(canonical)
        if let (_, target) = userMap.first(where: { StructureName.key($0.key) == key }) {
            guard let e = resolve(target) else {
                throw SBRTError(.structureNotFound, "mapping \(canonical) = \"\(target)\": no such structure in the plan (structures: \(planNames.joined(separator: ", ")))")
            }
            return Match(expression: e, how: "user map")
        }
        return nil
    }

    /// Every lesion's target for a target canonical name (see the type's
    /// documentation); for other names, `match` as a one-element list (empty when none).
    /// - Throws: `SBRTError` when the user map names a structure the plan lacks.
    public func targets(_ canonical: String) throws -> [Match] {
        guard Self.isTarget(canonical), !rois.isEmpty else { return try match(canonical).map { [$0] } ?? [] }
        if let m = try mapped(canonical) { return [m] }
        let key = StructureName.key(canonical)
        let targetTypes: Set<String> = ["GTV", "CTV", "ITV", "PTV"]
        let typed = rois.filter { ($0.interpretedType ?? "").uppercased() == canonical.uppercased() }
        let named = rois.filter { !targetTypes.contains(($0.interpretedType ?? "").uppercased()) && StructureName.key($0.name).hasPrefix(key) }
        var candidates = typed + named
        let lesions = candidates.filter { !StructureName.isUnion($0.name) }
        if !lesions.isEmpty { candidates = lesions }
        guard !candidates.isEmpty else { return try match(canonical).map { [$0] } ?? [] }
        let aliasKeys = Set((Self.builtInAliases.first { StructureName.key($0.key) == key }?.value ?? []).map(StructureName.key))
        func rank(_ r: ROI) -> Int {
            let k = StructureName.key(r.name)
            if k == key { return 0 }
            if aliasKeys.contains(k) { return 1 }
            if k.range(of: "^" + key + "[0-9]+$", options: .regularExpression) != nil { return 2 }
            return 3
        }
        var chosen: [ROI] = []
        for r in candidates {
            if let k = chosen.firstIndex(where: { Self.overlap($0, r) }) {
                if rank(r) < rank(chosen[k]) { chosen[k] = r }
            } else {
                chosen.append(r)
            }
        }
        let how = typed.isEmpty ? "target by name" : "target (RT ROI Interpreted Type \(canonical.uppercased()))"
        return chosen.map { Match(expression: quote($0.name), how: how) }
    }

    /// Whether two ROIs' bounding boxes overlap (one lesion).
    static func overlap(_ a: ROI, _ b: ROI) -> Bool {
        guard let x = a.bounds, let y = b.bounds else { return false }
        return (0..<3).allSatisfy { x.min[$0] <= y.max[$0] && y.min[$0] <= x.max[$0] }
    }

    func exact(_ name: String) -> String? {
        let k = StructureName.key(name)
        return planNames.first { StructureName.key($0) == k }
    }

    /// Whether an ROI is a GTV: of that RT ROI Interpreted Type, or untyped (or of a
    /// non-target type) and named GTV….
    public static func isGTV(_ r: ROI) -> Bool {
        let type = (r.interpretedType ?? "").uppercased()
        return type == "GTV" || (!["CTV", "ITV", "PTV"].contains(type) && StructureName.key(r.name).hasPrefix("gtv"))
    }

    func quote(_ n: String) -> String { Self.quote(n) }

    /// A plan name as it is written in an expression: quoted when it holds spaces or operators.
    public static func quote(_ n: String) -> String {
        n.contains(where: { " +-&^()\"".contains($0) }) ? "\"" + n.replacingOccurrences(of: "\"", with: "") + "\"" : n
    }

    /// A name or an expression "A+B" (union only) resolved to plan names.
    func resolve(_ text: String) -> String? {
        if let n = exact(text) { return quote(n) }
        let parts = text.split(separator: "+").map { $0.trimmingSpaces() }
        guard parts.count > 1 else { return nil }
        var names: [String] = []
        for p in parts {
            guard let n = exact(p) else { return nil }
            names.append(quote(n))
        }
        return names.joined(separator: "+")
    }

    /// Reads a mapping file: `Canonical = "plan name"` lines (the protocol-file syntax; a
    /// `[structures]` header is optional).
    /// - Throws: `SBRTError` naming the file and line.
    public static func readMap(_ text: String, path: String) throws -> [String: String] {
        let doc = try ProtocolDocument.parse(text, file: path)
        var map: [String: String] = [:]
        for t in [doc.root] + doc.tables {
            for e in t.entries {
                guard let s = e.value.string else { throw SBRTError(.invalidProtocol, "\(path):\(e.line): \(e.key) must map to a quoted structure name") }
                map[e.key] = s
            }
        }
        return map
    }
}
