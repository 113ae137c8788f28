import RTModel

/// sbrt's DVH beside the planning system's embedded DVH of the same ROI.
public struct EmbeddedComparison: Codable, Sendable {
    public struct Pair: Codable, Sendable {
        public var planningSystem: Double?
        public var sbrt: Double?
    }
    public var structure: String
    public var roiNumber: Int
    /// Their volume unit: "CM3" or "PERCENT" (then volumes are not compared).
    public var volumeUnits: String
    public var volume: Pair
    public var minGy: Pair
    public var meanGy: Pair
    public var maxGy: Pair
    public var d95Gy: Pair
    public var d50Gy: Pair
    public var d5Gy: Pair
    /// Largest |V_sbrt(D) − V_TPS(D)| along the curve, in % of each one's total volume,
    /// and the dose where it occurs.
    public var largestGapPercent: Double
    public var largestGapAtGy: Double

    /// Compares `ours` with `theirs` (both cumulative). Their min/mean/max are computed
    /// from their DVH data, not from the file's summary attributes.
    public init(structure: String, roiNumber: Int, ours: DVH, theirs: EmbeddedDVH) {
        self.structure = structure
        self.roiNumber = roiNumber
        volumeUnits = theirs.volumeUnits
        let theirTotal = theirs.totalVolume
        volume = Pair(planningSystem: theirs.volumeUnits == "CM3" ? theirTotal : nil, sbrt: ours.volumeCC)
        minGy = Pair(planningSystem: theirs.minDose, sbrt: ours.minGy)
        meanGy = Pair(planningSystem: theirs.meanDose, sbrt: ours.meanGy)
        maxGy = Pair(planningSystem: theirs.maxDose, sbrt: ours.maxGy)
        func theirDose(_ percent: Double) -> Double? {
            guard theirTotal > 0 else { return nil }
            let target = theirTotal * percent / 100
            let d = theirs.doses, v = theirs.volumes
            for n in 0..<(v.count - 1) where v[n] >= target && v[n + 1] < target {
                let t = (v[n] - target) / (v[n] - v[n + 1])
                return d[n] + t * (d[n + 1] - d[n])
            }
            return nil
        }
        d95Gy = Pair(planningSystem: theirDose(95), sbrt: ours.dose(hottestPercent: 95))
        d50Gy = Pair(planningSystem: theirDose(50), sbrt: ours.dose(hottestPercent: 50))
        d5Gy = Pair(planningSystem: theirDose(5), sbrt: ours.dose(hottestPercent: 5))
        var gap = 0.0, at = 0.0
        if theirTotal > 0 {
            for (d, v) in zip(theirs.doses, theirs.volumes) {
                let g = abs(ours.volumePercent(atLeast: d) - 100 * v / theirTotal)
                if g > gap { gap = g; at = d }
            }
        }
        largestGapPercent = gap
        largestGapAtGy = at
    }
}
