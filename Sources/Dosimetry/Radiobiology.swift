import Foundation

/// The quantity a composite is expressed in.
public enum DoseQuantity: String, Sendable, Codable, CaseIterable {
    /// Equivalent dose in 2 Gy fractions, Gy (EQD2 = BED / (1 + 2/(α/β))).
    case eqd2
    /// Biologically effective dose, Gy (BED = D(1 + d/(α/β)), d = D/n).
    case bed
    /// Physical dose, Gy, summed without conversion.
    case physical

    public var label: String {
        switch self {
        case .eqd2: return "EQD2"
        case .bed: return "BED"
        case .physical: return "physical dose"
        }
    }
}

/// The linear-quadratic model and its conversions (Fowler, Br J Radiol 1989;62:679; LQ-L after Astrahan, Med Phys 2008;35:4161).
///
/// With n fractions, total dose D and dose per fraction d = D/n:
/// - BED = D(1 + d/(α/β))
/// - EQDx = BED / (1 + x/(α/β)) = D(d + α/β)/(x + α/β)
/// - LQ-L (Astrahan 2008, [NV] primary; formula [D]): above a transition dose per
///   fraction d_T the BED per fraction grows linearly with the slope LQ has at d_T:
///   BED/fx = d_T(1 + d_T/(α/β)) + (d − d_T)(1 + 2d_T/(α/β)), equal to LQ below d_T.
///   In totals: BED = D + (2·d_T·D − n·d_T²)/(α/β) when d > d_T.
///
/// Dose per fraction is always the voxel's own D/n, never the prescription per fraction
/// (voxel-wise, as DICOMautomaton's BEDConvert also requires the fraction count).
public enum Radiobiology {
    /// BED (Gy) of `totalGy` given in `fractions`, with `alphaBeta` (Gy); LQ-L above
    /// `linearAboveGy` per fraction when given.
    @inlinable
    public static func bed(totalGy D: Double, fractions n: Int, alphaBeta ab: Double, linearAboveGy dT: Double? = nil) -> Double {
        let nd = Double(n)
        if let dT, D > nd * dT {
            return D + (2 * dT * D - nd * dT * dT) / ab
        }
        return D + D * D / (nd * ab)
    }

    /// EQDx (Gy): the dose in x-Gy fractions with the same BED (x = 2 for EQD2).
    @inlinable
    public static func eqd(x: Double = 2, totalGy D: Double, fractions n: Int, alphaBeta ab: Double, linearAboveGy dT: Double? = nil) -> Double {
        bed(totalGy: D, fractions: n, alphaBeta: ab, linearAboveGy: dT) / (1 + x / ab)
    }

    /// EQD2 from BED at one α/β.
    @inlinable
    public static func eqd2(fromBED bed: Double, alphaBeta ab: Double) -> Double { bed * ab / (ab + 2) }

    /// BED from EQD2 at one α/β.
    @inlinable
    public static func bed(fromEQD2 eqd2: Double, alphaBeta ab: Double) -> Double { eqd2 * (ab + 2) / ab }

    /// The value of `quantity` for a voxel receiving `totalGy` in `fractions`.
    @inlinable
    public static func convert(_ quantity: DoseQuantity, totalGy D: Double, fractions n: Int, alphaBeta ab: Double, linearAboveGy dT: Double? = nil) -> Double {
        switch quantity {
        case .physical: return D
        case .bed: return bed(totalGy: D, fractions: n, alphaBeta: ab, linearAboveGy: dT)
        case .eqd2: return eqd(x: 2, totalGy: D, fractions: n, alphaBeta: ab, linearAboveGy: dT)
        }
    }
}
