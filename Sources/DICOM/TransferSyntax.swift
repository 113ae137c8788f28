/// How a data set after the file meta group is encoded (PS3.5 §10).
public struct TransferSyntax: Sendable, Equatable {
    public var uid: String
    public var explicitVR: Bool
    public var bigEndian: Bool
    public var deflated: Bool
    /// Pixel data is encapsulated (compressed); the data set itself is explicit VR LE.
    public var encapsulated: Bool

    public static let implicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2", explicitVR: false, bigEndian: false, deflated: false, encapsulated: false)
    public static let explicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1", explicitVR: true, bigEndian: false, deflated: false, encapsulated: false)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1.99", explicitVR: true, bigEndian: false, deflated: true, encapsulated: false)
    public static let explicitVRBigEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.2", explicitVR: true, bigEndian: true, deflated: false, encapsulated: false)

    /// Names of the encapsulated (compressed) syntaxes a user is likely to meet, for messages.
    public static let compressedNames: [String: String] = [
        "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless, First-Order Prediction (Process 14 SV1)",
        "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 Image Compression (Lossless Only)",
        "1.2.840.10008.1.2.4.91": "JPEG 2000 Image Compression",
        "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
        "1.2.840.10008.1.2.5": "RLE Lossless",
        "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
        "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile",
    ]

    /// The transfer syntax for `uid`, or nil when it is not one this codec can parse.
    public static func named(_ uid: String) -> TransferSyntax? {
        switch uid {
        case implicitVRLittleEndian.uid: return .implicitVRLittleEndian
        case explicitVRLittleEndian.uid: return .explicitVRLittleEndian
        case deflatedExplicitVRLittleEndian.uid: return .deflatedExplicitVRLittleEndian
        case explicitVRBigEndian.uid: return .explicitVRBigEndian
        default:
            // All encapsulated syntaxes (PS3.5 §A.4) encode the data set in explicit VR LE.
            if compressedNames[uid] != nil || uid.hasPrefix("1.2.840.10008.1.2.4.") {
                return TransferSyntax(uid: uid, explicitVR: true, bigEndian: false,
                                      deflated: false, encapsulated: true)
            }
            return nil
        }
    }

    /// A readable name, e.g. "JPEG Baseline (Process 1)".
    public var name: String {
        switch uid {
        case Self.implicitVRLittleEndian.uid: return "Implicit VR Little Endian"
        case Self.explicitVRLittleEndian.uid: return "Explicit VR Little Endian"
        case Self.deflatedExplicitVRLittleEndian.uid: return "Deflated Explicit VR Little Endian"
        case Self.explicitVRBigEndian.uid: return "Explicit VR Big Endian"
        default: return Self.compressedNames[uid] ?? "compressed transfer syntax \(uid)"
        }
    }
}
