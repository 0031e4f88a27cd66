// swift-tools-version:6.2
import Foundation
import PackageDescription

// Generic types are instantiated through metadata accessors rather than from mangled names: a mangled name
// makes the runtime look up each generic argument's conformances (a `Dictionary<TaskID, Int>` looks for
// `TaskID: Hashable`) by scanning all of the binary's 6,000 conformance records, about 370,000 instructions a
// lookup, some 3.5 M of a one-task run's start (docs/PERFORMANCE.md). Costs a little code size.
let startup: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])]

let package = Package(
    name: "flow",
    products: [
        .executable(name: "flow", targets: ["flow"]),
        // The web view, a separate executable so flow's own start-up does not carry an HTTP server (docs/web.md).
        .executable(name: "flow-serve", targets: ["flow-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .target(name: "FlowCore", swiftSettings: startup),
        // The system libyaml, which a fresh machine has (libyaml-dev): flow composes positioned nodes from its events
        // itself (YAMLComposer), so no Swift YAML library is needed.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(name: "FlowSpec", dependencies: ["FlowCore", "CYAML"], swiftSettings: startup),
        .target(name: "FlowPlan", dependencies: ["FlowCore"], swiftSettings: startup),
        .target(name: "FlowStore", dependencies: [
            "FlowCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ], swiftSettings: startup),
        .target(name: "FlowEngine", dependencies: ["FlowCore", "FlowPlan"], swiftSettings: startup),
        // C shims split by job: processes (spawn, pidfd, epoll) and HTTP (libcurl through dlopen, no libcurl header).
        .target(name: "CFlowSystem"),
        .target(name: "CFlowHTTP"),
        // HTTP requests (the Databento source, `http.post`).
        .target(name: "FlowHTTP", dependencies: ["CFlowHTTP"], swiftSettings: startup),
        // The one real CommandRunner: spawning, reaping, process groups and attempt log files.
        .target(name: "FlowProcess", dependencies: ["FlowCore", "CFlowSystem"], swiftSettings: startup),
        .target(name: "FlowTasks", dependencies: [
            "FlowCore", "FlowHTTP", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ], swiftSettings: startup),
        .target(name: "MarketData", dependencies: [
            "FlowCore", "FlowHTTP", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ], swiftSettings: startup),
        .target(name: "FlowCLI", dependencies: [
            "FlowCore", "FlowSpec", "FlowPlan", "FlowStore", "FlowEngine", "FlowProcess", "FlowTasks", "MarketData", "FlowWeb",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: startup),
        .executableTarget(name: "flow", dependencies: ["FlowCLI"], swiftSettings: startup),
        // Pages as values: runs, graphs, timelines, logs and market data rendered to HTML and JSON, with no server.
        .target(name: "FlowWeb", dependencies: [
            "FlowCore", "FlowPlan", "FlowStore", .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: startup),
        // The HTTP server behind `flow serve`: routes, live updates, tokens.
        .target(name: "FlowServe", dependencies: [
            "FlowCLI", "FlowWeb", "FlowStore", "FlowSpec", "FlowCore", "FlowProcess", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .executableTarget(name: "flow-serve", dependencies: ["FlowServe"]),

        .target(name: "FlowTestSupport", dependencies: ["FlowCore"], path: "Tests/FlowTestSupport"),
        .testTarget(name: "FlowCoreTests", dependencies: ["FlowCore", "FlowTestSupport"]),
        .testTarget(name: "FlowSpecTests", dependencies: ["FlowSpec", "FlowTasks", "MarketData", "FlowTestSupport"]),
        .testTarget(name: "FlowPlanTests", dependencies: ["FlowPlan", "FlowSpec", "FlowTestSupport"]),
        .testTarget(name: "FlowStoreTests", dependencies: ["FlowStore", "FlowTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "FlowEngineTests", dependencies: ["FlowEngine", "FlowPlan", "FlowSpec", "FlowTestSupport"]),
        .testTarget(name: "FlowProcessTests", dependencies: ["FlowProcess", "FlowTestSupport"]),
        .testTarget(name: "FlowTasksTests", dependencies: ["FlowTasks", "FlowEngine", "FlowPlan", "FlowSpec", "FlowProcess", "FlowTestSupport"]),
        .testTarget(name: "MarketDataTests", dependencies: ["MarketData", "FlowTasks", "FlowTestSupport",
                                                           .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "FlowCLITests", dependencies: ["FlowCLI", "FlowTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "FlowWebTests", dependencies: ["FlowWeb", "FlowCore", "FlowTestSupport"]),
    ]
)

// libFuzzer targets, only for `FLOW_FUZZ=1 swift build --sanitize=fuzzer` (scripts/fuzz.sh): they have no
// `main`, so an ordinary build must not see them.
if ProcessInfo.processInfo.environment["FLOW_FUZZ"] == "1" {
    package.targets += [
        .executableTarget(name: "FuzzWorkflowLoader", dependencies: ["FlowSpec"], path: "Fuzz/FuzzWorkflowLoader",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "FuzzExpression", dependencies: ["FlowSpec"], path: "Fuzz/FuzzExpression",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "FuzzVendorCSV", dependencies: ["MarketData"], path: "Fuzz/FuzzVendorCSV",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
    package.products += [
        .executable(name: "FuzzWorkflowLoader", targets: ["FuzzWorkflowLoader"]),
        .executable(name: "FuzzExpression", targets: ["FuzzExpression"]),
        .executable(name: "FuzzVendorCSV", targets: ["FuzzVendorCSV"]),
    ]
}
