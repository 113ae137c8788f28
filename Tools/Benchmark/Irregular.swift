import DICOM
import Dispatch
import Foundation

/// The irregular-target case of the margin benchmark (`DIR-irregular`, beside the large case).
///
/// Spheres hide what margins cost on real targets: few edges, no concavities. This case
/// is a cropped lung CT around a large, lobulated and concave GTV, as a planning system
/// exports one:
///
/// - CT: 204×201×60 at 0.977×0.977×3 mm (a 200 mm field cropped around the target),
///   int16, Rescale Intercept −1024; lung parenchyma in an elliptical left lung, soft
///   tissue around it, the tumour at 30 HU; ±12 HU hash noise.
/// - RTSTRUCT: `GTV` on 27 planes, 400 points per plane (0.1–1.2 mm apart) plus a
///   satellite nodule near the top (a second island on 3 planes): three main lobes whose
///   axes twist with z, two finer lobulations, a deep cleft (concave in every plane and
///   between planes) and a waist along z; 10 992 points, 327 cc as a prism stack.
///   `Lung_L` on every slice (160 points). Every contour CLOSED_PLANAR on a CT plane,
///   referencing it.
///
/// Geometry is deterministic; UIDs are new on each generation.
enum IrregularCase {
    /// The case's folder beside the large case's `dir`.
    static func folder(besides dir: String) -> String {
        (dir.hasSuffix("/") ? String(dir.dropLast()) : dir) + "-irregular"
    }

    static let nx = 204, ny = 201, nz = 60
    static let pixel = 0.977, sliceGap = 3.0
    static let originX = 20 - Double(nx - 1) * pixel / 2, originY = -Double(ny - 1) * pixel / 2
    static let originZ = -Double(nz - 1) * sliceGap / 2   // −88.5 … +88.5 mm
    static func sliceZ(_ k: Int) -> Double { originZ + Double(k) * sliceGap }

    /// The GTV's centre (LPS mm) and half-height along z.
    static let centre = (x: 22.0, y: -4.0, z: 1.5)
    static let halfHeightMM = 39.5
    /// Mean in-plane radius at the GTV's widest plane, mm.
    static let equatorRadiusMM = 46.0
    static let pointsPerContour = 400
    /// The satellite nodule: centre and radius, mm.
    static let satellite = (x: 67.4, y: 25.2, z: 31.5, r: 6.5)
    static let lung = (x: 22.0, y: 2.0, a: 82.0, b: 88.0)

    /// The GTV's radius (mm) at in-plane angle θ (about the centre) on the plane z.
    static func gtvRadius(_ theta: Double, _ z: Double) -> Double {
        let t = (z - centre.z) / halfHeightMM
        guard abs(t) < 1 else { return 0 }
        // A waist between an upper and a lower lobe, blunt ends.
        let profile = pow(1 - t * t, 0.42) * (1 - 0.14 * exp(-pow((t - 0.1) / 0.22, 2)))
        // Three lobes whose axes twist with z, finer lobulation, a little contouring jitter.
        var l = 1 + 0.17 * cos(3 * (theta - 0.7 * t)) + 0.07 * cos(5 * theta + 1.3 + 2.1 * t)
            + 0.035 * cos(9 * theta + 0.4 + 3.3 * t) + 0.008 * sin(23 * theta + 5.1 * t)
        // A deep cleft (concave), shifting round with z.
        let cleftAngle = 2.2 + 0.5 * t
        var d = (theta - cleftAngle).truncatingRemainder(dividingBy: 2 * Double.pi)
        if d > Double.pi { d -= 2 * Double.pi }
        if d < -Double.pi { d += 2 * Double.pi }
        l -= 0.38 * exp(-(d * d) / (0.28 * 0.28))
        return equatorRadiusMM * profile * l
    }

    /// The GTV's contours on plane z: the main body and, where it reaches, the satellite.
    static func gtvPolygons(_ z: Double) -> [[(Double, Double)]] {
        var out: [[(Double, Double)]] = []
        let n = pointsPerContour
        if gtvRadius(0, z) > 0.5 {
            out.append((0..<n).map { m in
                let th = 2 * Double.pi * Double(m) / Double(n)
                let r = gtvRadius(th, z)
                return (centre.x + r * cos(th), centre.y + r * sin(th))
            })
        }
        let dz = z - satellite.z
        if abs(dz) < satellite.r - 0.5 {
            let rr = (satellite.r * satellite.r - dz * dz).squareRoot()
            out.append(CaseGenerator.ellipse(cx: satellite.x, cy: satellite.y, a: rr, b: rr * 0.8, points: 64))
        }
        return out
    }

