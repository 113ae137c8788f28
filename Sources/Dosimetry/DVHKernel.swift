import Foundation
import VoxelKit

/// How a dose map's histogram is binned: bins of 0.5 mGy, or `maxGy` / 200 000 when that
/// is larger, from 0 to a little above `maxGy` (no dose is ever clamped into a last bin).
public struct HistogramLayout: Sendable, Equatable {
    /// The largest dose the histogram holds, Gy (every deposit is clamped to [0, top]).
    public let top: Double
    public let binWidthGy: Double
    /// Number of bins; the histogram has `bins + 2` slots.
    public let bins: Int

    /// - Precondition: `maxGy` is finite (callers check the dose map first).
    public init(maxGy: Double) {
        precondition(maxGy.isFinite, "dose maximum must be finite")
        top = max(maxGy, 1e-6) * 1.0001
        binWidthGy = max(0.0005, top / 200_000)
        bins = Int((top / binWidthGy).rounded(.up)) + 2
    }

}

/// One dose map's histogram under accumulation: masses (mm³) in bins of `binWidthGy`,
/// every sample spread uniformly over a dose interval.
///
/// A uniform mass on [a, b] is a step up of the density at a and a step down at b.
/// `ramps[k]` holds the density steps that fall in bin k, split with bin k + 1 in
/// proportion to where in the bin they fall (so that the mass below every bin edge is
/// exact); `points[k]` holds point masses below edge k. The cumulative curve is their
/// prefix sums (`DVHEngine.cumulativeCC`). The slots written are tracked, so that
/// partial histograms are summed and read only where they hold something.
///
/// The storage is one zeroed block from `HistogramStore` (pages never written are never
/// touched); `deallocate()` gives it back, zeroing the slots written.
public struct DoseHistogram {
    public let ramps: UnsafeMutablePointer<Double>
    public let points: UnsafeMutablePointer<Double>
    public let layout: HistogramLayout
    /// The lowest and highest slot of `ramps` written, and of `points` (`Int.max`, −1
    /// when none): kept apart so that summing and clearing touch no page of one that
    /// only the other wrote (a fresh page costs a fault and its zeroing).
    public var lowestRamp = Int.max, highestRamp = -1, lowestPoint = Int.max, highestPoint = -1
    /// The lowest and highest slot written (`Int.max`, −1 when none).
    public var lowestSlot: Int { min(lowestRamp, lowestPoint) }
    public var highestSlot: Int { max(highestRamp, highestPoint) }
    /// Σ weight × dose of the samples inside the dose grid (mm³·Gy).
    public var weightedDose = 0.0
    /// The extremes of the samples' dose intervals (see `DVHKernel`), Gy.
    public var minDose = Double.infinity, maxDose = -Double.infinity
    /// The largest dose of a sample in the grid's outermost voxel layer (−∞ when none), Gy.
    public var boundaryMax = -Double.infinity

    /// Doubles in the store's block (at least the two arrays; a pooled block may be larger).
    let blockDoubles: Int

    public init(_ layout: HistogramLayout) {
        self.layout = layout
        let slots = layout.bins + 2
        (ramps, blockDoubles) = HistogramStore.shared.take(doubles: 2 * slots)
        points = ramps + slots
    }

    /// Gives the storage back (zeroed where written); the histogram must not be used after.
    public func deallocate() {
        if lowestRamp <= highestRamp { (ramps + lowestRamp).update(repeating: 0, count: highestRamp - lowestRamp + 1) }
        if lowestPoint <= highestPoint { (points + lowestPoint).update(repeating: 0, count: highestPoint - lowestPoint + 1) }
        HistogramStore.shared.give(ramps, doubles: blockDoubles)
    }

    @inline(__always)
    mutating func touchRamps(_ lo: Int, _ hi: Int) {
        if lo < lowestRamp { lowestRamp = lo }
        if hi > highestRamp { highestRamp = hi }
    }

    @inline(__always)
    mutating func touchPoints(_ lo: Int, _ hi: Int) {
        if lo < lowestPoint { lowestPoint = lo }
        if hi > highestPoint { highestPoint = hi }
    }

    /// Adds `other`: its masses slot by slot where it wrote them, its weighted dose, and
    /// its extremes.
    mutating func add(_ other: DoseHistogram) {
        weightedDose += other.weightedDose
        minDose = min(minDose, other.minDose)
        maxDose = max(maxDose, other.maxDose)
        boundaryMax = max(boundaryMax, other.boundaryMax)
        if other.lowestRamp <= other.highestRamp {
            for k in other.lowestRamp...other.highestRamp { ramps[k] += other.ramps[k] }
            touchRamps(other.lowestRamp, other.highestRamp)
        }
        if other.lowestPoint <= other.highestPoint {
            for k in other.lowestPoint...other.highestPoint { points[k] += other.points[k] }
            touchPoints(other.lowestPoint, other.highestPoint)
        }
    }

    /// Adds mass `w` spread uniformly over [a0, b0] (clamped to [0, top]; a point mass
    /// when the interval is narrower than a thousandth of a bin: `addPoint`, else
    /// `addRamps`).
    @inline(__always)
    public mutating func addUniform(_ a0: Double, _ b0: Double, _ w: Double) {
        addClamped(clamped(a0), clamped(b0), w)
    }

    /// A dose clamped to [0, top], written so that NaN clamps to 0 instead of reaching an
    /// Int conversion.
    @inline(__always)
    func clamped(_ x: Double) -> Double { x > 0 ? min(x, layout.top) : 0 }

