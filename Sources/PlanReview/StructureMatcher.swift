import Base
import Foundation

/// Finds the plan's structure for a protocol's canonical (TG-263) name.
///
/// Order: the user's mapping (`Canonical = "plan name or expression"`), then the
/// canonical name itself, then the built-in aliases. Names compare case-, space-,
/// underscore- and hyphen-insensitively (`Spinal_Cord` = `spinal cord` = `SPINALCORD`).
/// An alias may be an expression of plan names (`Lung_L+Lung_R`); it matches when
/// every name in it exists.
public struct StructureMatcher: Sendable {
    /// Canonical name → aliases (names or expressions), for the organs of the shipped protocols.
    public static let builtInAliases: [String: [String]] = [
        "SpinalCord": ["Cord", "Spinal_Cord", "SpinalCanal_Cord", "Cord_Spinal", "Myelon"],
        "Brainstem": ["BrainStem", "Brain_Stem"],
        "OpticPathway": ["OpticChiasm", "Optic_Chiasm", "Chiasm", "OpticNrv_L+OpticNrv_R+OpticChiasm"],
        "Cochlea": ["Cochlea_L+Cochlea_R", "Cochlea_L", "Cochlea_R"],
        "CaudaEquina": ["Cauda_Equina", "Cauda"],
        "SacralPlexus": ["Sacral_Plexus", "SacralNerves", "Sacral_Nerves", "Nrv_Sacral", "SacralPlex"],
        "Esophagus": ["Oesophagus", "Esoph"],
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
        "Kidneys": ["Kidney_L+Kidney_R", "Kidneys_Cortex", "Kidney_Cortex_L+Kidney_Cortex_R", "Kidney_Both"],
        "Renal_Hilum": ["RenalHilum", "Kidney_Hilum_L+Kidney_Hilum_R", "Kidney_Hilum"],
        "Liver": ["Liver"],
        "Lungs": ["Lung_Total", "Lung_Both", "Lung", "Lungs_Total", "Lung_L+Lung_R", "LungL+LungR", "Lung_Left+Lung_Right", "Lung L+Lung R"],
        "PTV": ["PTV_High", "PTV1", "PTV_1"],
        "GTV": ["GTV1", "GTV_1"],
    ]

    /// Canonical name → plan name or expression, from `--map`.
    public var userMap: [String: String]
    /// The plan's ROI names.
    public var planNames: [String]

    public init(planNames: [String], userMap: [String: String] = [:]) {
        self.planNames = planNames
        self.userMap = userMap
    }

    /// Lower case, letters and digits only.
    public static func normalise(_ s: String) -> String {
        String(s.lowercased().filter { $0.isLetter || $0.isNumber })
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
        let key = Self.normalise(canonical)
        if let (_, target) = userMap.first(where: { Self.normalise($0.key) == key }) {
            guard let e = resolve(target) else {
                throw SBRTError(.invalidProtocol, "mapping \(canonical) = \"\(target)\": no such structure in the plan (structures: \(planNames.joined(separator: ", ")))")
            }
            return Match(expression: e, how: "user map")
        }
        if let n = exact(canonical) { return Match(expression: quote(n), how: "name") }
        let aliases = Self.builtInAliases.first { Self.normalise($0.key) == key }?.value ?? []
        for a in aliases {
            if let e = resolve(a) { return Match(expression: e, how: "alias") }
        }
        return nil
    }

    func exact(_ name: String) -> String? {
        let k = Self.normalise(name)
        return planNames.first { Self.normalise($0) == k }
    }

    func quote(_ n: String) -> String {
        n.contains(where: { " +-&^()\"".contains($0) }) ? "\"" + n.replacingOccurrences(of: "\"", with: "") + "\"" : n
    }

    /// A name or an expression "A+B" (union only) resolved to plan names.
    func resolve(_ text: String) -> String? {
        if let n = exact(text) { return quote(n) }
        let parts = text.split(separator: "+").map { $0.trimmingCharacters(in: .whitespaces) }
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
