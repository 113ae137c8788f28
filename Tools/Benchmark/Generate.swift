import DICOM
import Dispatch
import Foundation

/// Writes a large, realistic-looking synthetic lung SBRT case with sbrt's own writer:
///
/// - CT: 512×512×160 slices, 0.98×0.98×2 mm, int16 signed (PixelRepresentation 1),
///   RescaleIntercept −1024; an elliptical torso with skin fat, lungs (upper part),
///   ribs, vertebrae and spinal canal, a bladder, rectum and femoral heads (lower part),
///   and a carbon-fibre couch below the patient; ±12 HU hash noise. One file per slice,
///   random-looking names, so path order is not slice order.
/// - RTSTRUCT: 7 ROIs (BODY on every slice with 300–599 points, PTV and GTV spheres of
///   60 and 40 mm in the left lung, SpinalCord, Rectum, Bladder, Lung_L), all contours
///   CLOSED_PLANAR on CT planes and referencing their CT image.
/// - RTDOSE: 200×200×64 at 2.5 mm, 32-bit unsigned, Dose Grid Scaling, relative Grid
///   Frame Offset Vector, a steep SBRT-like dose around the PTV (≈ 50 Gy peak, 40 Gy at
///   the PTV edge), zero outside the body. The grid is cropped in z around the target,
///   as SBRT dose grids usually are, so Rectum, Bladder and the ends of SpinalCord and
///   Lung_L lie outside it (`sbrt info` warns about that, as it should).
/// - RTPLAN: one fraction group of 5 fractions, 2 beams, Target Prescription Dose 40 Gy.
///
/// Geometry is deterministic; UIDs are new on each generation (UID.generate()).
enum CaseGenerator {
    // CT lattice
    static let nx = 512, ny = 512, nz = 160
    static let pixel = 0.98, sliceGap = 2.0
    static let originX = -Double(nx - 1) * pixel / 2, originY = -Double(ny - 1) * pixel / 2
    static let originZ = -Double(nz - 1) * sliceGap / 2   // −159 … +159 mm
    static func sliceZ(_ k: Int) -> Double { originZ + Double(k) * sliceGap }

    // Dose lattice
    static let dnx = 200, dny = 200, dnz = 64
    static let dgrid = 2.5

    // Anatomy (LPS mm: +x patient left, +y posterior, +z head)
    static let bodyCentreY = 10.0
    static func bodyAxes(_ z: Double) -> (a: Double, b: Double) {
        (165 + 10 * cos(z / 80), 105 + 6 * sin(z / 70))
    }
    static let target = (x: 75.0, y: 0.0, z: 30.0)
    static let ptvRadius = 30.0, gtvRadius = 20.0
    static let lungZ = (-40.0, 159.0)
    static func lungAxes(_ z: Double) -> (a: Double, b: Double)? {
        guard z >= lungZ.0 && z <= lungZ.1 else { return nil }
        // Tapers towards the base and the apex.
        let t = (z - lungZ.0) / (lungZ.1 - lungZ.0)   // 0 base … 1 apex
        let s = max(0.25, min(1, 4 * t * (1.15 - t)))
        return (50 * s, 68 * s)
    }
    static let lungCentreX = 75.0, lungCentreY = 5.0
    static let cordCentreY = 95.0, cordRadius = 7.0
    static let cordZ = (-60.0, 159.0)
    static let rectumY = 50.0, rectumRadius = 16.0, rectumZ = (-159.0, -90.0)
    static let bladderY = -35.0, bladderAxes = (a: 45.0, b: 32.0), bladderZ = (-150.0, -100.0)

    static let ctSOPClass = "1.2.840.10008.5.1.4.1.1.2"
    static let rtDoseSOPClass = "1.2.840.10008.5.1.4.1.1.481.2"
    static let rtStructSOPClass = "1.2.840.10008.5.1.4.1.1.481.3"
    static let rtPlanSOPClass = "1.2.840.10008.5.1.4.1.1.481.5"

    struct Context {
        var patientID = "SBRT-BENCH-001"
        var patientName = "Bench^Large^Lung"
        var studyUID = UID.generate()
        var frameOfReferenceUID = UID.generate()
        var ctSeriesUID = UID.generate()
        var ctSOPUIDs: [String] = (0..<CaseGenerator.nz).map { _ in UID.generate() }
        var structSeriesUID = UID.generate()
        var structUID = UID.generate()
        var doseSeriesUID = UID.generate()
        var doseUID = UID.generate()
        var planSeriesUID = UID.generate()
        var planUID = UID.generate()
    }

