import Dispatch

/// Wall-clock laps of a computation's stages, for `--timings` lines (monotonic clock).
public struct StageClock: Sendable {
    private var last = DispatchTime.now().uptimeNanoseconds
    public private(set) var stages: [(stage: String, seconds: Double)] = []

    public init() {}

    /// Seconds since the last lap (or since the clock was made), and restarts the lap.
    @discardableResult
    public mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) * 1e-9
    }

    /// Records the stage that ends now.
    public mutating func lap(_ stage: String) { stages.append((stage, lap())) }

    /// Records a stage timed elsewhere, and restarts the lap.
    public mutating func record(_ stage: String, _ seconds: Double) {
        stages.append((stage, seconds))
        lap()
    }
}
