// swift-tools-version:6.1
import PackageDescription

/// The five programs share one library (`QueueServer`); each is a thin entry point with its own defaults.
let programs = [
    "redis-diskqueue-server",
    "redis-queue-server",
    "mc-diskqueue-server",
    "mc-queue-server",
    "mc-db-server",
]

let nio = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioLocks = Target.Dependency.product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")

let package = Package(
    name: "DiskQueue",
    products: programs.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Berkeley DB 5.3 from Debian's libdb-dev; only BerkeleyQueue imports it.
        .systemLibrary(
            name: "CBerkeleyDB",
            providers: [.apt(["libdb-dev"])]
        ),

        // Wire codecs: bytes in, requests out; replies written straight into ByteBuffers.
        // ASCIIBytes holds what both codecs share: decimal integers read and written without Strings.
        .target(name: "ASCIIBytes", dependencies: [nio]),
        .target(name: "RESP", dependencies: ["ASCIIBytes", nio]),
        .target(name: "MemcacheText", dependencies: ["ASCIIBytes", nio]),

        // Protocol-agnostic processors: the Processor API, the RAM queue and the RAM key/value cache.
        .target(
            name: "QueueCore",
            dependencies: [
                nio, nioLocks,
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),

        // The disk queue: the Berkeley DB wrapper and the processor that runs it on its own thread.
        .target(
            name: "BerkeleyQueue",
            dependencies: [
                "CBerkeleyDB", "QueueCore", nio, nioLocks,
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // NIOPosix glue: configuration, bootstrap, connection handlers, command tables.
        .target(
            name: "QueueServer",
            dependencies: [
                "RESP", "MemcacheText", "QueueCore", "BerkeleyQueue", nio, nioLocks,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Helpers shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ASCIIBytesTests", dependencies: ["ASCIIBytes", nio]),
        .testTarget(
            name: "RESPTests",
            dependencies: ["RESP", nio, .product(name: "NIOTestUtils", package: "swift-nio")]
        ),
        .testTarget(
            name: "MemcacheTextTests",
            dependencies: ["MemcacheText", "TestSupport", nio, .product(name: "NIOTestUtils", package: "swift-nio")]
        ),
        .testTarget(name: "QueueCoreTests", dependencies: ["QueueCore", "TestSupport", nio, nioEmbedded]),
        .testTarget(name: "BerkeleyQueueTests", dependencies: ["BerkeleyQueue", "QueueCore", nio, nioEmbedded]),
        .testTarget(
            name: "QueueServerTests",
            dependencies: [
                "QueueServer", "QueueCore", nio, nioLocks, nioEmbedded,
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
        + programs.map { .executableTarget(name: $0, dependencies: ["QueueServer"]) }
)