    /// Whether (x, y, z) lies in the GTV (for the CT's tumour density).
    static func inGTV(_ x: Double, _ y: Double, _ z: Double) -> Bool {
        let dx = x - centre.x, dy = y - centre.y
        var theta = atan2(dy, dx)
        if theta < 0 { theta += 2 * Double.pi }
        if (dx * dx + dy * dy).squareRoot() < gtvRadius(theta, z) { return true }
        let sx = x - satellite.x, sy = (y - satellite.y) / 0.8, sz = z - satellite.z
        return sx * sx + sy * sy + sz * sz < satellite.r * satellite.r
    }

    static func generate(into dir: String) throws {
        let fm = FileManager.default
        let complete = (dir as NSString).appendingPathComponent(".complete")
        if fm.fileExists(atPath: complete) { return }
        try CaseGenerator.prepareFolder(dir)
        var ctx = CaseGenerator.Context()
        ctx.patientID = "SBRT-BENCH-002"
        ctx.patientName = "Bench^Irregular^Lung"
        let sopUIDs = (0..<nz).map { _ in UID.generate() }
        var names = NameSource(seed: 0x5B27_BE7C_0002)
        let ctNames = (0..<nz).map { _ in names.next() }
        let ctxCopy = ctx
        try CaseGenerator.writeConcurrently(nz, names: ctNames, in: dir) { k in ctSlice(k, ctxCopy, sopUIDs[k]) }
        let (ss, gtvPoints) = structureSet(ctx, sopUIDs)
        try DICOMWriter.write(ss, to: (dir as NSString).appendingPathComponent(names.next()))
        try fm.removeItem(atPath: (dir as NSString).appendingPathComponent(".sbrt-bench-partial"))
        try Data("sbrt-bench irregular-target case\n".utf8).write(to: URL(fileURLWithPath: complete))
        print("sbrt-bench: wrote \(dir) (CT \(nx)×\(ny)×\(nz), GTV \(gtvPoints) points, \(f(gtvVolumeCC(), 1)) cc as a prism stack)")
    }

    /// The GTV's prism-stack volume (Σ shoelace area × slice), cc.
    static func gtvVolumeCC() -> Double {
        var sum = 0.0
        for k in 0..<nz {
            for poly in gtvPolygons(sliceZ(k)) {
                var a = 0.0
                for m in poly.indices {
                    let p = poly[m], q = poly[(m + 1) % poly.count]
                    a += p.0 * q.1 - q.0 * p.1
                }
                sum += abs(a) / 2 * sliceGap
            }
        }
        return sum / 1000
    }

