// swift-tools-version:6.0
import PackageDescription

// Release builds of the voxel kernels rely on whole-module optimisation and on
// unchecked arithmetic only where a kernel says so; nothing here turns off safety
// globally.
let package = Package(
    name: "sbrt",
    platforms: [.macOS(.v13)],
    products: [
        // MARK: Public API
        .executable(name: "sbrt", targets: ["sbrt"]),
        .library(name: "Base", targets: ["Base"]),
        .library(name: "DICOM", targets: ["DICOM"]),
        .library(name: "VoxelKit", targets: ["VoxelKit"]),
        .library(name: "RTModel", targets: ["RTModel"]),
        .library(name: "Geometry", targets: ["Geometry"]),
        .library(name: "Dosimetry", targets: ["Dosimetry"]),
        .library(name: "PlanReview", targets: ["PlanReview"]),
        .library(name: "Rendering", targets: ["Rendering"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Batch", targets: ["Batch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: System libraries (Debian: libpng-dev, zlib1g-dev, libsqlite3-dev, libpq-dev, pkg-config)
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CLibPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // The database sink of `sbrt batch` (Debian: libsqlite3-dev, libpq-dev).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // libpq's header only: the library is loaded at the first PostgreSQL connection
        // (Store's LibPQ), so that no other command maps it and its dependencies.
        .systemLibrary(
            name: "CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),

        // MARK: Library modules, bottom to top (docs/architecture.md)
        // A module imports only modules listed before it; every import is declared.
        .target(name: "Base"),
        .target(name: "DICOM", dependencies: ["Base", "CZlib"]),
        .target(name: "VoxelKit", dependencies: ["Base"]),
        // The database of `sbrt batch` (plans, DVHs, metrics, verdicts, failures in SQLite
        // or PostgreSQL): plain records, no dependency on the review modules above.
        .target(name: "Store", dependencies: ["Base", "CSQLite", "CLibPQ"]),
        .target(name: "Geometry", dependencies: ["Base", "VoxelKit"]),
        .target(name: "RTModel", dependencies: ["Base", "DICOM", "VoxelKit", "Geometry"]),
        .target(name: "Dosimetry", dependencies: ["Base", "DICOM", "VoxelKit", "Geometry", "RTModel"]),
        // Protocol files are data: copied into the resource bundle beside the executable.
        .target(name: "PlanReview", dependencies: ["Base", "VoxelKit", "Geometry", "RTModel", "Dosimetry"], resources: [.copy("Protocols")]),
        // `sbrt batch`: discovery, shards, one transaction per plan, typed failures; above the
        // review and the store, beside Rendering (neither imports the other).
        .target(name: "Batch", dependencies: ["Base", "VoxelKit", "Geometry", "RTModel", "Dosimetry", "PlanReview", "Store"]),
        .target(name: "Rendering", dependencies: ["Base", "CLibPNG", "CPNGShim", "DICOM", "VoxelKit", "Geometry", "RTModel", "Dosimetry", "PlanReview"]),
        // Reports sit above the review and the pictures: HTML and text reports.
        .target(name: "Reports", dependencies: ["Base", "VoxelKit", "Geometry", "RTModel", "Dosimetry", "PlanReview", "Rendering"]),

        // MARK: Implementation details
        // setjmp guards around libpng's write calls, so that libpng's longjmp on error
        // never crosses a Swift frame.
        .target(name: "CPNGShim", dependencies: ["CLibPNG", "CZlib"]),

        // MARK: Command-line tool (thin: parse, call the library, format)
        .executableTarget(
            name: "sbrt",
            dependencies: [
                "Base", "DICOM", "VoxelKit", "Geometry", "RTModel", "Dosimetry", "PlanReview", "Rendering", "Reports", "Store", "Batch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Tools (release-built, not part of the suite)
        // Nelms-style analytic phantoms and their closed-form DVH truth (shared by the
        // DosimetryTests and sbrt-validate; not a product).
        .target(name: "AnalyticPhantoms", dependencies: ["Base", "Geometry", "Dosimetry", "VoxelKit"], path: "Tools/AnalyticPhantoms"),
        .executableTarget(
            name: "sbrt-validate",
            dependencies: ["Base", "AnalyticPhantoms", "Dosimetry", "Geometry"],
            path: "Tools/Validate"
        ),
        .executableTarget(
            name: "sbrt-bench",
            dependencies: ["Base", "DICOM", "VoxelKit", "RTModel", "Geometry", "Dosimetry", "CohortMaker"],
            path: "Tools/Benchmark"
        ),
        // The command-line fuzzer (docs/fuzzing.md): structure-aware DICOM mutations and a
        // runner with time and memory limits, shared by `sbrt-fuzz` and the end-to-end tests.
        .target(name: "FuzzKit", dependencies: ["Base", "DICOM", "TestSupport"], path: "Tools/Fuzz/Kit"),
        .executableTarget(name: "sbrt-fuzz", dependencies: ["FuzzKit"], path: "Tools/Fuzz/CLI"),

        // Writes synthetic plans into a store from a separate process, for the
        // kill-and-resume and concurrent-writer tests of StoreTests.
        .executableTarget(
            name: "sbrt-store-probe",
            dependencies: ["Store", "StoreTestSupport"],
            path: "Tools/StoreProbe"
        ),

        // Cohorts of distinct plans from the fixtures (fresh UIDs, scaled doses) for the batch
        // tests and benchmark; `sbrt-cohort` makes one on disk.
        .target(name: "CohortMaker", dependencies: ["Base", "DICOM", "RTModel", "Store"], path: "Tools/CohortMaker"),
        .executableTarget(name: "sbrt-cohort", dependencies: ["CohortMaker"], path: "Tools/Cohort"),

        // MARK: Tests
        // Helpers shared by the test targets (a deterministic random generator, the test
        // PostgreSQL server).
        .target(name: "TestSupport", path: "Tests/Support"),
        // Synthetic plan records for StoreTests and sbrt-store-probe.
        .target(name: "StoreTestSupport", dependencies: ["Store", "TestSupport"], path: "Tests/StoreSupport"),
        .testTarget(name: "BaseTests", dependencies: ["Base"]),
        .testTarget(name: "DICOMTests", dependencies: ["Base", "DICOM", "TestSupport"]),
        .testTarget(name: "VoxelKitTests", dependencies: ["Base", "VoxelKit"]),
        .testTarget(name: "RTModelTests", dependencies: ["Base", "RTModel", "DICOM", "VoxelKit", "TestSupport"]),
        .testTarget(name: "GeometryTests", dependencies: ["Base", "Geometry", "RTModel", "VoxelKit", "TestSupport"]),
        .testTarget(name: "DosimetryTests", dependencies: ["Base", "Dosimetry", "Geometry", "RTModel", "VoxelKit", "AnalyticPhantoms", "TestSupport"]),
        .testTarget(name: "RenderingTests", dependencies: ["Base", "Rendering", "VoxelKit", "RTModel", "Geometry", "Dosimetry", "CPNGShim", "CZlib"]),
        .testTarget(name: "PlanReviewTests", dependencies: ["Base", "Reports", "PlanReview", "Dosimetry", "Geometry", "RTModel", "DICOM", "VoxelKit"]),
        .testTarget(name: "EndToEndTests", dependencies: ["sbrt", "Base", "DICOM", "FuzzKit", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Base", "Store", "StoreTestSupport", "TestSupport", "sbrt-store-probe"]),
        // The batch orchestrator in process, and the `sbrt batch` binary in processes (kill and
        // resume, concurrent shards against PostgreSQL).
        .testTarget(name: "BatchTests", dependencies: ["Base", "Batch", "Store", "RTModel", "PlanReview", "CohortMaker", "TestSupport", "sbrt"]),
    ],
    // Swift 5 language mode: the kernels share immutable buffers across threads
    // through Dispatch, which strict Swift 6 checking cannot see is safe.
    swiftLanguageModes: [.v5]
)