    /// A sample of dose `d` spread over [lo, hi] and covering fraction `c` of its cell, as a
    /// candidate for the extremes: lo and hi when whole, d when at least half covered.
    @inline(__always)
    mutating func noteExtremes(_ d: Double, _ lo: Double, _ hi: Double, coverage c: Double) {
        if c >= 1 {
            minDose = min(minDose, lo)
            maxDose = max(maxDose, hi)
        } else if c >= 0.5 {
            minDose = min(minDose, d)
            maxDose = max(maxDose, d)
        }
    }

    /// `addUniform` of [a, b], already clamped to [0, top].
    @inline(__always)
    mutating func addClamped(_ a: Double, _ b: Double, _ w: Double) {
        let delta = layout.binWidthGy
        if b - a < delta * 1e-3 {
            addPoint(a, w)
            return
        }
        // Both ends in one division instruction (lane-wise: the same quotients as a / delta
        // and b / delta).
        let x = SIMD2(a, b) / delta
        addRamps(x[0], x[1], w / (b - a))
    }

    /// The writes of two `addUniform`s in lanes: lane 0 into `h0`, lane 1 into `h1` (two
    /// maps of one sample, or one histogram twice: two samples of one map), the divisions
    /// lane-wise (the same quotients as `addClamped`'s).
    @inline(__always)
    static func uniformPair(_ h0: DoseHistogram, _ h1: DoseHistogram, _ a0: SIMD2<Double>, _ b0: SIMD2<Double>,
                            _ w: SIMD2<Double>) -> (Deposit, Deposit) {
        let a = SIMD2(h0.clamped(a0[0]), h1.clamped(a0[1])), b = SIMD2(h0.clamped(b0[0]), h1.clamped(b0[1]))
        let delta = SIMD2(h0.layout.binWidthGy, h1.layout.binWidthGy)
        // Lane by lane (`any` of a SIMD mask is a call here, not an instruction).
        let width = b - a, narrow = delta * 1e-3
        guard !(width[0] < narrow[0] || width[1] < narrow[1]) else { return (.uniform(a[0], b[0], w[0]), .uniform(a[1], b[1], w[1])) }
        let s = w / (b - a), xa = a / delta, xb = b / delta
        return (h0.rampSteps(xa[0], xb[0], s[0]), h1.rampSteps(xa[1], xb[1], s[1]))
    }

    /// A held write into one histogram's slots (`apply`): the ramp steps of `addRamps`, an
    /// `addClamped` of [a, b] (clamped), or an `addOutside`'s point mass (its extremes are
    /// taken when the write is held, in sample order).
    public enum Deposit {
        case ramps(ka: Int, kb: Int, Double, Double, Double, Double)
        case uniform(Double, Double, Double)
        case outside(Double)
    }

    /// Makes a held write.
    @inline(__always)
    mutating func apply(_ d: Deposit) {
        switch d {
        case let .ramps(ka, kb, a0, a1, b0, b1):
            ramps[ka] += a0
            ramps[ka + 1] += a1
            ramps[kb] -= b0
            ramps[kb + 1] -= b1
            touchRamps(ka, kb + 1)
        case let .uniform(a, b, w): addClamped(a, b, w)
        case let .outside(w): addOutsideMass(w)
        }
    }

    /// A point mass `w` at dose a (clamped): into the slot below the edge above it.
    @inline(__always)
    mutating func addPoint(_ a: Double, _ w: Double) {
        let k = min(Int(a / layout.binWidthGy) + 1, layout.bins + 1)
        points[k] += w
        touchPoints(k, k)
    }

    /// A uniform density `s` between bin positions xa = a / δ and xb = b / δ (a < b,
    /// clamped). The arithmetic (divisions by the bin width, not multiplications by its
    /// inverse) is the engine's since its first version: the golden DVHs depend on its
    /// last bits.
    @inline(__always)
    mutating func addRamps(_ xa: Double, _ xb: Double, _ s: Double) { apply(rampSteps(xa, xb, s)) }

    /// The four density steps of `addRamps` and their slots, as a held write.
    @inline(__always)
    func rampSteps(_ xa: Double, _ xb: Double, _ s: Double) -> Deposit {
        let delta = layout.binWidthGy
        let ka = Int(xa), kb = Int(xb)
        let fa = xa - Double(ka), fb = xb - Double(kb)
        return .ramps(ka: ka, kb: kb, s * delta * (1 - fa), s * delta * fa, s * delta * (1 - fb), s * delta * fb)
    }

    /// A mass outside the dose grid: a point mass at 0 Gy.
    @inline(__always)
    public mutating func addOutside(_ w: Double) {
        addOutsideMass(w)
        noteOutside()
    }

    /// `addOutside`'s point mass alone (a held write: `Deposit.outside`).
    @inline(__always)
    mutating func addOutsideMass(_ w: Double) {
        points[1] += w
        touchPoints(1, 1)
    }

    /// `addOutside`'s extremes alone: 0 Gy. Taken in sample order with the other samples'
    /// extremes (min and max keep the first of equal values: +0 and −0 differ).
    @inline(__always)
    mutating func noteOutside() {
        minDose = min(minDose, 0)
        maxDose = max(maxDose, 0)
    }
}

