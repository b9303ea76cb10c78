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
        let snapshot = try MigrationFixtures.snapshot(of: source, endpoint: MigrationFixtures.localSource)
        return try gw.context.migrationPlan(for: snapshot, options: .init(constraint: "se"), by: principal, id: id)
    }

    /// A gateway whose source lets one object through every 100 ms: a run is still going when
    /// the test acts on it.
    func slowGateway() {
        let slow = SlowSource(source)
        gw = TestGateway(
            zones: [.init(name: "zone-a", country: "se", region: "se-sto")],
            configure: { $0.migration.connector = { _ throws(SourceError) in slow } })
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
            p, .init(credentials: .init(accessKey: "a", secretKey: "right"), endpoint: MigrationFixtures.localSource),
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
        slowGateway()
        let runs = gw.context.migration.runs
        let p = try plan(id: "slow-plan")
        _ = try runs.start(
            p,
            .init(
                credentials: .init(accessKey: "a", secretKey: "s"), endpoint: MigrationFixtures.localSource, parallel: 1
            ),
            by: principal, gw.context, logger: Logger(label: "t"))
        XCTAssertThrowsError(
            try runs.start(
                p, .init(credentials: .init(accessKey: "a", secretKey: "s"), endpoint: MigrationFixtures.localSource),
                by: principal, gw.context, logger: Logger(label: "t"))
        ) { XCTAssertEqual(($0 as? MigrationError)?.code, .conflict, "one run per plan") }
        waitFor("a few objects") { source.reads >= 3 }
        try MigrationRunner.requestCancel(p.plan.id, gw.context)
        waitFor("the run to stop") { runs.count == 0 }
        let s = try XCTUnwrap(status(p.plan.id))
        XCTAssertEqual(s.state, .cancelled)
        XCTAssertLessThan(s.objectsCopied, 40)
    }

    /// Two workers (each its own MigrationRuns, one metadata store) asked to start the same plan
    /// at the same moment: one run starts, every other start is refused.
    func testOfSimultaneousStartsOfAPlanInSeveralWorkersOneRuns() throws {
        let slow = SlowSource(source)
        gw = TestGateway(
            zones: [.init(name: "zone-a", country: "se", region: "se-sto")],
            configure: { $0.migration.connector = { _ throws(SourceError) in slow } })
        let p = try plan(id: "raced-plan")
        let workers = (0..<10).map { _ in MigrationRuns() }
        let outcomes = Mutex<[String]>([])
        let go = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        nonisolated(unsafe) let gw = self.gw!
        let principal = self.principal
        for w in workers {
            group.enter()
            Thread {
                go.wait()
                do {
                    _ = try w.start(
                        p,
                        .init(
                            credentials: .init(accessKey: "a", secretKey: "s"), endpoint: "http://127.0.0.1:9000",
                            parallel: 1), by: principal, gw.context, logger: Logger(label: "t"))
                    outcomes.withLock { $0.append("started") }
                } catch let e as MigrationError {
                    outcomes.withLock { $0.append(e.code.rawValue) }
                } catch {
                    outcomes.withLock { $0.append("\(error)") }
                }
                group.leave()
            }.start()
        }
        for _ in workers { go.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(outcomes.withLock { $0 }.sorted(), Array(repeating: "Conflict", count: 9) + ["started"])
        XCTAssertEqual(workers.map(\.count).reduce(0, +), 1, "one run goes on")
        try MigrationRunner.requestCancel(p.plan.id, gw.context)
        waitFor("the run to stop") { workers.allSatisfy { $0.count == 0 } }
    }

    /// The claim is what decides: a second runner of the same plan is refused while the first
    /// one's row is live, and may take over a row whose run stopped writing or whose process is gone.
    func testAClaimIsRefusedOverALiveRunAndTakesOverAStaleOne() throws {
        let p = try plan(id: "claimed-plan")
        func runner() -> MigrationRunner {
            MigrationRunner(plan: p, source: source, principal: principal, ctx: gw.context, logger: Logger(label: "t"))
        }
        try runner().claim()
        XCTAssertEqual(status(p.plan.id)?.state, .running)
        XCTAssertThrowsError(try runner().claim()) {
            XCTAssertEqual(($0 as? MigrationError)?.code, .conflict)
            XCTAssertTrue(($0 as? MigrationError)?.message.contains("already running") ?? false, "\($0)")
        }
        // Not written for two minutes: interrupted, and the plan may run again.
        var row = try XCTUnwrap(try gw.metadata.migrationRun(id: p.plan.id))
        row.updatedAt -= 120
        try gw.metadata.saveMigrationRun(row)
        try runner().claim()
        // Its process gone (a pid of this host that is no more): the same.
        let fresh = try XCTUnwrap(try gw.metadata.migrationRun(id: p.plan.id))
        try gw.metadata.saveMigrationRun(
            MigrationRunRow(
                id: fresh.id, tenant: fresh.tenant, planId: fresh.planId, state: fresh.state,
                updatedAt: fresh.updatedAt,
                document: fresh.document.replacingOccurrences(
                    of: MigrationRunStatus.thisProcess,
                    with: MigrationRunStatus.thisProcess.split(separator: ":")[0] + ":999999999")))
        try runner().claim()
        // One that could not start says so, and is no obstacle.
        let last = runner()
        XCTAssertThrowsError(try last.claim())
        runner().abandon("cannot serve read-through: test")
        XCTAssertEqual(status(p.plan.id)?.state, .failed)
        XCTAssertEqual(status(p.plan.id)?.error, "cannot serve read-through: test")
        XCTAssertEqual(status(p.plan.id)?.buckets.map(\.state), ["not_started"], "none was started")
        XCTAssertEqual(status(p.plan.id)?.failedBuckets, 0)
        try last.claim()
    }

    func testAWorkerDrainInterruptsItsRunsWhichResume() throws {
        slowGateway()
        let runs = gw.context.migration.runs
        let p = try plan(id: "drained")
        let start = MigrationRuns.Start(
            credentials: .init(accessKey: "a", secretKey: "s"), endpoint: MigrationFixtures.localSource, parallel: 1)
        _ = try runs.start(p, start, by: principal, gw.context, logger: Logger(label: "t"))
        waitFor("a few objects") { source.reads >= 3 }
        runs.stopAll(timeout: 10)
        XCTAssertEqual(runs.count, 0)
        let s = try XCTUnwrap(status(p.plan.id))
        XCTAssertEqual(s.state, .interrupted, "the worker stopped it, not a person")
        XCTAssertEqual(s.buckets.map(\.state), ["interrupted"])
        XCTAssertNil(s.error)
        // Started again, it resumes.
        _ = try runs.start(p, start, by: principal, gw.context, logger: Logger(label: "t"))
        waitFor("the run to end") { runs.count == 0 }
        let resumed = try XCTUnwrap(status(p.plan.id))
        XCTAssertEqual(resumed.state, .done, resumed.text)
        XCTAssertEqual(resumed.objectsCopied + resumed.objectsPresent, 40)
        XCTAssertGreaterThan(resumed.objectsPresent, 0)
    }

    func testAnEndpointTheAllowListRefusesHasItsOwnCode() throws {
        gw = TestGateway(
            zones: [.init(name: "zone-a", country: "se", region: "se-sto")],
            configure: {
                $0.migration.connector = { spec throws(SourceError) in throw .endpointNotAllowed(spec.endpoint) }
            })
        XCTAssertThrowsError(
            try gw.context.migration.runs.start(
                try plan(), .init(credentials: .init(accessKey: "a", secretKey: "s")), by: principal, gw.context,
                logger: Logger(label: "t"))
        ) { XCTAssertEqual(($0 as? MigrationError)?.code, .endpointNotAllowed) }
    }
}
