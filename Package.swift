// swift-tools-version: 6.0
import PackageDescription

// Layering (see docs/ARCHITECTURE.md): s3gw → Gateway → {S3Protocol, SigV4, GatewayCore};
// transports and stores (FastCGI, FileSystemBackend, S3Backend, MetadataSQL[ite]) sit beside
// Gateway and depend only on GatewayCore (+ their one C library).
// The manifest is compiled for the machine that builds, so this names the build machine's
// architecture: cross-compiling from x86_64 to another one needs this setting removed.
#if arch(x86_64)
let md5LanesSettings: [SwiftSetting] = [.unsafeFlags(["-O", "-target-cpu", "skylake-avx512"])]
#else
let md5LanesSettings: [SwiftSetting] = [.unsafeFlags(["-O"])]
#endif

let package = Package(
    name: "s3gw",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "s3gw", targets: ["s3gw"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // One system-library target per C library; each is imported by exactly one Swift target.
        .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(
            name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // libc calls Swift cannot import as they are (prctl is variadic).
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),

        .target(name: "GatewayCore", dependencies: ["CLinux"]),
        // Counters shared across the gateway's processes (memory-mapped files) and their
        // Prometheus exposition (docs/OBSERVABILITY.md, "Metrics").
        .target(name: "Metrics", dependencies: ["GatewayCore"]),
        // MD5 over 16 streams in AVX-512 lanes: compiled for that CPU (and optimized in debug
        // builds too: tests hash megabytes through it); SigV4 calls it only where the CPU has it.
        .target(name: "MD5Lanes", swiftSettings: md5LanesSettings),
        .target(name: "SigV4", dependencies: ["GatewayCore", "COpenSSL", "MD5Lanes"]),
        .target(name: "S3Protocol", dependencies: ["GatewayCore"]),
        .target(
            name: "Gateway",
            dependencies: [
                "GatewayCore", "SigV4", "S3Protocol", "Compression", "Metrics", "CLinux",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "FastCGI", dependencies: ["GatewayCore", "CFastCGI"]),
        .target(name: "FileSystemBackend", dependencies: ["GatewayCore", "CLinux"]),
        .target(name: "S3Backend", dependencies: ["GatewayCore", "SigV4", "S3Protocol", "CCurl"]),
        // The SQL metadata store, written once over `SQLConnection` (no C here); SQLite and
        // PostgreSQL each supply the connection over their C library.
        .target(name: "MetadataSQL", dependencies: ["GatewayCore", "SigV4"]),
        .target(name: "MetadataSQLite", dependencies: ["GatewayCore", "MetadataSQL", "CSQLite"]),
        .target(name: "MetadataPostgres", dependencies: ["MetadataSQL", "GatewayCore", "CPostgres"]),
        // Streaming gzip (snapshot downloads as .json.gz).
        .target(name: "Compression", dependencies: ["GatewayCore", "CZlib"]),
        .executableTarget(
            name: "s3gw",
            dependencies: [
                "Gateway", "FastCGI", "FileSystemBackend", "S3Backend", "MetadataSQL", "MetadataSQLite", "MetadataPostgres",
                "Compression", "CLinux", "Metrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // In-memory doubles of the GatewayCore protocols, for handler tests (and later suites).
        .target(name: "GatewayTesting", dependencies: ["GatewayCore", "SigV4"]),
        // A PostgreSQL server for tests (S3GW_TEST_POSTGRES, or a throw-away cluster).
        .target(name: "PostgresTesting", dependencies: ["MetadataPostgres", "MetadataSQL", "GatewayCore"]),

        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore", "SigV4"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "GatewayCore"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI", "GatewayCore"]),
        .testTarget(name: "FileSystemBackendTests", dependencies: ["FileSystemBackend", "GatewayCore", "CLinux"]),
        .testTarget(name: "SupervisorTests", dependencies: ["s3gw", "Gateway", "GatewayCore", "PostgresTesting"]),
        .testTarget(
            name: "AdminCLITests", dependencies: ["s3gw", "Gateway", "GatewayCore", "GatewayTesting", "SigV4"]),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4", "GatewayCore", "MD5Lanes"]),
        .testTarget(name: "S3ProtocolTests", dependencies: ["S3Protocol", "GatewayCore"]),
        .testTarget(
            name: "MetadataPostgresTests",
            dependencies: ["MetadataPostgres", "MetadataSQL", "GatewayCore", "PostgresTesting"]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "GatewayCore"]),
        .testTarget(name: "S3BackendTests", dependencies: ["S3Backend", "GatewayCore", "GatewayTesting", "SigV4"]),
        .testTarget(
            name: "MetadataBackupTests",
            dependencies: ["MetadataSQLite", "MetadataSQL", "Gateway", "GatewayCore", "FileSystemBackend", "SigV4"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "GatewayCore", "GatewayTesting", "SigV4", "S3Protocol", "MetadataSQL", "MetadataSQLite",
                "MetadataPostgres", "PostgresTesting", "Metrics", "FileSystemBackend",
            ]),
    ]
)