/// Zeroed blocks for histograms, kept for reuse.
///
/// A histogram of 0.5 mGy bins holds 100 000 slots per 50 Gy, but a structure writes only
/// the slots of its doses. Fresh blocks are anonymous mappings (the kernel supplies zero
/// pages on first write, untouched pages cost nothing); a block given back has had its
/// written slots zeroed, and is kept (up to `maximumPooledBytes`) so that the next DVH
/// writes into pages already mapped instead of faulting fresh ones (a composite report
/// takes about 10 histograms per structure). Thread-safe.
final class HistogramStore: @unchecked Sendable {
    static let shared = HistogramStore()
    static let maximumPooledBytes = 96 << 20

    private let lock = NSLock()
    private var pool: [(base: UnsafeMutablePointer<Double>, doubles: Int)] = []
    private var pooledBytes = 0

    /// A zeroed block of at least `doubles` values, and its size (to give back with it).
    func take(doubles: Int) -> (UnsafeMutablePointer<Double>, Int) {
        lock.lock()
        // The smallest pooled block that fits.
        var best: Int?
        for (k, b) in pool.enumerated() where b.doubles >= doubles && (best.map { b.doubles < pool[$0].doubles } ?? true) { best = k }
        if let k = best {
            let b = pool.remove(at: k)
            pooledBytes -= b.doubles * 8
            lock.unlock()
            return (b.base, b.doubles)
        }
        lock.unlock()
        let bytes = Self.mappedBytes(doubles)
        let huge = bytes >= Self.hugePage
        // A large block is mapped with room to start it on a 2 MiB boundary.
        let mapped = huge ? bytes + Self.hugePage : bytes
        guard let raw = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            fatalError("cannot map \(bytes) bytes for a DVH histogram")
        }
        guard huge else { return (raw.bindMemory(to: Double.self, capacity: doubles), doubles) }
        let start = (Int(bitPattern: raw) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        let head = start - Int(bitPattern: raw), tail = mapped - head - bytes
        if head > 0 { munmap(raw, head) }
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: start + bytes), tail) }
        let base = UnsafeMutableRawPointer(bitPattern: start)!
        // Huge pages: a structure whose doses span the histogram touches every page of it
        // (one fault per 2 MiB instead of 512).
        HugePages.advise(UnsafeMutableRawBufferPointer(start: base, count: bytes))
        return (base.bindMemory(to: Double.self, capacity: doubles), doubles)
    }

    static let hugePage = 2 << 20

    /// Bytes mapped for `doubles` values: whole 2 MiB pages from 1 MiB up (on 2 MiB boundaries).
    static func mappedBytes(_ doubles: Int) -> Int {
        let bytes = max(1, doubles) * MemoryLayout<Double>.stride
        return bytes >= hugePage / 2 ? (bytes + hugePage - 1) / hugePage * hugePage : bytes
    }

    /// Takes back a block from `take` whose values are all zero again.
    func give(_ base: UnsafeMutablePointer<Double>, doubles: Int) {
        lock.lock()
        if pooledBytes + doubles * 8 <= Self.maximumPooledBytes {
            pool.append((base, doubles))
            pooledBytes += doubles * 8
            lock.unlock()
            return
        }
        lock.unlock()
        munmap(base, Self.mappedBytes(doubles))
    }
}

/// The sampling lattice of one structure seen from the dose grid: where its cell centres
/// fall in the dose grid's continuous index space (voxel centres at integers).
public struct DVHLatticeGeometry: Sendable {
    /// Cells along u and v.
    public var nu: Int, nv: Int
    /// Cell size, mm.
    public var h: Double
    /// Index-space step from one cell to the next along u and along v.
    public var du: Vec3, dv: Vec3
    /// Index-space change per mm along the frame's u, v and n.
    public var uPerMM: Vec3, vPerMM: Vec3, nPerMM: Vec3
    /// The dose grid's size.
    public var size: SIMD3<Int>

    public init(nu: Int, nv: Int, h: Double, du: Vec3, dv: Vec3, uPerMM: Vec3, vPerMM: Vec3, nPerMM: Vec3, size: SIMD3<Int>) {
        self.nu = nu; self.nv = nv; self.h = h
        self.du = du; self.dv = dv
        self.uPerMM = uPerMM; self.vPerMM = vPerMM; self.nPerMM = nPerMM
        self.size = size
    }
}

/// What every dose map of one accumulation shares: the samples taken, their total weight
/// and the weight outside the dose grid (mm³).
public struct DVHSampleTotals: Sendable, Equatable {
    public var samples = 0
    public var weight = 0.0
    public var outside = 0.0
    public init() {}
}

/// One sample as the kernel places it: what any dose map needs to histogram it.
public struct DVHSample: Sendable {
    /// Where it falls: the linear index (≥ 0) of its interpolation cell's lower corner in
    /// the grid's interior, `DVHSample.border` within half a voxel of the outermost voxel
    /// centres, `DVHSample.outside` beyond.
    public var base: Int
    /// In the interior, the fractions within the cell; at the border, the position.
    public var fx: Double, fy: Double, fz: Double
    /// Coverage, inward boundary normal (0, 0 for none) and weight (mm³).
    public var c: Double, mu: Double, mv: Double, weight: Double
    /// Whether it lies in the grid's outermost voxel layer (`DVHKernel.inOuterLayer`).
    public var outer: Bool

    public static let border = -1, outside = -2
}

