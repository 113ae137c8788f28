/// SOP Class UIDs sbrt reads, refuses or names (PS3.4 Annex B; names as in PS3.6 Annex A).
public enum SOPClass {
    public static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    public static let mrImage = "1.2.840.10008.5.1.4.1.1.4"
    public static let petImage = "1.2.840.10008.5.1.4.1.1.128"
    public static let rtDose = "1.2.840.10008.5.1.4.1.1.481.2"
    public static let rtStructureSet = "1.2.840.10008.5.1.4.1.1.481.3"
    public static let rtPlan = "1.2.840.10008.5.1.4.1.1.481.5"
    public static let rtIonPlan = "1.2.840.10008.5.1.4.1.1.481.8"
    public static let spatialRegistration = "1.2.840.10008.5.1.4.1.1.66.1"

    /// Multi-frame image objects that sbrt refuses by name (one file holds a whole
    /// series, with per-frame geometry in functional groups): Enhanced and Legacy
    /// Converted Enhanced CT, MR and PET.
    public static let enhancedImages: Set<String> = [
        "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2",
        "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.3", "1.2.840.10008.5.1.4.1.1.4.4",
        "1.2.840.10008.5.1.4.1.1.130", "1.2.840.10008.5.1.4.1.1.128.1",
    ]

    /// The name of a SOP Class (PS3.6 Annex A) for the common classes of a radiotherapy
    /// export, else nil.
    public static func name(_ uid: String) -> String? { names[uid] }

    /// The name of `uid`, else "unknown SOP Class" (never empty), for listings.
    public static func displayName(_ uid: String?) -> String {
        guard let uid, !uid.isEmpty else { return "no SOP Class UID" }
        return names[uid] ?? "unknown SOP Class"
    }

    static let names: [String: String] = [
        "1.2.840.10008.5.1.4.1.1.1": "Computed Radiography Image Storage",
        "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image Storage - For Presentation",
        "1.2.840.10008.5.1.4.1.1.2": "CT Image Storage",
        "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image Storage",
        "1.2.840.10008.5.1.4.1.1.2.2": "Legacy Converted Enhanced CT Image Storage",
        "1.2.840.10008.5.1.4.1.1.3.1": "Ultrasound Multi-frame Image Storage",
        "1.2.840.10008.5.1.4.1.1.4": "MR Image Storage",
        "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image Storage",
        "1.2.840.10008.5.1.4.1.1.4.2": "MR Spectroscopy Storage",
        "1.2.840.10008.5.1.4.1.1.4.3": "Enhanced MR Color Image Storage",
        "1.2.840.10008.5.1.4.1.1.4.4": "Legacy Converted Enhanced MR Image Storage",
        "1.2.840.10008.5.1.4.1.1.6.1": "Ultrasound Image Storage",
        "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
        "1.2.840.10008.5.1.4.1.1.11.1": "Grayscale Softcopy Presentation State Storage",
        "1.2.840.10008.5.1.4.1.1.12.1": "X-Ray Angiographic Image Storage",
        "1.2.840.10008.5.1.4.1.1.20": "Nuclear Medicine Image Storage",
        "1.2.840.10008.5.1.4.1.1.66": "Raw Data Storage",
        "1.2.840.10008.5.1.4.1.1.66.1": "Spatial Registration Storage",
        "1.2.840.10008.5.1.4.1.1.66.2": "Spatial Fiducials Storage",
        "1.2.840.10008.5.1.4.1.1.66.3": "Deformable Spatial Registration Storage",
        "1.2.840.10008.5.1.4.1.1.66.4": "Segmentation Storage",
        "1.2.840.10008.5.1.4.1.1.66.5": "Surface Segmentation Storage",
        "1.2.840.10008.5.1.4.1.1.67": "Real World Value Mapping Storage",
        "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR Storage",
        "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR Storage",
        "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR Storage",
        "1.2.840.10008.5.1.4.1.1.88.59": "Key Object Selection Document Storage",
        "1.2.840.10008.5.1.4.1.1.104.1": "Encapsulated PDF Storage",
        "1.2.840.10008.5.1.4.1.1.128": "Positron Emission Tomography Image Storage",
        "1.2.840.10008.5.1.4.1.1.128.1": "Legacy Converted Enhanced PET Image Storage",
        "1.2.840.10008.5.1.4.1.1.130": "Enhanced PET Image Storage",
        "1.2.840.10008.5.1.4.1.1.481.1": "RT Image Storage",
        "1.2.840.10008.5.1.4.1.1.481.2": "RT Dose Storage",
        "1.2.840.10008.5.1.4.1.1.481.3": "RT Structure Set Storage",
        "1.2.840.10008.5.1.4.1.1.481.4": "RT Beams Treatment Record Storage",
        "1.2.840.10008.5.1.4.1.1.481.5": "RT Plan Storage",
        "1.2.840.10008.5.1.4.1.1.481.6": "RT Brachy Treatment Record Storage",
        "1.2.840.10008.5.1.4.1.1.481.7": "RT Treatment Summary Record Storage",
        "1.2.840.10008.5.1.4.1.1.481.8": "RT Ion Plan Storage",
        "1.2.840.10008.5.1.4.1.1.481.9": "RT Ion Beams Treatment Record Storage",
        "1.2.840.10008.5.1.4.34.7": "RT Beams Delivery Instruction Storage",
    ]
}
