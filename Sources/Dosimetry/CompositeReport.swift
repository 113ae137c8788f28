import Base
import Foundation
import RTModel
import VoxelKit

/// The machine-readable report of a composite (`--report`).
public struct CompositeReport: Codable, Sendable {
    /// Version 2: courses through the study resolver (summation type, handling, summary),
    /// α/β sources, the BED₂ sum of maxima beside the voxel-wise maximum, cumulative flags
    /// evaluated on the sum of maxima.
    public var schema = "sbrt.composite/2"
    public var quantity: String
    public var unit: String
    public var model: String
    public var alphaBeta: AlphaBetaInfo
    public var recovery: RecoveryInfo
    public var referenceGrid: GridInfo
    public var courses: [CourseInfo]
    public var intervals: [IntervalInfo]
    public var structures: [StructureEntry]
    public var flags: [CompositeFlag]
    public var conventions: [String]
    public var warnings: [String]
    public var software: String

    public struct AlphaBetaInfo: Codable, Sendable {
        public var defaultGy: Double
        /// The α/β of CNS-named structures the user does not set (when below the default).
        public var cnsDefaultGy: Double
        public var structures: [StructureAlphaBeta]
        public var overlapRule: String
    }

    public struct StructureAlphaBeta: Codable, Sendable {
        public var name: String
        public var alphaBetaGy: Double
        public var source: AlphaBetaSource
        public var voxels: Int
        public var voxelsWhereUsed: Int
    }

    public struct RecoveryInfo: Codable, Sendable {
        public var applied: Bool
        public var description: String
    }

    public struct GridInfo: Codable, Sendable {
        public var source: String
        public var frameOfReferenceUID: String
        public var size: [Int]
        public var spacingMM: [Double]
        public var originMM: [Double]
    }

    public struct CourseInfo: Codable, Sendable {
        public var label: String
        public var path: String
        public var doseFiles: [String]
        public var doseSOPInstanceUIDs: [String]
        /// Dose Summation Type as written ("" when absent).
        public var summation: String
        /// `course-total`, `beam-sum` or `per-session-times-fractions` (`StudyDose.Handling`).
        public var handling: String
        /// The factor applied to the stored dose (the fractions for a per-session dose, else 1).
        public var multiplier: Int
        /// What the dose is and what was done with it (`StudyDose.summary`).
        public var doseSummary: String
        /// How the study resolver read the course (plan, dose, structure set choices).
        public var resolution: [String]
        public var fractions: Int
        public var fractionsSource: String
        public var date: String?
        public var frameOfReferenceUID: String?
        public var registration: String
        public var resampled: Bool
        public var coveragePercent: Double
        public var maxPhysicalGy: Double
        public var recovery: String
    }

    public struct IntervalInfo: Codable, Sendable {
        public var from: String
        public var to: String
        public var days: Int
        public var months: Double
    }

    /// Dmax, D0.035cc, D1cc and Dmean of one dose map in one structure (Gy).
    public struct Metrics: Codable, Sendable, Equatable {
        public var dmax: Double
        public var d0035cc: Double?
        public var d1cc: Double?
        public var dmean: Double
    }

    public struct CourseMetrics: Codable, Sendable {
        public var label: String
        public var physical: Metrics
        public var eqd2: Metrics
        public var bed: Metrics
        /// The percentage of the structure outside the course's (registered, resampled)
        /// dose grid, where the course is counted at 0 Gy.
        public var outsideGridPercent: Double
        public var coverage: Coverage
    }

    /// How much of a structure a course's dose grid covers (`GridCoverageRule`'s
    /// thresholds): `complete`, `partial` (the course's values count the part outside at
    /// 0 Gy: lower bounds), or `outside` (wholly outside: the values are not evaluable).
    public enum Coverage: String, Codable, Sendable {
        case complete, partial, outside

        public static func of(outsideFraction f: Double) -> Coverage {
            f >= 1 - GridCoverageRule.outsideFraction ? .outside : f > GridCoverageRule.outsideFraction ? .partial : .complete
        }
    }

    /// BED at α/β = 2 without recovery: each course's maximum (the BED₂ of its physical
    /// Dmax), their sum, and the maximum of the voxel-wise cumulative map.
    public struct BED2: Codable, Sendable {
        public var courseMaxima: [Double]
        public var sumOfMaxima: Double
        public var voxelWiseMax: Double
    }