/// The DVH accumulation kernel: one sub-slice of a structure's samples into the
/// histograms of one or more dose maps on one grid.
///
/// Sample (i, j) is the box of lattice cell (i, j) × the sub-slice (thickness dz), with
/// weight w = c·h²·dz for its coverage fraction c (one occupancy model for volume and dose,
/// after Nelms et al., Med Phys 2015;42:4435). Its position in dose index space is x = x₀ + i·Δu + j·Δv; a partly
/// covered cell (c < 1) is sampled at the centroid of its covered part for a straight
/// boundary: moved (1 − c)·h/2 along the inward normal m estimated from the neighbouring
/// coverages, its box c·h thick along m. Its dose is the trilinear value D(x) with gradient
/// ∇D, spread uniformly over D ± H, where H matches the variance of the linear field over
/// the box, H² = a_u² + a_v² + a_n² with a = ½ × (change of D across the box) per axis
/// (exact for a linear field along one axis). A sample beyond half a voxel from the outermost
/// voxel centres counts at 0 Gy. Dmin/Dmax candidates: D ± H of fully covered samples,
/// D of samples at least half covered; the boundary maximum: D of samples in the grid's
/// outermost voxel layer.
///
/// `accumulate` is the kernel: a sub-slice whose sample positions all lie outside the
/// grid is added without interpolation; each row's samples are placed once (`place`, in
/// scalars: the cell lookup without clamps in the grid's interior) into `scratch`, then
/// the maps run over the row two at a time, their arithmetic in the lanes of SIMD2 (an
/// odd last map alone, its fully covered interior samples two at a time in the lanes),
/// each histogram held in a local; a map that holds one value at every voxel the
/// structure reads takes its samples as point masses, without interpolation
/// (`uniformPass`). Each pass over the row is three loops: every sample's dose, weighted
/// sum, extremes and dose interval; then the histogram writes of the intervals
/// (`DoseHistogram.Deposit`: the clamps and the divisions by the bin width, independent
/// from sample to sample, out of the first loop's dependent chain of loads, square root
/// and accumulators); then the writes, in sample order: the same additions in the same
/// order, with the cache misses of large histograms (a cumulative BED map of 350 Gy has
/// 200 000 bins of 1.75 mGy) overlapping in a loop of loads and stores instead of
/// stalling the arithmetic. (Splitting the row so cut the composite report's DVH stage
/// by about a tenth; docs/performance.md.)
/// `accumulateReference` is the plain version, every sample and map through
/// `DoseField.trilinear`, kept for tests. Both use the same arithmetic in the same order
/// (`DoseField.interpolate`, `halfWidth`, `DoseHistogram.addUniform`, lane-wise in the
/// pairs), so they agree to the bit.
/// - Complexity: O(lattice cells) per sub-slice, plus O(maps) per covered cell: 8 dose
///   loads, about 60 flops, a square root, three divisions (packed two lanes at a time)
///   and one histogram update per map and sample. The divisions and square roots, and the
///   histogram writes where the histograms outgrow the caches, bound it; the histograms
///   (0.5 mGy bins: 100 000 slots per 50 Gy) are written where neighbouring samples' doses
///   fall, one per map and chunk.
public enum DVHKernel {
    typealias Deposit = DoseHistogram.Deposit

    /// Room for one row of the kernel: its placed samples and their held histogram writes
    /// (two per sample: a pair of maps at a time).
    public struct Scratch {
        public let samples: UnsafeMutablePointer<DVHSample>
        let deposits: UnsafeMutablePointer<Deposit>
        /// The dose intervals held between a row's loops: in a pass of two maps, per sample k
        /// its lo at 2k and hi at 2k + 1 (a lane per map); in a pass of one map, per pair of
        /// samples (k, k + 1) their lo at k and hi at k + 1 (a lane per sample).
        let bounds: UnsafeMutablePointer<SIMD2<Double>>

        public init(rowLength: Int) {
            samples = .allocate(capacity: max(1, rowLength))
            deposits = .allocate(capacity: 2 * max(1, rowLength))
            bounds = .allocate(capacity: 2 * max(1, rowLength))
        }

        public func deallocate() {
            samples.deallocate()
            deposits.deallocate()
            bounds.deallocate()
        }
    }

