import DICOM
import Foundation
import TestSupport

/// Structure-aware mutations of DICOM files, for the command-line fuzzer (docs/fuzzing.md).
///
/// Data-set mutations work on the parsed tree and are written back by sbrt's own writer
/// (explicit VR little endian, sequences of undefined length): numeric strings of DS/IS
/// values, Rows/Columns/Bits, value counts, removed elements and items, contour data,
/// long text, changed VRs, short pixel data. Byte mutations then act on the encoded file:
/// element lengths, VR bytes, truncation. Every choice comes from one seeded generator,
/// so a seed and a mutant number name a mutant exactly.
public struct Mutator {
    public var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// Numbers that have broken programs: overflow, denormals, infinities, a decimal comma,
    /// signed zero, huge integers, and a 400-digit number.
    public static let numericStrings: [String] = [
        "1e308", "-1e308", "1e-320", "-1e-320", "5e-324", "inf", "-inf", "Infinity", "nan", "NaN",
        "-0", "0", "1,5", "1e15", "-1e15", "1e30", "-1e30", "1e6", "-1e6", "1e-4", "1e-9", "1e9",
        "65536", "-1", "-2", "4294967296", "9223372036854775807", "99999999999999999999999", "1e400",
        "0.000000000000000000001", "1" + String(repeating: "0", count: 400), "", " ", "+", ".", "1e", "0x10",
    ]

    /// Attributes whose numbers sbrt turns into geometry, sizes or doses.
    public static let numericTags: [Tag] = [
        .imagePositionPatient, .imageOrientationPatient, .pixelSpacing, .sliceThickness, .rescaleSlope,
        .rescaleIntercept, .doseGridScaling, .gridFrameOffsetVector, .contourData, .numberOfContourPoints,
        .numberOfFrames, .targetPrescriptionDose, .numberOfFractionsPlanned, .dvhData, .dvhDoseScaling,
        .frameOfReferenceTransformationMatrix, .roiNumber, .referencedROINumber, .beamMeterset, .beamDose,
        .deliveryMaximumDose, .windowCenter, .windowWidth, .instanceNumber, .roiDisplayColor, .sliceLocation,
        .referencedBeamNumber, .beamNumber, .numberOfBeams, .dvhNumberOfBins, .targetMinimumDose, .targetMaximumDose,
    ]

    /// Binary attributes that size the pixel data.
    public static let pixelTags: [Tag] = [.rows, .columns, .bitsAllocated, .bitsStored, .highBit, .pixelRepresentation, .samplesPerPixel]
    public static let pixelValues: [UInt16] = [0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 64, 255, 256, 4095, 32767, 32768, 65535]

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    mutating func chance(_ p: Double) -> Bool { rng.next01() < p }

    /// Applies one to three data-set mutations; returns what each did.
    public mutating func mutate(_ ds: inout DataSet) -> [String] {
        var done: [String] = []
        for _ in 0..<(1 + below(3)) {
            let roll = rng.next01()
            let d: String?
            switch roll {
            case ..<0.40: d = numeric(&ds)
            case ..<0.50: d = pixelAttribute(&ds)
            case ..<0.58: d = valueCount(&ds)
            case ..<0.64: d = removeElement(&ds)
            case ..<0.72: d = sequenceItems(&ds)
            case ..<0.84: d = contour(&ds)
            case ..<0.88: d = text(&ds)
            case ..<0.94: d = changeVR(&ds)
            default: d = pixelData(&ds)
            }
            if let d { done.append(d) }
        }
        return done
    }

