/// A DICOM value representation (PS3.5 §6.2): how the bytes of a value are to be read.
public struct VR: Hashable, Sendable, CustomStringConvertible {
    /// The two ASCII bytes of the VR as they appear in explicit-VR encodings.
    public let code: UInt16

    @inlinable
    public init(_ a: UInt8, _ b: UInt8) { code = UInt16(a) << 8 | UInt16(b) }

    public init(_ text: StaticString) {
        let p = text.utf8Start
        self.init(p[0], p[1])
    }

    public var first: UInt8 { UInt8(code >> 8) }
    public var second: UInt8 { UInt8(code & 0xFF) }

    public var description: String { String(decoding: [first, second], as: UTF8.self) }

    /// Both bytes are upper-case ASCII letters, as every defined VR is.
    public var isWellFormed: Bool {
        (0x41...0x5A).contains(first) && (0x41...0x5A).contains(second)
    }

    public static let AE = VR("AE"), AS = VR("AS"), AT = VR("AT"), CS = VR("CS")
    public static let DA = VR("DA"), DS = VR("DS"), DT = VR("DT"), FD = VR("FD")
    public static let FL = VR("FL"), IS = VR("IS"), LO = VR("LO"), LT = VR("LT")
    public static let OB = VR("OB"), OD = VR("OD"), OF = VR("OF"), OL = VR("OL")
    public static let OV = VR("OV"), OW = VR("OW"), PN = VR("PN"), SH = VR("SH")
    public static let SL = VR("SL"), SQ = VR("SQ"), SS = VR("SS"), ST = VR("ST")
    public static let SV = VR("SV"), TM = VR("TM"), UC = VR("UC"), UI = VR("UI")
    public static let UL = VR("UL"), UN = VR("UN"), UR = VR("UR"), US = VR("US")
    public static let UT = VR("UT"), UV = VR("UV")

    static let all: [VR] = [AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL,
                            OV, OW, PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US,
                            UT, UV]

    /// Defined in PS3.5 Table 6.2-1.
    public var isKnown: Bool { VR.all.contains(self) }

    /// VRs whose explicit encoding has two reserved bytes and a 32-bit length (PS3.5 §7.1.2).
    public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: return true
        default: return false
        }
    }

    /// Size in bytes of one binary number, when the VR holds binary numbers; 0 for text and bytes.
    /// Used to swap byte order when reading big-endian files.
    public var binaryWordSize: Int {
        switch self {
        case .US, .SS, .OW, .AT: return 2
        case .UL, .SL, .FL, .OF, .OL: return 4
        case .FD, .OD, .SV, .UV, .OV: return 8
        default: return 0
        }
    }

    /// String VRs whose text is in the data set's character set (others are plain ASCII).
    public var usesSpecificCharacterSet: Bool {
        switch self {
        case .SH, .LO, .ST, .LT, .UC, .UT, .PN: return true
        default: return false
        }
    }

    /// Text VRs (padded with spaces, or with a NUL for UI).
    public var isText: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT:
            return true
        default: return false
        }
    }

    /// Text VRs that hold one value only: a backslash is text, not a separator.
    public var isSingleValuedText: Bool {
        switch self {
        case .LT, .ST, .UT, .UR: return true
        default: return false
        }
    }

    /// The byte used to pad a value to even length (PS3.5 §6.2).
    public var paddingByte: UInt8 {
        if self == .UI { return 0 }
        return isText ? 0x20 : 0
    }
}
