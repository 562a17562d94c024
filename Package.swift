// swift-tools-version:6.0
import PackageDescription

// Hot numeric code needs these: without an explicit CPU target SIMD16 falls back to scalar
// calls, and exclusivity/bounds checks cost 3-10x in inner loops (see ../shared/GUIDE.md).
let fast: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "native", "-enforce-exclusivity=unchecked"],
                 .when(configuration: .release)),
]
// The command line keeps Swift's checks: nothing in it is hot, and input validation lives there.
let checked: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"], .when(configuration: .release)),
]

let package = Package(
    name: "Monolith",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "monolith", targets: ["MonolithCLI"]),
        .library(name: "MonolithKernels", targets: ["MonolithKernels"]),
        .library(name: "MonolithModel", targets: ["MonolithModel"]),
        .library(name: "MonolithTraining", targets: ["MonolithTraining"]),
        .library(name: "MonolithPlan", targets: ["MonolithPlan"]),
        .library(name: "MonolithInference", targets: ["MonolithInference"]),
        .library(name: "MonolithTokenizer", targets: ["MonolithTokenizer"]),
        .library(name: "MonolithData", targets: ["MonolithData"]),
        .library(name: "MonolithParallel", targets: ["MonolithParallel"]),
        .library(name: "MonolithGGUF", targets: ["MonolithGGUF"]),
        .library(name: "MonolithEval", targets: ["MonolithEval"]),
        .library(name: "MonolithServe", targets: ["MonolithServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // Layer 1: compute kernels (BLAS loader, SIMD elementwise kernels, worker pool).
        .target(name: "MonolithKernels", dependencies: ["CBF16GEMM"], swiftSettings: fast),
        // The AVX512-BF16 GEMM micro-kernel (C, for the `vdpbf16ps` intrinsic Swift cannot name);
        // chosen at run time, so the same binary runs where the instruction is missing.
        .target(name: "CBF16GEMM", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),
        // Layer 2: the GPT-2 model (parameter layout, forward/backward, safetensors IO).
        .target(name: "MonolithModel", dependencies: ["MonolithKernels", "MonolithGGUF"], swiftSettings: fast),
        // Layer 3: training (optimizer step, schedule, clipping, benchmarks).
        .target(name: "MonolithTraining",
                dependencies: ["MonolithModel", "MonolithKernels", "MonolithGGUF", "MonolithInference", "MonolithTokenizer", "MonolithData", "MonolithParallel",
                               .product(name: "TOMLKit", package: "TOMLKit"),
                               .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                swiftSettings: fast),
        // Layer 3: inference (KV-cache decoding, sampling, perplexity).
        .target(name: "MonolithInference", dependencies: ["MonolithModel", "MonolithKernels", "MonolithGGUF"], swiftSettings: fast),
        // Text side: GPT-2 byte-level BPE (load, encode, decode, train) and the data pipeline.
        .target(name: "MonolithTokenizer", dependencies: ["MonolithKernels", "MonolithGGUF"], swiftSettings: fast),
        .target(name: "MonolithData", dependencies: ["MonolithTokenizer", "MonolithKernels"], swiftSettings: fast),
        // Open MPI's C API, through static inline wrappers for the handles that do not import.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // Layer 3: communicators (Open MPI, in-process), the process grid, tensor-parallel regions,
        // pipeline schedules and ZeRO sharding.
        .target(name: "MonolithParallel", dependencies: ["CMPI", "MonolithKernels", "MonolithModel"], swiftSettings: fast),
        // GGUF files (llama.cpp's model format) and ggml's block quantization codecs.
        .target(name: "MonolithGGUF", dependencies: ["MonolithKernels"], swiftSettings: fast),
        // Layer 4: evaluation as lm-evaluation-harness does it (tasks, few-shot, scoring, results).
        .target(name: "MonolithEval",
                dependencies: ["MonolithModel", "MonolithInference", "MonolithTokenizer", "MonolithKernels",
                               .product(name: "TOMLKit", package: "TOMLKit")],
                swiftSettings: fast),
        // Layer 4: the OpenAI-compatible HTTP server with continuous batching (Hummingbird 2).
        .target(name: "MonolithServe",
                dependencies: ["MonolithInference", "MonolithModel", "MonolithTokenizer", "MonolithKernels",
                               .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: checked),
        // Independent: the analytic 3D-parallel planner.
        .target(name: "MonolithPlan", swiftSettings: fast),
        // Layer 4: the command line.
        .executableTarget(
            name: "MonolithCLI",
            dependencies: [
                "MonolithTraining", "MonolithModel", "MonolithKernels", "MonolithGGUF", "MonolithPlan",
                "MonolithTokenizer", "MonolithData", "MonolithInference", "MonolithParallel", "MonolithEval", "MonolithServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: checked),
        // Helpers shared by the test targets (relativeError, seeded test data, fixture paths).
        .target(name: "MonolithTestSupport", dependencies: ["MonolithKernels"], path: "Tests/MonolithTestSupport"),
        .testTarget(name: "MonolithKernelsTests", dependencies: ["MonolithKernels", "MonolithTestSupport"]),
        .testTarget(name: "MonolithModelTests", dependencies: ["MonolithModel", "MonolithKernels", "MonolithGGUF", "MonolithTestSupport"]),
        .testTarget(name: "MonolithTrainingTests", dependencies: ["MonolithTraining", "MonolithModel", "MonolithTokenizer", "MonolithParallel", "MonolithTestSupport"]),
        .testTarget(name: "MonolithPlanTests", dependencies: ["MonolithPlan", "MonolithTestSupport"]),
        .testTarget(name: "MonolithInferenceTests", dependencies: ["MonolithInference", "MonolithModel", "MonolithGGUF", "MonolithTokenizer", "MonolithTestSupport"]),
        .testTarget(name: "MonolithTokenizerTests", dependencies: ["MonolithTokenizer", "MonolithKernels", "MonolithGGUF", "MonolithTestSupport"]),
        .testTarget(name: "MonolithDataTests", dependencies: ["MonolithData", "MonolithTokenizer", "MonolithKernels", "MonolithTestSupport"]),
        .testTarget(name: "MonolithGGUFTests", dependencies: ["MonolithGGUF", "MonolithTestSupport"]),
        .testTarget(name: "MonolithEvalTests", dependencies: ["MonolithEval", "MonolithKernels", "MonolithModel", "MonolithInference", "MonolithTokenizer", "MonolithTestSupport"]),
        .testTarget(name: "MonolithServeTests",
                    dependencies: ["MonolithServe", "MonolithInference", "MonolithModel", "MonolithTokenizer", "MonolithTestSupport",
                                   .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "MonolithParallelTests", dependencies: ["MonolithParallel", "MonolithKernels", "MonolithModel", "MonolithTestSupport"]),
    ]
)