    /// A DS/IS value replaced by a hostile number, or scaled by a power of ten.
    mutating func numeric(_ ds: inout DataSet) -> String? {
        let all = ds.elementPaths().filter { p in
            guard let e = ds.element(at: p) else { return false }
            return e.vr == .DS || e.vr == .IS
        }
        let targeted = all.filter { Self.numericTags.contains($0.tag) }
        guard let path = chance(0.75) && !targeted.isEmpty ? Optional(pick(targeted)) : (all.isEmpty ? nil : pick(all)) else { return nil }
        guard let e = ds.element(at: path), let values = e.textValues else { return nil }
        let index = below(values.count)
        let replacement: String
        if chance(0.7) || values.isEmpty {
            replacement = pick(Self.numericStrings)
        } else {
            let v = Double(values[index].trimmingCharacters(in: .whitespaces)) ?? 1
            let scaled = v * pow(10, Double(pick([-300, -20, -6, -3, 3, 6, 20, 300])))
            replacement = chance(0.5) ? String(scaled) : String(-v)
        }
        let every = chance(0.2)
        ds.modify(path) { el in
            el = every ? e.withText(Array(repeating: replacement, count: values.count)) : e.replacingValue(index, with: replacement)
        }
        return "\(path)\(every ? " (every value)" : "[\(index)]") = \"\(replacement.count > 24 ? String(replacement.prefix(8)) + "…(\(replacement.count) chars)" : replacement)\""
    }

    /// Rows, Columns, Bits Allocated… set to a boundary value.
    mutating func pixelAttribute(_ ds: inout DataSet) -> String? {
        let present = Self.pixelTags.filter { ds.contains($0) }
        guard !present.isEmpty else { return nil }
        let tag = pick(present), v = pick(Self.pixelValues)
        if ds[tag]?.vr == .IS {
            ds.set(tag, .IS, String(v))
        } else {
            ds.set(tag, ds[tag]?.vr ?? .US, binary: [v])
        }
        return "\(tag) = \(v)"
    }

    /// A multi-valued number with a value dropped, added, repeated or all removed.
    mutating func valueCount(_ ds: inout DataSet) -> String? {
        let paths = ds.elementPaths().filter { Self.numericTags.contains($0.tag) && ds.element(at: $0)?.textValues != nil }
        guard !paths.isEmpty else { return nil }
        let path = pick(paths)
        guard let e = ds.element(at: path), var v = e.textValues else { return nil }
        let what: String
        switch below(4) {
        case 0: v = Array(v.dropLast()); what = "one value fewer"
        case 1: v.append(pick(["0", "1", "1e308"])); what = "one value more"
        case 2: v = v + v; what = "values doubled"
        default: v = []; what = "no values"
        }
        ds.modify(path) { $0 = e.withText(v) }
        return "\(path): \(what)"
    }

    /// An element removed (usually one sbrt needs).
    mutating func removeElement(_ ds: inout DataSet) -> String? {
        let paths = ds.elementPaths()
        let needed = paths.filter { Self.numericTags.contains($0.tag) || Self.pixelTags.contains($0.tag) || $0.tag == .pixelData }
        guard let path = chance(0.7) && !needed.isEmpty ? Optional(pick(needed)) : (paths.isEmpty ? nil : pick(paths)) else { return nil }
        ds.modify(path) { $0 = nil }
        return "\(path) removed"
    }

    /// A sequence emptied, or an item removed or repeated many times.
    mutating func sequenceItems(_ ds: inout DataSet) -> String? {
        let seqs = ds.elementPaths().filter { ds.element(at: $0)?.vr == .SQ }
        guard !seqs.isEmpty else { return nil }
        let path = pick(seqs)
        guard let e = ds.element(at: path), case .sequence(var items) = e.value else { return nil }
        let what: String
        switch below(3) {
        case 0: items = []; what = "emptied"
        case 1 where !items.isEmpty: items.remove(at: below(items.count)); what = "one item removed"
        default:
            guard let item = items.first else { return nil }
            let n = pick([2, 50, 500])
            items = Array(repeating: item, count: n) + items.dropFirst()
            what = "first item repeated \(n) times"
        }
        ds.modify(path) { $0 = Element(tag: e.tag, vr: .SQ, value: .sequence(items)) }
        return "\(path) \(what)"
    }
}