    static func ctSlice(_ k: Int, _ ctx: CaseGenerator.Context, _ sop: String) -> DataSet {
        var ds = DataSet()
        CaseGenerator.patientStudy(&ds, ctx)
        ds.set(.imageType, .CS, "ORIGINAL", "PRIMARY", "AXIAL")
        ds.set(.sopClassUID, .UI, CaseGenerator.ctSOPClass)
        ds.set(.sopInstanceUID, .UI, sop)
        ds.set(.modality, .CS, "CT")
        ds.set(.seriesDescription, .LO, "Thorax 3mm cropped")
        ds.set(.sliceThickness, decimals: [sliceGap])
        ds.set(.patientPosition, .CS, "HFS")
        ds.set(.seriesInstanceUID, .UI, ctx.ctSeriesUID)
        ds.set(.seriesNumber, integers: [2])
        ds.set(.instanceNumber, integers: [k + 1])
        let z = sliceZ(k)
        ds.set(.imagePositionPatient, decimals: [originX, originY, z])
        ds.set(.imageOrientationPatient, decimals: [1, 0, 0, 0, 1, 0])
        ds.set(.frameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
        ds.set(.positionReferenceIndicator, .LO, "")
        CaseGenerator.ctPixelModule(&ds, rows: ny, columns: nx, pixelMM: pixel)
        var px = [Int16](repeating: 0, count: nx * ny)
        for j in 0..<ny {
            let y = originY + Double(j) * pixel
            for i in 0..<nx {
                let x = originX + Double(i) * pixel
                let lx = (x - lung.x) / lung.a, ly = (y - lung.y) / lung.b
                var hu = lx * lx + ly * ly < 1 ? -830.0 : 40.0
                if inGTV(x, y, z) { hu = 30 }
                hu += CaseGenerator.noise(i, j, k)
                px[j * nx + i] = Int16(clamping: Int(hu.rounded()) + 1024)
            }
        }
        ds.set(.pixelData, .OW, binary: px)
        return ds
    }

    static func structureSet(_ ctx: CaseGenerator.Context, _ sopUIDs: [String]) -> (DataSet, Int) {
        var ds = DataSet()
        CaseGenerator.patientStudy(&ds, ctx)
        ds.set(.sopClassUID, .UI, CaseGenerator.rtStructSOPClass)
        ds.set(.sopInstanceUID, .UI, ctx.structUID)
        ds.set(.modality, .CS, "RTSTRUCT")
        ds.set(.seriesInstanceUID, .UI, ctx.structSeriesUID)
        ds.set(.seriesNumber, integers: [3])
        ds.set(.instanceNumber, integers: [1])
        ds.set(.structureSetLabel, .SH, "LUNG_IRREG")
        ds.set(.structureSetDate, .DA, "20240316")
        ds.set(.structureSetTime, .TM, "090000")
        let images = sopUIDs.map { uid in
            CaseGenerator.item { i in
                i.set(.referencedSOPClassUID, .UI, CaseGenerator.ctSOPClass)
                i.set(.referencedSOPInstanceUID, .UI, uid)
            }
        }
        ds.set(.referencedFrameOfReferenceSequence, items: [CaseGenerator.item { f in
            f.set(.frameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
            f.set(.rtReferencedStudySequence, items: [CaseGenerator.item { s in
                s.set(.referencedSOPClassUID, .UI, "1.2.840.10008.3.1.2.3.1")
                s.set(.referencedSOPInstanceUID, .UI, ctx.studyUID)
                s.set(.rtReferencedSeriesSequence, items: [CaseGenerator.item { se in
                    se.set(.seriesInstanceUID, .UI, ctx.ctSeriesUID)
                    se.set(.contourImageSequence, items: images)
                }])
            }])
        }])
        let rois: [(Int, String, String, [Int], (Double) -> [[(Double, Double)]])] = [
            (1, "GTV", "GTV", [255, 0, 255], gtvPolygons),
            (2, "Lung_L", "ORGAN", [0, 200, 255], { _ in
                [CaseGenerator.ellipse(cx: lung.x, cy: lung.y, a: lung.a, b: lung.b, points: 160)] }),
        ]
        ds.set(.structureSetROISequence, items: rois.map { r in
            CaseGenerator.item { i in
                i.set(.roiNumber, integers: [r.0])
                i.set(.referencedFrameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
                i.set(.roiName, .LO, r.1)
                i.set(.roiGenerationAlgorithm, .CS, "MANUAL")
            }
        })
        var gtvPoints = 0
        ds.set(.roiContourSequence, items: rois.map { r in
            CaseGenerator.item { i in
                i.set(.roiDisplayColor, .IS, r.3.map(String.init).joined(separator: "\\"))
                var contours: [DataSet] = []
                for k in 0..<nz {
                    let z = sliceZ(k)
                    for poly in r.4(z) {
                        if r.0 == 1 { gtvPoints += poly.count }
                        contours.append(CaseGenerator.item { c in
                            c.set(.contourImageSequence, items: [images[k]])
                            c.set(.contourGeometricType, .CS, "CLOSED_PLANAR")
                            c.set(.numberOfContourPoints, integers: [poly.count])
                            c.set(.contourNumber, integers: [contours.count + 1])
                            c.set(.contourData, .DS, strings: poly.flatMap { [CaseGenerator.mm($0.0), CaseGenerator.mm($0.1), CaseGenerator.mm(z)] })
                        })
                    }
                }
                i.set(.contourSequence, items: contours)
                i.set(.referencedROINumber, integers: [r.0])
            }
        })
        ds.set(.rtROIObservationsSequence, items: rois.map { r in
            CaseGenerator.item { i in
                i.set(.observationNumber, integers: [r.0])
                i.set(.referencedROINumber, integers: [r.0])
                i.set(.rtROIInterpretedType, .CS, r.2)
                i.set(.roiInterpreter, .PN, "")
            }
        })
        ds.set(.approvalStatus, .CS, "APPROVED")
        return (ds, gtvPoints)
    }
}