    public struct StructureEntry: Codable, Sendable {
        public var name: String
        public var volumeCC: Double
        /// The α/β values met by the structure's voxel centres (ascending).
        public var alphaBetaGy: [Double]
        /// The α/β the structure was given, and by what.
        public var alphaBetaAssignedGy: Double
        public var alphaBetaSource: AlphaBetaSource
        public var classes: StructureClass
        public var courses: [CourseMetrics]
        /// Cumulative (with the recovery of each course, when any).
        public var cumulativeEQD2: Metrics
        public var cumulativeBED: Metrics
        /// For organs and CNS structures.
        public var bed2: BED2?
    }
}

extension Composite {
    // MARK: Flags and the report

    /// The flags, with the courses ordered so that the reference (newest) course is last.
    static func evaluateFlags(_ courses: [LoadedCourse], refIndex: Int, _ inputs: [FlagStructureInput]) -> [CompositeFlag] {
        var order = courses.indices.filter { $0 != refIndex }
        order.append(refIndex)
        let flagCourses = order.map { FlagCourseInput(label: courses[$0].label, fractions: courses[$0].fractions, date: courses[$0].date) }
        let reordered = inputs.map { f -> FlagStructureInput in
            var g = f
            g.courseBED2Max = order.map { f.courseBED2Max[$0] }
            g.coursePhysicalMax = order.map { f.coursePhysicalMax[$0] }
            if f.courseOutsideFraction.count == f.coursePhysicalMax.count {
                g.courseOutsideFraction = order.map { f.courseOutsideFraction[$0] }
                g.courseBoundaryGy = order.map { f.courseBoundaryGy[$0] }
                g.courseBoundaryBED2 = order.map { f.courseBoundaryBED2[$0] }
            }
            return g
        }
        return CompositeFlags.evaluate(structures: reordered, courses: flagCourses)
    }

    static func assembleReport(_ request: CompositeRequest, _ reference: ReferenceGrid, _ registered: Registered,
                               _ abInfos: [CompositeReport.StructureAlphaBeta], _ texts: OutputTexts, intervals: [CompositeReport.IntervalInfo],
                               entries: [CompositeReport.StructureEntry], flags: [CompositeFlag], warnings: [String]) -> CompositeReport {
        let g = reference.grid
        return CompositeReport(
            quantity: request.quantity.rawValue, unit: "Gy", model: request.quantity == .physical ? "none (physical sum)" : texts.modelText,
            alphaBeta: .init(defaultGy: request.defaultAlphaBeta, cnsDefaultGy: cnsAlphaBetaGy, structures: abInfos,
                             overlapRule: "a voxel takes the α/β of the structures containing its centre (prism end caps); where they overlap the lowest α/β wins; elsewhere the default. Structures named as CNS take \(num(cnsAlphaBetaGy)) Gy unless the user sets theirs, when the default is higher"),
            recovery: .init(applied: texts.anyRecovery, description: texts.recoveryText),
            referenceGrid: .init(source: reference.source, frameOfReferenceUID: reference.foR, size: [g.nx, g.ny, g.nz],
                                 spacingMM: [g.spacing.x, g.spacing.y, g.spacing.z], originMM: [g.origin.x, g.origin.y, g.origin.z]),
            courses: registered.courseInfos, intervals: intervals, structures: entries, flags: flags,
            conventions: [
                "each course read by the study resolver: PLAN, FRACTION (the whole fraction group) and MULTI_PLAN doses are course totals used as they are; the BEAM doses of one plan are summed; a per-session dose only when stated, then × the fractions (DICOM PS3.3 C.8.8.3)",
                "each course converted voxel by voxel with its own number of fractions: d = D/n per voxel, never Rx/n",
                "BED = D(1 + d/(α/β)); EQD2 = BED/(1 + 2/(α/β))" + (request.linearAboveGy.map { "; LQ-L above d_T = \(num($0)) Gy: BED/fx = d_T(1 + d_T/(α/β)) + (d − d_T)(1 + 2d_T/(α/β)) (Astrahan 2008 [NV])" } ?? ""),
                "cumulative = Σ_i (1 − r_i)·Q_i; per-course numbers are without recovery",
                "courses resampled onto the reference grid by trilinear interpolation (values within half a voxel of a source grid's outer centres take the nearest face; beyond, 0 Gy)",
                "structure metrics from the DVH engine of sbrt dvh (prism end caps, trilinear dose, Dx by linear interpolation on the cumulative DVH); the cumulative map of the output quantity is the quantised map written to the RT Dose",
                "flags are evaluated on plain sums (no recovery) at α/β = 2 Gy, as the rules were stated; cumulative limits on the sum of each course's maximum (BED₂ of its physical Dmax), as the published limits were built, with the voxel-wise cumulative maximum beside it",
            ],
            warnings: warnings, software: DVHAnalysis.softwareName)
    }