    /// Accumulates the samples of one sub-slice into `histograms[m]` for every dose map
    /// `maps[m]` (voxels on the grid of `geometry.size`), and the shared counts into `totals`.
    /// - Parameters:
    ///   - origin: dose index of the centre of cell (0, 0) in this sub-slice.
    ///   - dz: the sub-slice's thickness, mm.
    ///   - coverage: `nu × nv` coverage fractions, row by row.
    ///   - scratch: room for one row (`Scratch(rowLength: nu)`).
    ///   - uniform: per map, the one value it holds at every voxel the samples read (a map
    ///     of one value there, `uniformPass`), NaN for a map that varies; nil: every map varies.
    public static func accumulate(_ geometry: DVHLatticeGeometry, origin x00: Vec3, thickness dz: Double,
                                  coverage: UnsafePointer<Float>, maps: UnsafeBufferPointer<UnsafePointer<Float>>,
                                  uniform: UnsafePointer<Double>? = nil,
                                  into histograms: UnsafeMutablePointer<DoseHistogram>, totals: inout DVHSampleTotals,
                                  scratch rowScratch: Scratch) {
        let scratch = rowScratch.samples, held = rowScratch.deposits
        let g = geometry
        let volumeFactor = g.h * g.h * dz
        if entirelyOutside(g, x00) {
            addAllOutside(g, coverage, volumeFactor, maps.count, histograms, &totals)
            return
        }
        // Row by row: each sample placed once into `scratch`, then the row run through
        // each map with that map's histogram held in a local.
        let xMax = Double(g.size.x - 1), yMax = Double(g.size.y - 1), zMax = Double(g.size.z - 1)
        let ends = Vec3(Double(g.size.x), Double(g.size.y), Double(g.size.z)) - 0.5
        for j in 0..<g.nv {
            let row = Vec3(x00.x + g.dv.x * Double(j), x00.y + g.dv.y * Double(j), x00.z + g.dv.z * Double(j))
            var n = 0
            for i in 0..<g.nu {
                let c = Double(coverage[j &* g.nu &+ i])
                if c <= 0 { continue }
                let s = place(g, coverage, i, j, row, c, c * volumeFactor, xMax, yMax, zMax, ends)
                totals.samples += 1
                totals.weight += s.weight
                if s.base == DVHSample.outside { totals.outside += s.weight }
                scratch[n] = s
                n &+= 1
            }
            if n == 0 { continue }
            // Maps of one value on their own; the others in pairs, the pair's arithmetic in
            // the two lanes of SIMD2 (the same IEEE operations as one map at a time, so the
            // same bits), an odd last one alone.
            var waiting = -1
            for m in 0..<maps.count {
                if let u = uniform, !u[m].isNaN {
                    uniformPass(&histograms[m], maps[m], value: u[m], scratch, n, g, dz)
                } else if waiting < 0 {
                    waiting = m
                } else {
                    rowThroughPair(&histograms[waiting], &histograms[m], maps[waiting], maps[m], scratch, n, held, rowScratch.bounds, g, dz)
                    waiting = -1
                }
            }
            if waiting >= 0 { rowThroughOne(&histograms[waiting], maps[waiting], scratch, n, held, rowScratch.bounds, g, dz) }
        }
    }

    /// A row's `n` placed samples through a map that holds the one value `value` at every
    /// voxel they read: `heldDeposit` told the dose instead of interpolating it (the
    /// trilinear form of equal corners is value + 0, +0 for a zero of either sign, with a
    /// zero gradient), so the same operations on the same numbers as the general path, and
    /// the same bits. For maps such as a course's coverage inside the grid it covers (1,
    /// and 0 at its edge). Cost: no dose loads; a square root of zero and a point deposit
    /// per sample.
    @inline(__always)
    static func uniformPass(_ histogram: inout DoseHistogram, _ map: UnsafePointer<Float>, value: Double,
                            _ scratch: UnsafeMutablePointer<DVHSample>, _ n: Int, _ g: DVHLatticeGeometry, _ dz: Double) {
        var hist = histogram
        for k in 0..<n { hist.apply(heldDeposit(&hist, map, scratch[k], g, dz, oneValue: value)) }
        histogram = hist
    }

    /// A row's `n` placed samples through two maps, lane 0 into `hist0`, in three passes:
    /// each sample's doses, weighted sums, extremes and interval (`bounds`), the
    /// non-interior ones' writes held; then the interior ones' writes (`uniformPair`: the
    /// clamps and divisions, independent from sample to sample); then the writes, in
    /// sample order. Every accumulator sees the samples in order, as `spread` gives them.
    @inline(__always)
    static func rowThroughPair(_ hist0: inout DoseHistogram, _ hist1: inout DoseHistogram, _ map0: UnsafePointer<Float>,
                               _ map1: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<DVHSample>, _ n: Int,
                               _ held: UnsafeMutablePointer<Deposit>, _ bounds: UnsafeMutablePointer<SIMD2<Double>>,
                               _ g: DVHLatticeGeometry, _ dz: Double) {
        // The histograms in locals for the row.
        var h0 = hist0, h1 = hist1
        for k in 0..<n {
            let s = scratch[k]
            if s.base >= 0 {
                let (d, gx, gy, gz) = interpolatePair(map0, map1, s.base, dy: g.size.x, dz: g.size.x &* g.size.y, s.fx, s.fy, s.fz)
                if s.outer {
                    h0.boundaryMax = max(h0.boundaryMax, d[0])
                    h1.boundaryMax = max(h1.boundaryMax, d[1])
                }
                h0.weightedDose += s.weight * d[0]
                h1.weightedDose += s.weight * d[1]
                let half = halfWidth(gx, gy, gz, s.c, s.mu, s.mv, g, dz)
                let lo = d - half, hi = d + half
                h0.noteExtremes(d[0], lo[0], hi[0], coverage: s.c)
                h1.noteExtremes(d[1], lo[1], hi[1], coverage: s.c)
                bounds[2 &* k] = lo
                bounds[2 &* k &+ 1] = hi
            } else {
                held[2 &* k] = heldDeposit(&h0, map0, s, g, dz)
                held[2 &* k &+ 1] = heldDeposit(&h1, map1, s, g, dz)
            }
        }
        for k in 0..<n where scratch[k].base >= 0 {
            (held[2 &* k], held[2 &* k &+ 1]) = DoseHistogram.uniformPair(h0, h1, bounds[2 &* k], bounds[2 &* k &+ 1],
                                                                         SIMD2(repeating: scratch[k].weight))
        }
        for k in 0..<n {
            h0.apply(held[2 &* k])
            h1.apply(held[2 &* k &+ 1])
        }
        hist0 = h0
        hist1 = h1
    }