    static func generate(into dir: String) throws {
        let fm = FileManager.default
        let complete = (dir as NSString).appendingPathComponent(".complete")
        let partial = (dir as NSString).appendingPathComponent(".sbrt-bench-partial")
        if fm.fileExists(atPath: complete) {
            print("sbrt-bench: \(dir) is already complete (remove \(complete) to regenerate)")
            return
        }
        try prepareFolder(dir)

        let t0 = now()
        let ctx = Context()
        var names = NameSource(seed: 0x5B27_BE7C_0001)
        let ctNames = (0..<nz).map { _ in names.next() }

        // CT slices, written concurrently.
        try writeConcurrently(nz, names: ctNames, in: dir) { k in ctSlice(k, ctx) }
        let t1 = now()

        try DICOMWriter.write(structureSet(ctx), to: (dir as NSString).appendingPathComponent(names.next()))
        let t2 = now()
        try DICOMWriter.write(dose(ctx), to: (dir as NSString).appendingPathComponent(names.next()))
        let t3 = now()
        try DICOMWriter.write(plan(ctx), to: (dir as NSString).appendingPathComponent(names.next()))

        try fm.removeItem(atPath: partial)
        try Data("sbrt-bench large case\n".utf8).write(to: URL(fileURLWithPath: complete))
        print("sbrt-bench: wrote \(dir) (CT \(nz) slices \(f(t1 - t0, 2)) s, RTSTRUCT \(f(t2 - t1, 2)) s, "
              + "RTDOSE \(f(t3 - t2, 2)) s, total \(f(now() - t0, 2)) s)")
    }

    // MARK: Common modules

    /// Makes `dir` ready for a new case: creates it, or empties it when an earlier
    /// generation left it partial; refuses a file or a non-empty folder sbrt-bench did not
    /// make. Leaves the `.sbrt-bench-partial` marker, which the generator removes at the end.
    static func prepareFolder(_ dir: String) throws {
        let fm = FileManager.default
        let partial = (dir as NSString).appendingPathComponent(".sbrt-bench-partial")
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { throw BenchError("\(dir) exists and is not a folder") }
            let entries = try fm.contentsOfDirectory(atPath: dir)
            if !entries.isEmpty {
                guard fm.fileExists(atPath: partial) else {
                    throw BenchError("\(dir) is not empty and was not made by sbrt-bench; choose another folder")
                }
                for e in entries { try fm.removeItem(atPath: (dir as NSString).appendingPathComponent(e)) }
            }
        } else {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try Data().write(to: URL(fileURLWithPath: partial))
    }

    /// Writes `count` data sets, `make(k)` as `names[k]` in `dir`, concurrently.
    static func writeConcurrently(_ count: Int, names: [String], in dir: String, _ make: @escaping @Sendable (Int) -> DataSet) throws {
        var failures = [Error?](repeating: nil, count: count)
        failures.withUnsafeMutableBufferPointer { f in
            let fails = f
            DispatchQueue.concurrentPerform(iterations: count) { k in
                do {
                    try DICOMWriter.write(make(k), to: (dir as NSString).appendingPathComponent(names[k]))
                } catch {
                    fails[k] = error
                }
            }
        }
        if let e = failures.compactMap({ $0 }).first { throw e }
    }

    /// The Image Pixel and CT Image attributes of the generated CT slices: int16 signed,
    /// one sample, Rescale Intercept −1024 (stored value = HU + 1024).
    static func ctPixelModule(_ ds: inout DataSet, rows ny: Int, columns nx: Int, pixelMM pixel: Double) {
        ds.set(.samplesPerPixel, .US, binary: [UInt16(1)])
        ds.set(.photometricInterpretation, .CS, "MONOCHROME2")
        ds.set(.rows, .US, binary: [UInt16(ny)])
        ds.set(.columns, .US, binary: [UInt16(nx)])
        ds.set(.pixelSpacing, decimals: [pixel, pixel])
        ds.set(.bitsAllocated, .US, binary: [UInt16(16)])
        ds.set(.bitsStored, .US, binary: [UInt16(16)])
        ds.set(.highBit, .US, binary: [UInt16(15)])
        ds.set(.pixelRepresentation, .US, binary: [UInt16(1)])
        ds.set(.rescaleIntercept, decimals: [-1024])
        ds.set(.rescaleSlope, decimals: [1])
        ds.set(.rescaleType, .LO, "HU")
    }