    // MARK: Output labels

    /// The texts that name quantity, model, α/β, recovery and courses in every output.
    struct OutputTexts {
        var abText: String, recoveryText: String, modelText: String, quantityText: String, courseText: String
        var anyRecovery: Bool
        /// Whether structures carry their own α/β (a per-voxel map).
        var abMapUsed: Bool

        init(_ request: CompositeRequest, _ courses: [LoadedCourse], _ registered: Registered, _ abInfos: [CompositeReport.StructureAlphaBeta],
             jonesGrantVoxels: Int?) {
            abText = abInfos.isEmpty ? "a/b \(num(request.defaultAlphaBeta)) Gy"
                : "a/b \(num(request.defaultAlphaBeta)) Gy, " + abInfos.map { "\($0.name) \(num($0.alphaBetaGy))\($0.source == .cnsDefault ? " (CNS)" : "")" }.joined(separator: ", ") + " (lowest wins)"
            anyRecovery = registered.recoveries.contains { $0 != .none }
            recoveryText = anyRecovery
                ? "recovery " + zip(registered.courseInfos, registered.recoveries).filter { $0.1 != .none }.map { "\($0.0.label) \($0.0.recovery)" }.joined(separator: "; ")
                    + (jonesGrantVoxels.map { "; Jones-Grant applied at the \($0) voxels of a/b 2 Gy only, elsewhere the courses count in full" } ?? "")
                    + (request.recoveryModel.map { "; model: \($0.source)" } ?? "")
                : "no recovery"
            modelText = request.linearAboveGy.map { "LQ-L above \(num($0)) Gy/fx (Astrahan 2008 [NV])" } ?? "LQ"
            quantityText = request.quantity == .physical ? "physical dose (Gy)" : "\(request.quantity.label) (Gy), \(modelText), d = D/n per voxel"
            courseText = courses.map { c in
                "\(c.label) \(c.fractions) fx" + (c.date.map { " " + isoDate($0) } ?? "")
                    + (c.dose.handling == .perSessionTimesFractions ? " (\(c.dose.summationType) x \(c.dose.multiplier), stated per-session)" : "")
            }.joined(separator: ", ")
            abMapUsed = !abInfos.isEmpty
        }

        /// The RT Dose's type, summation, Series Description, Dose Comment, Image Comments and plan references.
        func description(_ request: CompositeRequest, _ courses: [LoadedCourse]) -> DoseWriter.Description {
            let shortRecovery = anyRecovery ? "recovery on" : "no recovery"
            let ab = num(request.defaultAlphaBeta)
            return DoseWriter.Description(
                doseType: request.quantity == .physical ? "PHYSICAL" : "EFFECTIVE",
                summationType: "MULTI_PLAN",
                seriesDescription: request.quantity == .physical ? "sbrt composite physical sum"
                    : "sbrt composite \(request.quantity.label) \(abMapUsed ? "a/b map" : "a/b \(ab)") \(shortRecovery)",
                doseComment: request.quantity == .physical ? "physical sum, no conversion, \(shortRecovery)"
                    : "\(request.quantity.label) \(abMapUsed ? "a/b map, default \(ab)" : "a/b \(ab) Gy"), \(shortRecovery)",
                imageComments: ascii("Cumulative \(quantityText); \(abText); \(recoveryText); courses: \(courseText); sbrt 0.1.0"),
                referencedPlanUIDs: Array(Set(courses.flatMap(\.planUIDs))).sorted())
        }
    }
}