    /// A row's `n` placed samples through one map (an odd last map; the only one of
    /// `sbrt dvh`), in three loops: each sample's dose, accumulators and interval (fully
    /// covered interior samples two at a time, in lanes; the others' writes held at
    /// once); then the pairs' held writes (`uniformPair`, the same pairing walked again);
    /// then the writes, in sample order.
    @inline(__always)
    static func rowThroughOne(_ histogram: inout DoseHistogram, _ map: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<DVHSample>,
                              _ n: Int, _ held: UnsafeMutablePointer<Deposit>, _ bounds: UnsafeMutablePointer<SIMD2<Double>>,
                              _ g: DVHLatticeGeometry, _ dz: Double) {
        var hist = histogram
        @inline(__always) func paired(_ k: Int) -> Bool { k &+ 1 < n && pairable(scratch[k]) && pairable(scratch[k &+ 1]) }
        var k = 0
        while k < n {
            if paired(k) {
                (bounds[k], bounds[k &+ 1]) = pairInterval(&hist, map, scratch[k], scratch[k &+ 1], g, dz)
                k &+= 2
            } else {
                held[k] = heldDeposit(&hist, map, scratch[k], g, dz)
                k &+= 1
            }
        }
        // The pairs' writes (the clamps and divisions: independent from pair to pair).
        k = 0
        while k < n {
            if paired(k) {
                (held[k], held[k &+ 1]) = DoseHistogram.uniformPair(hist, hist, bounds[k], bounds[k &+ 1],
                                                                   SIMD2(scratch[k].weight, scratch[k &+ 1].weight))
                k &+= 2
            } else {
                k &+= 1
            }
        }
        for k in 0..<n { hist.apply(held[k]) }
        histogram = hist
    }

    /// One placed sample of map `map`, its histogram write held: the dose, its weighted
    /// sum and extremes taken now, the write returned (`DoseHistogram.apply`). With
    /// `oneValue`, the map holds that value at every voxel the sample reads: its dose is
    /// value + 0 with a zero gradient, what interpolation gives, without the loads.
    @inline(__always)
    static func heldDeposit(_ hist: inout DoseHistogram, _ map: UnsafePointer<Float>, _ s: DVHSample, _ g: DVHLatticeGeometry,
                            _ dz: Double, oneValue: Double? = nil) -> Deposit {
        let d, gx, gy, gz: Double
        if s.base == DVHSample.outside {
            hist.noteOutside()
            return .outside(s.weight)
        } else if let v = oneValue {
            (d, gx, gy, gz) = (v + 0, 0, 0, 0)
        } else if s.base >= 0 {
            (d, gx, gy, gz) = DoseField.interpolate(map, s.base, dx: 1, dy: g.size.x, dz: g.size.x &* g.size.y, s.fx, s.fy, s.fz)
        } else {
            let (v, grad) = DoseField.trilinear(map, g.size, Vec3(s.fx, s.fy, s.fz))!
            (d, gx, gy, gz) = (v, grad.x, grad.y, grad.z)
        }
        if s.outer { hist.boundaryMax = max(hist.boundaryMax, d) }
        return heldSpread(&hist, d, gx, gy, gz, s.c, s.mu, s.mv, s.weight, g, dz)
    }

    /// `DoseField.interpolate` of two maps at once (an interior cell, dx = 1), lane 0 the
    /// first map's: the same expressions, evaluated lane-wise.
    @inline(__always)
    static func interpolatePair(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ base: Int, dy: Int, dz: Int,
                                _ fx: Double, _ fy: Double, _ fz: Double) -> (SIMD2<Double>, SIMD2<Double>, SIMD2<Double>, SIMD2<Double>) {
        let p = a + base, q = b + base
        @inline(__always) func c(_ o: Int) -> SIMD2<Double> { SIMD2(Double(p[o]), Double(q[o])) }
        return DoseField.interpolate(c(0), c(1), c(dy), c(1 &+ dy), c(dz), c(1 &+ dz), c(dy &+ dz), c(1 &+ dy &+ dz),
                                     SIMD2(repeating: fx), SIMD2(repeating: fy), SIMD2(repeating: fz))
    }

    /// Whether two placed samples can share `pairInterval`: both in the grid's interior and
    /// fully covered (no boundary normal, the same half-width form).
    @inline(__always)
    static func pairable(_ s: DVHSample) -> Bool { s.base >= 0 && s.c >= 1 }

