import Foundation

/// When is a number known where a structure leaves the dose grid.
///
/// Parts of a structure outside the dose grid count at 0 Gy in its DVH. A row is **not
/// evaluable** when its number depends on dose the grid does not hold:
/// - the structure lies wholly outside the grid (≥ 99.95 % of its volume), or
/// - part of it (more than 0.05 %) lies outside and the largest dose inside the
///   structure at the grid's boundary (its outermost voxel layer) is at least 10 % of the
///   dose the row is about (the limit of a dose metric, the threshold of a volume
///   metric, Rx or 50 % Rx for the isodose indices): there the unknown part may carry
///   dose that matters.
/// Below 10 % the dose leaving the grid is taken as negligible, and the row says so.
///
/// `sbrt check` applies it to a row on one dose grid; the composite to a re-irradiation
/// flag on each course's dose grid (registered and resampled onto the reference grid).
public enum GridCoverageRule {
    public static let outsideFraction = 0.0005
    public static let negligibleFraction = 0.10

    public enum Outcome: Equatable, Sendable {
        case inside
        case negligible(String)
        case notEvaluable(String)
    }

    /// Assesses one structure's DVH for a row about `referenceDoseGy` (nil: unknown).
    public static func assess(_ dvh: DVH, structure: String, referenceDoseGy: Double?) -> Outcome {
        assess(outsideFraction: dvh.outsideFraction, boundaryDose: dvh.boundaryMaxGy, referenceDose: referenceDoseGy, structure: structure)
    }

    /// The rule on its inputs: the fraction (0–1) of `structure` outside `grid`, the
    /// largest dose inside it at the grid's boundary and the dose the number is about,
    /// both in `unit` (nil: unknown); `about` names what the number belongs to.
    public static func assess(outsideFraction outside: Double, boundaryDose: Double?, referenceDose: Double?, structure: String,
                              grid: String = "the dose grid", unit: String = "Gy", about: String = "the row") -> Outcome {
        let pct = 100 * outside
        if outside >= 1 - outsideFraction {
            return .notEvaluable(String(format: "%@ lies wholly outside %@ (%.1f %% of its volume): its dose is not known", structure, grid, pct))
        }
        guard outside > outsideFraction else { return .inside }
        let part = String(format: "%.1f %% of %@ lies outside %@", pct, structure, grid)
        guard let b = boundaryDose, let ref = referenceDose, ref > 0 else {
            return .notEvaluable(part + " and the dose at the grid's boundary cannot be weighed against \(about)'s dose")
        }
        let share = 100 * b / ref
        if b >= negligibleFraction * ref {
            return .notEvaluable(part + String(format: ", and the dose at the grid's boundary inside it (%.2f %@) is %.0f %% of the %.2f %@ %@ is about (≥ %.0f %%: not negligible)", b, unit, share, ref, unit, about, 100 * negligibleFraction))
        }
        return .negligible(part + String(format: " (counted at 0 Gy); the dose at the grid's boundary inside it (%.2f %@) is %.1f %% of the %.2f %@ %@ is about: negligible", b, unit, share, ref, unit, about))
    }
}