    static func patientStudy(_ ds: inout DataSet, _ ctx: Context) {
        ds.set(.specificCharacterSet, .CS, "ISO_IR 100")
        ds.set(.studyDate, .DA, "20240315")
        ds.set(.studyTime, .TM, "101500")
        ds.set(.accessionNumber, .SH, "BENCH0001")
        ds.set(.referringPhysicianName, .PN, "")
        ds.set(.manufacturer, .LO, "sbrt-bench")
        ds.set(.institutionName, .LO, "Synthetic Institute")
        ds.set(.studyDescription, .LO, "Lung SBRT benchmark case")
        ds.set(.patientName, .PN, ctx.patientName)
        ds.set(.patientID, .LO, ctx.patientID)
        ds.set(.patientBirthDate, .DA, "19560704")
        ds.set(.patientSex, .CS, "F")
        ds.set(.studyInstanceUID, .UI, ctx.studyUID)
        ds.set(.studyID, .SH, "1")
    }

    // MARK: CT

    static func ctSlice(_ k: Int, _ ctx: Context) -> DataSet {
        var ds = DataSet()
        patientStudy(&ds, ctx)
        ds.set(.imageType, .CS, "ORIGINAL", "PRIMARY", "AXIAL")
        ds.set(.sopClassUID, .UI, ctSOPClass)
        ds.set(.sopInstanceUID, .UI, ctx.ctSOPUIDs[k])
        ds.set(.seriesDate, .DA, "20240315")
        ds.set(.contentDate, .DA, "20240315")
        ds.set(.contentTime, .TM, "101500")
        ds.set(.modality, .CS, "CT")
        ds.set(.seriesDescription, .LO, "Thorax-pelvis 2mm")
        ds.set(.manufacturerModelName, .LO, "Analytic phantom")
        ds.set(.sliceThickness, decimals: [sliceGap])
        ds.set(Tag(0x0018, 0x0060), decimals: [120])   // KVP
        ds.set(.patientPosition, .CS, "HFS")
        ds.set(.seriesInstanceUID, .UI, ctx.ctSeriesUID)
        ds.set(.seriesNumber, integers: [2])
        ds.set(.instanceNumber, integers: [nz - k])     // numbered head to feet, as scanners often do
        let z = sliceZ(k)
        ds.set(.imagePositionPatient, decimals: [originX, originY, z])
        ds.set(.imageOrientationPatient, decimals: [1, 0, 0, 0, 1, 0])
        ds.set(.frameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
        ds.set(.positionReferenceIndicator, .LO, "")
        ds.set(.sliceLocation, decimals: [z])
        ctPixelModule(&ds, rows: ny, columns: nx, pixelMM: pixel)
        ds.set(.windowCenter, decimals: [40])
        ds.set(.windowWidth, decimals: [400])
        ds.set(.pixelData, .OW, binary: ctPixels(k))
        return ds
    }

    /// Stored values (HU + 1024) of slice `k`, row by row.
    static func ctPixels(_ k: Int) -> [Int16] {
        let z = sliceZ(k)
        let (a, b) = bodyAxes(z)
        let lung = lungAxes(z)
        let pelvis = z < -60
        var out = [Int16](repeating: 0, count: nx * ny)
        out.withUnsafeMutableBufferPointer { px in
            for j in 0..<ny {
                let y = originY + Double(j) * pixel
                for i in 0..<nx {
                    let x = originX + Double(i) * pixel
                    var hu = tissueHU(x, y, z, a, b, lung, pelvis)
                    if hu > -990 || (y > 127 && y < 144) { hu += noise(i, j, k) }
                    px[j * nx + i] = Int16(clamping: Int(hu.rounded()) + 1024)
                }
            }
        }
        return out
    }

    @inline(__always)
    static func noise(_ i: Int, _ j: Int, _ k: Int) -> Double {
        var h = UInt64(truncatingIfNeeded: i &* 73_856_093 ^ j &* 19_349_663 ^ k &* 83_492_791)
        h = (h ^ (h >> 33)) &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 29
        return Double(h & 0xFFFF) / 65535 * 24 - 12
    }

    @inline(__always)
    static func tissueHU(_ x: Double, _ y: Double, _ z: Double, _ a: Double, _ b: Double,
                         _ lung: (a: Double, b: Double)?, _ pelvis: Bool) -> Double {
        // Couch: two carbon-fibre skins around foam.
        if abs(x) < 240 && y > 127 && y < 144 {
            return (y < 130 || y > 141) ? 250 : -880
        }
        let dx = x / a, dy = (y - bodyCentreY) / b
        let rho2 = dx * dx + dy * dy
        if rho2 > 1 { return -1000 }
        if rho2 > 0.83 { return -95 }    // subcutaneous fat (≈ 9 % of the radius)
        // Spine: vertebral body, canal with cord, posterior arch.
        let vx = x, vy = y - 68
        let rv2 = vx * vx + vy * vy
        if rv2 < 18 * 18 { return rv2 > 15 * 15 ? 950 : 260 }
        let cy = y - cordCentreY
        let rc2 = x * x + cy * cy
        if rc2 < 8 * 8 { return 35 }
        if rc2 < 13 * 13 && cy > -4 { return 750 }
        if let lung {
            // Ribs: a ring of small bones just inside the fat.
            if rho2 > 0.70 && rho2 < 0.78 {
                let angle = atan2(dy, dx)
                let phase = (angle / (2 * Double.pi) * 22).truncatingRemainder(dividingBy: 1)
                if abs(phase) < 0.22 || abs(phase) > 0.78 { return 820 }
            }
            for side in [-1.0, 1.0] {
                let lx = (x - side * lungCentreX) / lung.a, ly = (y - lungCentreY) / lung.b
                let r2 = lx * lx + ly * ly
                if r2 < 1 {
                    // The GTV: a solid nodule in the left lung.
                    let tx = x - target.x, ty = y - target.y, tz = z - target.z
                    if tx * tx + ty * ty + tz * tz < gtvRadius * gtvRadius { return 30 }
                    return r2 > 0.92 ? -700 : -830   // denser near the pleura
                }
            }
            // Heart between the lungs, anterior.
            let hx = (x + 15) / 60, hy = (y + 25) / 50
            if hx * hx + hy * hy < 1 { return 45 }
        }
        if pelvis {
            for side in [-1.0, 1.0] {
                let fx = x - side * 95, fy = y - 20
                let rf2 = fx * fx + fy * fy
                if rf2 < 28 * 28 { return rf2 > 24 * 24 ? 1050 : 320 }
            }
            let bx = x / bladderAxes.a, by = (y - bladderY) / bladderAxes.b
            if z >= bladderZ.0 && z <= bladderZ.1 && bx * bx + by * by < 1 { return 12 }
            let rx = x, ry = y - rectumY
            let rr2 = rx * rx + ry * ry
            if z <= rectumZ.1 && rr2 < rectumRadius * rectumRadius { return rr2 < 6 * 6 ? -900 : 42 }
        }
        return 40
    }

    // MARK: RTSTRUCT

    struct ROIDef {
        var number: Int
        var name: String
        var type: String
        var color: [Int]
        var algorithm: String
        /// Polygons (x, y) for the plane at z, or nil when the ROI does not reach it.
        var polygon: (Double) -> [(Double, Double)]?
    }

    static func ellipse(cx: Double, cy: Double, a: Double, b: Double, points n: Int) -> [(Double, Double)] {
        (0..<n).map { m in
            let t = 2 * Double.pi * Double(m) / Double(n)
            return (cx + a * cos(t), cy + b * sin(t))
        }
    }

    static func sphereSection(_ z: Double, radius r: Double, points n: Int) -> [(Double, Double)]? {
        let dz = z - target.z
        guard abs(dz) < r - 0.5 else { return nil }
        let rr = (r * r - dz * dz).squareRoot()
        return ellipse(cx: target.x, cy: target.y, a: rr, b: rr, points: n)
    }

    static let rois: [ROIDef] = [
        ROIDef(number: 1, name: "BODY", type: "EXTERNAL", color: [0, 255, 0], algorithm: "AUTOMATIC") { z in
            let (a, b) = bodyAxes(z)
            let k = Int(((z - originZ) / sliceGap).rounded())
            let n = 300 + (k * 37) % 300   // 300–599 points
            return ellipse(cx: 0, cy: bodyCentreY, a: a, b: b, points: n)
        },
        ROIDef(number: 2, name: "PTV", type: "PTV", color: [255, 0, 0], algorithm: "MANUAL") { z in
            sphereSection(z, radius: ptvRadius, points: 96)
        },
        ROIDef(number: 3, name: "GTV", type: "GTV", color: [255, 0, 255], algorithm: "MANUAL") { z in
            sphereSection(z, radius: gtvRadius, points: 72)
        },
        ROIDef(number: 4, name: "SpinalCord", type: "ORGAN", color: [255, 255, 0], algorithm: "MANUAL") { z in
            guard z >= cordZ.0 && z <= cordZ.1 else { return nil }
            return ellipse(cx: 0, cy: cordCentreY, a: cordRadius, b: cordRadius, points: 36)
        },
        ROIDef(number: 5, name: "Rectum", type: "ORGAN", color: [150, 75, 0], algorithm: "MANUAL") { z in
            guard z >= rectumZ.0 && z <= rectumZ.1 else { return nil }
            return ellipse(cx: 0, cy: rectumY, a: rectumRadius, b: rectumRadius, points: 64)
        },
        ROIDef(number: 6, name: "Bladder", type: "ORGAN", color: [255, 200, 0], algorithm: "MANUAL") { z in
            guard z >= bladderZ.0 && z <= bladderZ.1 else { return nil }
            return ellipse(cx: 0, cy: bladderY, a: bladderAxes.a, b: bladderAxes.b, points: 120)
        },
        ROIDef(number: 7, name: "Lung_L", type: "ORGAN", color: [0, 200, 255], algorithm: "AUTOMATIC") { z in
            guard let l = lungAxes(z) else { return nil }
            return ellipse(cx: lungCentreX, cy: lungCentreY, a: l.a, b: l.b, points: 160)
        },
    ]

    static func item(_ build: (inout DataSet) -> Void) -> DataSet {
        var ds = DataSet()
        build(&ds)
        return ds
    }

    static func structureSet(_ ctx: Context) -> DataSet {
        var ds = DataSet()
        patientStudy(&ds, ctx)
        ds.set(.instanceCreationDate, .DA, "20240316")
        ds.set(.instanceCreationTime, .TM, "090000")
        ds.set(.sopClassUID, .UI, rtStructSOPClass)
        ds.set(.sopInstanceUID, .UI, ctx.structUID)
        ds.set(.modality, .CS, "RTSTRUCT")
        ds.set(.seriesDescription, .LO, "Structures")
        ds.set(.seriesInstanceUID, .UI, ctx.structSeriesUID)
        ds.set(.seriesNumber, integers: [3])
        ds.set(.instanceNumber, integers: [1])
        ds.set(.structureSetLabel, .SH, "LUNG_SBRT")
        ds.set(.structureSetName, .LO, "Lung SBRT structures")
        ds.set(.structureSetDate, .DA, "20240316")
        ds.set(.structureSetTime, .TM, "090000")

        let allImages = (0..<nz).map { k in
            item { i in
                i.set(.referencedSOPClassUID, .UI, ctSOPClass)
                i.set(.referencedSOPInstanceUID, .UI, ctx.ctSOPUIDs[k])
            }
        }
        ds.set(.referencedFrameOfReferenceSequence, items: [item { f in
            f.set(.frameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
            f.set(.rtReferencedStudySequence, items: [item { s in
                s.set(.referencedSOPClassUID, .UI, "1.2.840.10008.3.1.2.3.1")
                s.set(.referencedSOPInstanceUID, .UI, ctx.studyUID)
                s.set(.rtReferencedSeriesSequence, items: [item { se in
                    se.set(.seriesInstanceUID, .UI, ctx.ctSeriesUID)
                    se.set(.contourImageSequence, items: allImages)
                }])
            }])
        }])
        ds.set(.structureSetROISequence, items: rois.map { r in
            item { i in
                i.set(.roiNumber, integers: [r.number])
                i.set(.referencedFrameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
                i.set(.roiName, .LO, r.name)
                i.set(.roiGenerationAlgorithm, .CS, r.algorithm)
            }
        })
        ds.set(.roiContourSequence, items: rois.map { r in
            item { i in
                i.set(.roiDisplayColor, .IS, r.color.map(String.init).joined(separator: "\\"))
                var contours: [DataSet] = []
                for k in 0..<nz {
                    let z = sliceZ(k)
                    guard let poly = r.polygon(z) else { continue }
                    contours.append(item { c in
                        c.set(.contourImageSequence, items: [allImages[k]])
                        c.set(.contourGeometricType, .CS, "CLOSED_PLANAR")
                        c.set(.numberOfContourPoints, integers: [poly.count])
                        c.set(.contourNumber, integers: [contours.count + 1])
                        var values: [String] = []
                        values.reserveCapacity(poly.count * 3)
                        for (x, y) in poly {
                            values.append(mm(x)); values.append(mm(y)); values.append(mm(z))
                        }
                        c.set(.contourData, .DS, strings: values)
                    })
                }
                i.set(.contourSequence, items: contours)
                i.set(.referencedROINumber, integers: [r.number])
            }
        })
        ds.set(.rtROIObservationsSequence, items: rois.map { r in
            item { i in
                i.set(.observationNumber, integers: [r.number])
                i.set(.referencedROINumber, integers: [r.number])
                i.set(.rtROIInterpretedType, .CS, r.type)
                i.set(.roiInterpreter, .PN, "")
            }
        })
        ds.set(.approvalStatus, .CS, "APPROVED")
        return ds
    }

    /// Millimetres with two decimals, as planning systems typically write contour points.
    static func mm(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return DecimalString.format(r == 0 ? 0 : r)
    }

    // MARK: RTDOSE

    static var doseOrigin: (x: Double, y: Double, z: Double) {
        (-Double(dnx - 1) * dgrid / 2, bodyCentreY - Double(dny - 1) * dgrid / 2,
         target.z - Double(dnz - 1) * dgrid / 2)
    }

    /// Dose in Gy at a point: a sigmoid shoulder around the PTV (≈ 50 Gy in the centre,
    /// ≈ 43 Gy at the PTV surface, 80 %→20 % of the peak over ≈ 7 mm), a low-dose bath
    /// along two beam axes, and nothing outside the body.
    static func doseGy(_ x: Double, _ y: Double, _ z: Double) -> Double {
        let (a, b) = bodyAxes(z)
        let dx = x / a, dy = (y - bodyCentreY) / b
        if dx * dx + dy * dy > 1 { return 0 }
        let tx = x - target.x, ty = y - target.y, tz = z - target.z
        let d = (tx * tx + ty * ty + tz * tz).squareRoot()
        let shoulder = 50.5 / (1 + exp((d - ptvRadius - 4.5) / 2.5))
        // Two beams: anterior-posterior and lateral, fading with distance off-axis.
        let offAP = (tx * tx + tz * tz).squareRoot(), offLat = (ty * ty + tz * tz).squareRoot()
        let bath = 4.0 * exp(-max(0, offAP - ptvRadius) / 12) + 3.0 * exp(-max(0, offLat - ptvRadius) / 12)
        return shoulder + bath * (1 - shoulder / 50.5)
    }

    static func dose(_ ctx: Context) -> DataSet {
        var ds = DataSet()
        patientStudy(&ds, ctx)
        ds.set(.instanceCreationDate, .DA, "20240316")
        ds.set(.instanceCreationTime, .TM, "093000")
        ds.set(.sopClassUID, .UI, rtDoseSOPClass)
        ds.set(.sopInstanceUID, .UI, ctx.doseUID)
        ds.set(.modality, .CS, "RTDOSE")
        ds.set(.seriesDescription, .LO, "Plan dose")
        ds.set(.manufacturerModelName, .LO, "Analytic dose")
        ds.set(.sliceThickness, decimals: [dgrid])
        ds.set(.seriesInstanceUID, .UI, ctx.doseSeriesUID)
        ds.set(.seriesNumber, integers: [4])
        ds.set(.instanceNumber, integers: [1])
        let o = doseOrigin
        ds.set(.imagePositionPatient, decimals: [o.x, o.y, o.z])
        ds.set(.imageOrientationPatient, decimals: [1, 0, 0, 0, 1, 0])
        ds.set(.frameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
        ds.set(.positionReferenceIndicator, .LO, "")
        ds.set(.samplesPerPixel, .US, binary: [UInt16(1)])
        ds.set(.photometricInterpretation, .CS, "MONOCHROME2")
        ds.set(.numberOfFrames, integers: [dnz])
        ds.set(.frameIncrementPointer, .AT, binary: [UInt16(0x3004), UInt16(0x000C)])
        ds.set(.rows, .US, binary: [UInt16(dny)])
        ds.set(.columns, .US, binary: [UInt16(dnx)])
        ds.set(.pixelSpacing, decimals: [dgrid, dgrid])
        ds.set(.bitsAllocated, .US, binary: [UInt16(32)])
        ds.set(.bitsStored, .US, binary: [UInt16(32)])
        ds.set(.highBit, .US, binary: [UInt16(31)])
        ds.set(.pixelRepresentation, .US, binary: [UInt16(0)])
        ds.set(.doseUnits, .CS, "GY")
        ds.set(.doseType, .CS, "PHYSICAL")
        ds.set(.doseComment, .LT, "sbrt-bench analytic SBRT dose")
        ds.set(.doseSummationType, .CS, "PLAN")
        ds.set(.gridFrameOffsetVector, decimals: (0..<dnz).map { Double($0) * dgrid })
        let scaling = 1.0e-6
        ds.set(.doseGridScaling, decimals: [scaling])
        ds.set(.tissueHeterogeneityCorrection, .CS, "IMAGE", "ROI_OVERRIDE")
        ds.set(.referencedRTPlanSequence, items: [item { r in
            r.set(.referencedSOPClassUID, .UI, rtPlanSOPClass)
            r.set(.referencedSOPInstanceUID, .UI, ctx.planUID)
        }])

        let plane = dnx * dny
        var values = [UInt32](repeating: 0, count: plane * dnz)
        values.withUnsafeMutableBufferPointer { v in
            let out = v
            DispatchQueue.concurrentPerform(iterations: dnz) { k in
                let z = o.z + Double(k) * dgrid
                for j in 0..<dny {
                    let y = o.y + Double(j) * dgrid
                    for i in 0..<dnx {
                        let x = o.x + Double(i) * dgrid
                        out[k * plane + j * dnx + i] = UInt32((doseGy(x, y, z) / scaling).rounded())
                    }
                }
            }
        }
        ds.set(.pixelData, .OW, binary: values)
        return ds
    }

    // MARK: RTPLAN

    static func plan(_ ctx: Context) -> DataSet {
        var ds = DataSet()
        patientStudy(&ds, ctx)
        ds.set(.instanceCreationDate, .DA, "20240316")
        ds.set(.instanceCreationTime, .TM, "092000")
        ds.set(.sopClassUID, .UI, rtPlanSOPClass)
        ds.set(.sopInstanceUID, .UI, ctx.planUID)
        ds.set(.modality, .CS, "RTPLAN")
        ds.set(.seriesDescription, .LO, "Plan")
        ds.set(.seriesInstanceUID, .UI, ctx.planSeriesUID)
        ds.set(.seriesNumber, integers: [5])
        ds.set(.instanceNumber, integers: [1])
        ds.set(.frameOfReferenceUID, .UI, ctx.frameOfReferenceUID)
        ds.set(.positionReferenceIndicator, .LO, "")
        ds.set(.rtPlanLabel, .SH, "LUNG_L_SBRT")
        ds.set(.rtPlanName, .LO, "Left lung SBRT 40 Gy in 5")
        ds.set(.rtPlanDate, .DA, "20240316")
        ds.set(Tag(0x300A, 0x0007), .TM, "092000")     // RT Plan Time
        ds.set(.rtPlanGeometry, .CS, "PATIENT")
        ds.set(.doseReferenceSequence, items: [item { r in
            r.set(.doseReferenceNumber, integers: [1])
            r.set(Tag(0x300A, 0x0013), .UI, UID.generate())   // Dose Reference UID
            r.set(.doseReferenceStructureType, .CS, "VOLUME")
            r.set(.doseReferenceDescription, .LO, "PTV")
            r.set(.doseReferenceType, .CS, "TARGET")
            r.set(.deliveryMaximumDose, decimals: [52])
            r.set(.targetPrescriptionDose, decimals: [40])
            r.set(.referencedROINumber, integers: [2])
        }])
        let beams = [(1, "AP", 0.0, 1210.5), (2, "LAT", 90.0, 1187.25)]
        ds.set(.fractionGroupSequence, items: [item { g in
            g.set(.fractionGroupNumber, integers: [1])
            g.set(.numberOfFractionsPlanned, integers: [5])
            g.set(.numberOfBeams, integers: [beams.count])
            g.set(.numberOfBrachyApplicationSetups, integers: [0])
            g.set(.referencedBeamSequence, items: beams.map { b in
                item { r in
                    r.set(.beamDose, decimals: [4])
                    r.set(.beamMeterset, decimals: [b.3])
                    r.set(.referencedBeamNumber, integers: [b.0])
                }
            })
        }])
        let iso = [target.x, target.y, target.z]
        ds.set(.beamSequence, items: beams.map { b in
            item { s in
                s.set(Tag(0x300A, 0x00B2), .SH, "TrueBeam")       // Treatment Machine Name
                s.set(Tag(0x300A, 0x00B3), .CS, "MU")             // Primary Dosimeter Unit
                s.set(Tag(0x300A, 0x00B4), decimals: [1000])      // Source-Axis Distance
                s.set(.beamNumber, integers: [b.0])
                s.set(.beamName, .LO, b.1)
                s.set(Tag(0x300A, 0x00C4), .CS, "STATIC")         // Beam Type
                s.set(Tag(0x300A, 0x00C6), .CS, "PHOTON")         // Radiation Type
                s.set(Tag(0x300A, 0x00CE), .CS, "TREATMENT")      // Treatment Delivery Type
                s.set(Tag(0x300A, 0x00D0), integers: [0])         // Number of Wedges
                s.set(Tag(0x300A, 0x00E0), integers: [0])         // Number of Compensators
                s.set(Tag(0x300A, 0x00ED), integers: [0])         // Number of Boli
                s.set(Tag(0x300A, 0x00F0), integers: [0])         // Number of Blocks
                s.set(Tag(0x300A, 0x010E), decimals: [1])         // Final Cumulative Meterset Weight
                s.set(Tag(0x300A, 0x0110), integers: [2])         // Number of Control Points
                s.set(Tag(0x300A, 0x0111), items: [             // Control Point Sequence
                    item { c in
                        c.set(Tag(0x300A, 0x0112), integers: [0])          // Control Point Index
                        c.set(Tag(0x300A, 0x0114), decimals: [6])          // Nominal Beam Energy
                        c.set(Tag(0x300A, 0x011E), decimals: [b.2])        // Gantry Angle
                        c.set(Tag(0x300A, 0x012C), decimals: iso)          // Isocenter Position
                        c.set(Tag(0x300A, 0x0134), decimals: [0])          // Cumulative Meterset Weight
                    },
                    item { c in
                        c.set(Tag(0x300A, 0x0112), integers: [1])
                        c.set(Tag(0x300A, 0x0134), decimals: [1])
                    },
                ])
                s.set(Tag(0x300C, 0x006A), integers: [1])         // Referenced Patient Setup Number
            }
        })
        ds.set(Tag(0x300A, 0x0180), items: [item { p in           // Patient Setup Sequence
            p.set(.patientPosition, .CS, "HFS")
            p.set(Tag(0x300A, 0x0182), integers: [1])             // Patient Setup Number
        }])
        ds.set(.referencedStructureSetSequence, items: [item { r in
            r.set(.referencedSOPClassUID, .UI, rtStructSOPClass)
            r.set(.referencedSOPInstanceUID, .UI, ctx.structUID)
        }])
        ds.set(.approvalStatus, .CS, "APPROVED")
        return ds
    }
}

/// Deterministic random-looking file names (SplitMix64): some with `.dcm`, some without.
struct NameSource {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> String {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let hex = String(z, radix: 16)
        let name = String(repeating: "0", count: 16 - hex.count) + hex
        return z & 3 == 0 ? name.uppercased() : name + ".dcm"
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