    /// `heldDeposit` of two samples of one map, in order (s0, then s1, into each
    /// accumulator), their arithmetic in the two lanes of SIMD2: the same IEEE operations
    /// as one at a time, so the same bits; the divisions and the square root packed. Their
    /// dose intervals (lo, hi; lane per sample) are returned, for `uniformPair`'s writes.
    /// - Precondition: `pairable(s0)` and `pairable(s1)`.
    @inline(__always)
    static func pairInterval(_ hist: inout DoseHistogram, _ map: UnsafePointer<Float>, _ s0: DVHSample, _ s1: DVHSample,
                             _ g: DVHLatticeGeometry, _ dz: Double) -> (SIMD2<Double>, SIMD2<Double>) {
        let p = map + s0.base, q = map + s1.base, dy = g.size.x, dzs = g.size.x &* g.size.y
        @inline(__always) func c(_ o: Int) -> SIMD2<Double> { SIMD2(Double(p[o]), Double(q[o])) }
        let (d, gx, gy, gz) = DoseField.interpolate(c(0), c(1), c(dy), c(1 &+ dy), c(dzs), c(1 &+ dzs), c(dy &+ dzs), c(1 &+ dy &+ dzs),
                                                    SIMD2(s0.fx, s1.fx), SIMD2(s0.fy, s1.fy), SIMD2(s0.fz, s1.fz))
        if s0.outer { hist.boundaryMax = max(hist.boundaryMax, d[0]) }
        if s1.outer { hist.boundaryMax = max(hist.boundaryMax, d[1]) }
        hist.weightedDose += s0.weight * d[0]
        hist.weightedDose += s1.weight * d[1]
        // Fully covered: the half-width of `halfWidth` with c = 1 (no normal, side h).
        let half = halfWidth(gx, gy, gz, 1, 0, 0, g, dz)
        let lo = d - half, hi = d + half
        hist.noteExtremes(d[0], lo[0], hi[0], coverage: s0.c)
        hist.noteExtremes(d[1], lo[1], hi[1], coverage: s1.c)
        return (lo, hi)
    }

    /// The plain scalar reference of `accumulate`: every sample and map through `DoseField.trilinear`.
    public static func accumulateReference(_ geometry: DVHLatticeGeometry, origin x00: Vec3, thickness dz: Double,
                                           coverage: UnsafePointer<Float>, maps: UnsafeBufferPointer<UnsafePointer<Float>>,
                                           into histograms: UnsafeMutablePointer<DoseHistogram>, totals: inout DVHSampleTotals) {
        let g = geometry
        let volumeFactor = g.h * g.h * dz
        for j in 0..<g.nv {
            let rowStart = x00 + g.dv * Double(j)
            for i in 0..<g.nu {
                let c = Double(coverage[j * g.nu + i])
                if c <= 0 { continue }
                let wgt = c * volumeFactor
                totals.samples += 1
                totals.weight += wgt
                var x = rowStart + g.du * Double(i)
                var mu = 0.0, mv = 0.0
                if c < 1, let m = normal(coverage, g.nu, g.nv, i, j) {
                    (mu, mv) = m
                    let shift = (1 - c) * g.h / 2
                    x += g.uPerMM * (mu * shift) + g.vPerMM * (mv * shift)
                }
                for m in 0..<maps.count {
                    if let (d, grad) = DoseField.trilinear(maps[m], g.size, x) {
                        if inOuterLayer(x.x, x.y, x.z, g.size) { histograms[m].boundaryMax = max(histograms[m].boundaryMax, d) }
                        spread(&histograms[m], d, grad.x, grad.y, grad.z, c, mu, mv, wgt, g, dz)
                    } else {
                        if m == 0 { totals.outside += wgt }
                        histograms[m].addOutside(wgt)
                    }
                }
            }
        }
    }

    /// Where sample (i, j) falls, in scalars: its cell centre on `row` + i·Δu, moved for a
    /// partly covered cell to the centroid of its covered part; in the grid's interior, the
    /// cell DoseField.cell would find, without its clamps.
    @inline(__always)
    static func place(_ g: DVHLatticeGeometry, _ coverage: UnsafePointer<Float>, _ i: Int, _ j: Int, _ row: Vec3, _ c: Double,
                      _ wgt: Double, _ xMax: Double, _ yMax: Double, _ zMax: Double, _ ends: Vec3) -> DVHSample {
        var x = row.x + g.du.x * Double(i), y = row.y + g.du.y * Double(i), z = row.z + g.du.z * Double(i)
        var mu = 0.0, mv = 0.0
        if c < 1, let m = normal(coverage, g.nu, g.nv, i, j) {
            (mu, mv) = m
            let shift = (1 - c) * g.h / 2
            x += g.uPerMM.x * (mu * shift) + g.vPerMM.x * (mv * shift)
            y += g.uPerMM.y * (mu * shift) + g.vPerMM.y * (mv * shift)
            z += g.uPerMM.z * (mu * shift) + g.vPerMM.z * (mv * shift)
        }
        let outer = inOuterLayer(x, y, z, g.size)
        if x >= 0 && x < xMax && y >= 0 && y < yMax && z >= 0 && z < zMax {
            let i0 = Int(x), j0 = Int(y), k0 = Int(z)
            return DVHSample(base: k0 &* (g.size.x &* g.size.y) &+ j0 &* g.size.x &+ i0, fx: x - Double(i0), fy: y - Double(j0),
                             fz: z - Double(k0), c: c, mu: mu, mv: mv, weight: wgt, outer: outer)
        }
        let inside = x >= -0.5 && y >= -0.5 && z >= -0.5 && x <= ends.x && y <= ends.y && z <= ends.z
        return DVHSample(base: inside ? DVHSample.border : DVHSample.outside, fx: x, fy: y, fz: z, c: c, mu: mu, mv: mv,
                         weight: wgt, outer: outer)
    }

    /// Whether continuous index (x, y, z) lies in the grid's outermost voxel layer: within
    /// one voxel of a face on some axis (index < ½ or > n − 3⁄2); meaningful inside the grid.
    @inline(__always)
    static func inOuterLayer(_ x: Double, _ y: Double, _ z: Double, _ size: SIMD3<Int>) -> Bool {
        x < 0.5 || y < 0.5 || z < 0.5 || x > Double(size.x) - 1.5 || y > Double(size.y) - 1.5 || z > Double(size.z) - 1.5
    }

