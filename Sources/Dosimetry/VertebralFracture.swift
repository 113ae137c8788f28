/// The vertebral compression fracture (VCF) risk rule after spine SBRT, by dose per
/// fraction: Sahgal A et al., J Clin Oncol 2013;31:3426 (252 patients, 410 segments; VCF
/// in 14 %). The risk was greatest at **≥ 24 Gy per fraction** (against 20–23 and ≤ 19
/// Gy/fx); the review behind sbrt words it "higher risk when dose per fraction exceeds
/// 24 Gy" (Smile et al. 2021). The flag therefore includes 24 Gy itself.
///
/// The one place this rule lives: eligibility and the re-irradiation flags both call it.
public enum VertebralFractureRisk {
    /// The lower bound of Sahgal 2013's highest-risk group, Gy per fraction.
    public static let thresholdGyPerFraction = 24.0
    public static let source = "Sahgal A et al., J Clin Oncol 2013;31:3426"

    /// Whether `dosePerFractionGy` lies in the highest-risk group (≥ 24 Gy per fraction).
    public static func isHighestRisk(dosePerFractionGy: Double) -> Bool {
        dosePerFractionGy >= thresholdGyPerFraction - 1e-9
    }
}
