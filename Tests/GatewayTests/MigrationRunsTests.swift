import Foundation
import GatewayCore
import GatewayTesting
import Logging
import Synchronization
import XCTest

@testable import Gateway

/// Runs started the API's way: on a thread of this process, their progress and cancel requests
/// through the metadata store (so another worker answers for them), one run per plan at a time.
final class MigrationRunsTests: XCTestCase {
    var gw: TestGateway!
    let source = InMemorySourceAccount(pageSize: 5)
    /// Endpoints the connector was asked for.
    final class Opened: Sendable { let list = Mutex<[String]>([]) }
    let opened = Opened()

    override func setUp() {
        let source = self.source
        let opened = self.opened
        gw = TestGateway(
            zones: [.init(name: "zone-a", country: "se", region: "se-sto")],
            configure: {
                $0.migration.connector = { spec throws(SourceError) in
                    opened.list.withLock { $0.append(spec.endpoint) }
                    guard spec.credentials.secretKey == "right" else {
                        throw .invalidCredentials(code: "InvalidAccessKeyId")
                    }
                    return source
                }
            })
        source.addBucket("src")
        for i in 0..<40 { source.put("src", "k\(i)", Array(repeating: UInt8(i), count: 100 + i)) }
    }

    var principal: Principal { gw.context.identities.resolve(TestGateway.accessKey)!.principal }

    func plan(id: String = "api-plan") throws -> MigrationPlanV1 {
        let snapshot = SnapshotV1(
            schemaVersion: 1,
            snapshot: .init(
                id: "s", createdAt: Date(), source: .init(endpoint: "http://127.0.0.1:9000", region: "us-east-1")!,
                sanitization: .prefixes, prefixDepth: 2),
            buckets: [
                .init(
                    name: "src", region: "us-east-1", objects: nil, listing: .complete, statuses: .init(),
                    summary: .init(
                        objectCount: 40, totalBytes: 4780, storageClasses: [], sizeHistogram: [], lastModified: [],
                        topPrefixes: []))
            ])
        return try gw.context.migrationPlan(for: snapshot, options: .init(constraint: "se"), by: principal, id: id)
    }

    func status(_ id: String) -> MigrationRunStatus? {
        (try? gw.metadata.migrationRun(id: id)).flatMap {
            $0.flatMap { MigrationRunStatus(row: $0, now: gw.context.clock.now()) }
        }
    }

    func waitFor(_ what: String, _ done: () -> Bool) {
        let deadline = Date().addingTimeInterval(20)
        while !done() && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertTrue(done(), what)
    }

    func testARunStartedInTheBackgroundFinishesAndIsSeenThroughTheStore() throws {
        let runs = gw.context.migration.runs
        let p = try plan()
        let first = try runs.start(
            p, .init(credentials: .init(accessKey: "a", secretKey: "right"), endpoint: "http://127.0.0.1:9000"),
            by: principal, gw.context, logger: Logger(label: "t"))
        XCTAssertEqual(first.state, .running)
        XCTAssertEqual(status(p.plan.id)?.state, .running, "the row exists at once")
        waitFor("the run to end") { runs.count == 0 }
        let s = try XCTUnwrap(status(p.plan.id))
        XCTAssertEqual(s.state, .done, s.text)
        XCTAssertEqual(s.objectsCopied, 40)
        XCTAssertEqual(opened.list.withLock { $0 }, ["http://127.0.0.1:9000"])
        XCTAssertEqual(gw.send("GET", "/src/k7").body, Array(repeating: 7, count: 107))
    }

    func testStartRefusalsNameTheirReason() throws {
        let runs = gw.context.migration.runs
        let p = try plan()
        let start = { (secret: String, endpoint: String?) in
            try runs.start(
                p, .init(credentials: .init(accessKey: "a", secretKey: secret), endpoint: endpoint), by: self.principal,
                self.gw.context, logger: Logger(label: "t"))
        }
        XCTAssertThrowsError(try start("wrong", "http://127.0.0.1:9000")) {
            XCTAssertEqual(($0 as? MigrationError)?.code, .sourceFailed)
        }
        XCTAssertThrowsError(try start("right", "http://elsewhere:9000")) {
            XCTAssertEqual(
                ($0 as? MigrationError)?.message,
                "the source endpoint names elsewhere:9000, but the plan was made from 127.0.0.1:9000")
        }
        XCTAssertEqual(try MigrationRuns.endpoint(nil, plan: p), "https://127.0.0.1:9000")
    }

    func testACancelRequestFromAnyWorkerStopsTheRun() throws {
        // A source that lets one object through every 100 ms: the run is still going when asked.
        let slow = SlowSource(source)
        var g = gw!
        g = TestGateway(
            zones: [.init(name: "zone-a", country: "se", region: "se-sto")],
            configure: { $0.migration.connector = { _ throws(SourceError) in slow } })
        gw = g
        let runs = gw.context.migration.runs
        let p = try plan(id: "slow-plan")
        _ = try runs.start(
            p,
            .init(credentials: .init(accessKey: "a", secretKey: "s"), endpoint: "http://127.0.0.1:9000", parallel: 1),
            by: principal, gw.context, logger: Logger(label: "t"))
        XCTAssertThrowsError(
            try runs.start(
                p, .init(credentials: .init(accessKey: "a", secretKey: "s"), endpoint: "http://127.0.0.1:9000"),
                by: principal, gw.context, logger: Logger(label: "t"))
        ) { XCTAssertEqual(($0 as? MigrationError)?.code, .conflict, "one run per plan") }
        waitFor("a few objects") { source.reads >= 3 }
        try MigrationRunner.requestCancel(p.plan.id, gw.context)
        waitFor("the run to stop") { runs.count == 0 }
        let s = try XCTUnwrap(status(p.plan.id))
        XCTAssertEqual(s.state, .cancelled)
        XCTAssertLessThan(s.objectsCopied, 40)
    }
}

/// The in-memory source, each GetObject 100 ms late.
final class SlowSource: SourceAccount {
    let inner: InMemorySourceAccount
    init(_ inner: InMemorySourceAccount) { self.inner = inner }
    func listBuckets() throws(SourceError) -> [SourceBucket] { try inner.listBuckets() }
    func region(of bucket: String) throws(SourceError) -> String { try inner.region(of: bucket) }
    func features(of bucket: String, region: String) -> SourceBucketFeatures {
        inner.features(of: bucket, region: region)
    }
    func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage {
        try inner.listObjects(bucket: bucket, region: region, continuation: continuation)
    }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        Thread.sleep(forTimeInterval: 0.1)
        return try inner.open(bucket: bucket, region: region, key: key)
    }
}