    /// The inward unit normal (u, v) of a partly covered cell's boundary, from the coverage
    /// of its four neighbours (0 beyond the lattice); nil when they give none.
    @inline(__always)
    static func normal(_ cov: UnsafePointer<Float>, _ nu: Int, _ nv: Int, _ i: Int, _ j: Int) -> (Double, Double)? {
        let k = j * nu + i
        let left = i > 0 ? Double(cov[k - 1]) : 0, right = i + 1 < nu ? Double(cov[k + 1]) : 0
        let down = j > 0 ? Double(cov[k - nu]) : 0, up = j + 1 < nv ? Double(cov[k + nu]) : 0
        let gu = right - left, gv = up - down
        let norm = (gu * gu + gv * gv).squareRoot()
        return norm > 1e-9 ? (gu / norm, gv / norm) : nil
    }

    /// A sample of dose `d` and index-space gradient (gx, gy, gz) into a histogram: spread
    /// over ± the variance-matched half-width of the dose change across its box.
    @inline(__always)
    static func spread(_ hist: inout DoseHistogram, _ d: Double, _ gx: Double, _ gy: Double, _ gz: Double,
                       _ c: Double, _ mu: Double, _ mv: Double, _ wgt: Double, _ g: DVHLatticeGeometry, _ dz: Double) {
        hist.apply(heldSpread(&hist, d, gx, gy, gz, c, mu, mv, wgt, g, dz))
    }

    /// `spread` with its histogram write held: the weighted dose and extremes taken now,
    /// the write (`addUniform` of D ± H) returned.
    @inline(__always)
    static func heldSpread(_ hist: inout DoseHistogram, _ d: Double, _ gx: Double, _ gy: Double, _ gz: Double,
                           _ c: Double, _ mu: Double, _ mv: Double, _ wgt: Double, _ g: DVHLatticeGeometry, _ dz: Double) -> Deposit {
        hist.weightedDose += wgt * d
        let half = halfWidth(gx, gy, gz, c, mu, mv, g, dz)
        let lo = d - half, hi = d + half
        hist.noteExtremes(d, lo, hi, coverage: c)
        return .uniform(hist.clamped(lo), hist.clamped(hi), wgt)
    }

    /// A sample's half-width: the dose change across its box, per axis (Gy), combined to
    /// match the variance; for one map (`Double`) or two (`SIMD2`, lane-wise).
    @inline(__always)
    static func halfWidth<T: LaneArithmetic>(_ gx: T, _ gy: T, _ gz: T, _ c: Double, _ mu: Double, _ mv: Double,
                                             _ g: DVHLatticeGeometry, _ dz: Double) -> T {
        let gu = gx * g.uPerMM.x + gy * g.uPerMM.y + gz * g.uPerMM.z
        let gv = gx * g.vPerMM.x + gy * g.vPerMM.y + gz * g.vPerMM.z
        let an = (gx * g.nPerMM.x + gy * g.nPerMM.y + gz * g.nPerMM.z) * dz / 2
        let h = g.h
        if c < 1 && (mu != 0 || mv != 0) {
            let across = (gu * mu + gv * mv) * c * h / 2, along = (-gu * mv + gv * mu) * h / 2
            return (across * across + along * along + an * an).squareRoot()
        }
        let side = c < 1 ? c.squareRoot() * h : h
        let au = gu * side / 2, av = gv * side / 2
        return (au * au + av * av + an * an).squareRoot()
    }

    /// Whether every sample position of the sub-slice (cell centres, and centroids at most
    /// h/2 from them) lies beyond half a voxel from the grid's outermost centres on some
    /// axis, with a margin far above rounding.
    static func entirelyOutside(_ g: DVHLatticeGeometry, _ x00: Vec3) -> Bool {
        let a = x00, b = x00 + g.du * Double(g.nu - 1), c = x00 + g.dv * Double(g.nv - 1), d = b + g.dv * Double(g.nv - 1)
        let lo = pointwiseMin(pointwiseMin(a, b), pointwiseMin(c, d)), hi = pointwiseMax(pointwiseMax(a, b), pointwiseMax(c, d))
        let u = g.uPerMM, v = g.vPerMM
        let reach = Vec3(abs(u.x) + abs(v.x), abs(u.y) + abs(v.y), abs(u.z) + abs(v.z)) * (g.h / 2) + Vec3(repeating: 1e-6)
        let low = lo - reach, high = hi + reach
        let n = Vec3(Double(g.size.x), Double(g.size.y), Double(g.size.z)) - 0.5
        return high.x < -0.5 || high.y < -0.5 || high.z < -0.5 || low.x > n.x || low.y > n.y || low.z > n.z
    }

    /// Every covered cell of a sub-slice outside the grid: the same sums, in the same
    /// order, as the per-sample path.
    static func addAllOutside(_ g: DVHLatticeGeometry, _ coverage: UnsafePointer<Float>, _ volumeFactor: Double,
                              _ maps: Int, _ histograms: UnsafeMutablePointer<DoseHistogram>, _ totals: inout DVHSampleTotals) {
        for k in 0..<(g.nu * g.nv) {
            let c = Double(coverage[k])
            if c <= 0 { continue }
            let wgt = c * volumeFactor
            totals.samples += 1
            totals.weight += wgt
            totals.outside += wgt
            for m in 0..<maps { histograms[m].addOutside(wgt) }
        }
    }
}
