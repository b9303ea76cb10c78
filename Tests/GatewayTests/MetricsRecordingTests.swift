import Foundation
import GatewayCore
import GatewayTesting
import Metrics
import Synchronization
import XCTest

@testable import Gateway

/// What the agent's and the zones' work counts: replication lag when a replica is verified,
/// zone calls and their failures, bytes stored per zone.
final class MetricsRecordingTests: XCTestCase {
    final class SteppingClock: Clock, @unchecked Sendable {
        let time = Mutex(TestGateway.now)
        func now() -> Double { time.withLock { $0 } }
        func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
    }

    var root: String!
    let clock = SteppingClock()

    override func setUp() { root = NSTemporaryDirectory() + "metrics-rec-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func gateway() throws -> TestGateway {
        let directory = CounterDirectory(path: root)
        let metrics = GatewayMetrics(
            settings: MetricsSettings(), directory: directory,
            recorder: MetricsRecorder(file: try directory.create(kind: "agent")))
        let gw = TestGateway(
            zones: [
                .init(name: "zone-a", country: "se", region: "se-sto"),
                .init(name: "zone-b", country: "fi", region: "fi-hel"),
            ], clock: clock, metrics: metrics)
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>se,fi</LocationConstraint></CreateBucketConfiguration>".utf8
        )
        XCTAssertEqual(gw.send("PUT", "/rep", body: body).status, 200)
        return gw
    }

    func snapshot(_ gw: TestGateway) -> MetricsSnapshot {
        gw.context.metrics!.snapshot(gw.context, now: clock.now())
    }

    func testAVerifiedReplicaRecordsItsLagFromTheWrite() throws {
        let gw = try gateway()
        let data = Array(repeating: UInt8(3), count: 5000)
        XCTAssertEqual(
            gw.send("PUT", "/rep/k", body: data, headers: [("x-amz-tagging", "replica-count=2")]).status, 200)
        clock.advance(42)
        let replicator = Replicator(context: gw.context, owner: "test-agent")
        while replicator.runOne() {}
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "COMPLETED")
        let lag = try XCTUnwrap(snapshot(gw).histogram("s3gw_replication_lag_seconds"))
        XCTAssertEqual(lag.count, 1)
        XCTAssertEqual(lag.sum, 42, accuracy: 0.001)
        XCTAssertEqual(lag.buckets[MetricFamily.lagBuckets.firstIndex(of: 60)!], 1)

        // Bytes stored: the primary in zone-a, the verified replica in zone-b.
        XCTAssertEqual(try ZoneStoredBytes.refresh(gw.context, now: clock.now()), ["zone-a": 5000, "zone-b": 5000])
        let s = snapshot(gw)
        XCTAssertEqual(s.total("s3gw_zone_stored_bytes", matching: ["zone": "zone-b"]), 5000)
        XCTAssertEqual(s.total("s3gw_replication_queue_length"), 0)
    }

    /// The store-read gauges as a scrape shows them: the queue by state, its dead letters and
    /// oldest pending job as the clock moves, and the agent's liveness from its heartbeat.
    func testTheQueueAndTheAgentsHeartbeatAreScraped() throws {
        let gw = try gateway()
        func scrape() -> [String] {
            let r = gw.send("GET", "/metrics", sign: false, remoteAddress: "127.0.0.1")
            XCTAssertEqual(r.status, 200)
            return r.text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
        }
        func assertScraped(_ expected: [String], _ absent: [String] = [], line: UInt = #line) {
            let lines = scrape()
            for e in expected { XCTAssertTrue(lines.contains(e), "missing \(e)", line: line) }
            for a in absent {
                XCTAssertFalse(lines.contains { $0.hasPrefix(a + " ") || $0.hasPrefix(a + "{") }, a, line: line)
            }
        }
        for key in ["a", "b", "c"] {
            XCTAssertEqual(
                gw.send("PUT", "/rep/\(key)", body: [1], headers: [("x-amz-tagging", "replica-count=2")]).status, 200)
        }
        // No agent has ever beaten: down, and no age to show.
        assertScraped(
            [
                #"s3gw_replication_queue_length{state="pending"} 3"#,
                #"s3gw_replication_queue_length{state="running"} 0"#,
                #"s3gw_replication_queue_length{state="dead"} 0"#, "s3gw_replication_dead_letters 0",
                "s3gw_replication_oldest_pending_seconds 0", "s3gw_agent_up 0",
            ], ["s3gw_agent_heartbeat_age_seconds"])

        clock.advance(30)
        let claimed = try gw.metadata.claimJobs(owner: "a", now: clock.now(), lease: 60, limit: 2)
        XCTAssertEqual(claimed.count, 2)
        try gw.metadata.failJob(id: claimed[0].id, owner: "a", error: "gone", retryAt: nil, now: clock.now())
        try Heartbeat(role: .agent, host: "h", pid: 1, startedAt: clock.now(), beatAt: clock.now()).record(
            gw.metadata)
        assertScraped([
            #"s3gw_replication_queue_length{state="pending"} 1"#,
            #"s3gw_replication_queue_length{state="running"} 1"#,
            #"s3gw_replication_queue_length{state="dead"} 1"#, "s3gw_replication_dead_letters 1",
            "s3gw_replication_oldest_pending_seconds 30", "s3gw_agent_up 1", "s3gw_agent_heartbeat_age_seconds 0",
        ])

        // The heartbeat goes stale: the agent is down, its age keeps growing.
        clock.advance(Heartbeat.aliveWithin + 1)
        assertScraped([
            "s3gw_agent_up 0", "s3gw_agent_heartbeat_age_seconds 16", "s3gw_replication_oldest_pending_seconds 46",
        ])
    }

    func testZoneCallsAreTimedAndFailuresCounted() throws {
        let gw = try gateway()
        XCTAssertEqual(gw.send("PUT", "/rep/k", body: [1, 2, 3]).status, 200)
        XCTAssertEqual(gw.send("GET", "/rep/k").status, 200)
        gw.zone.failing = true
        XCTAssertEqual(gw.send("GET", "/rep/k").status, 503)
        let s = snapshot(gw)
        XCTAssertEqual(
            s.histogram("s3gw_zone_request_duration_seconds", matching: ["zone": "zone-a", "call": "open"])?.count, 2)
        XCTAssertEqual(s.total("s3gw_zone_errors_total", matching: ["zone": "zone-a"]), 1)
        XCTAssertEqual(s.total("s3gw_zone_errors_total", matching: ["zone": "zone-b"]), 0)
    }

    /// A zone that fails while bytes stream or at the commit fails the request as surely as one
    /// that refuses the opening: each counts in s3gw_zone_errors_total, and commits are timed.
    func testStreamAndCommitFailuresAreCountedAndCommitsTimed() throws {
        let directory = CounterDirectory(path: root)
        let recorder = MetricsRecorder(file: try directory.create(kind: "worker"))
        let zone = InMemoryZone(name: "zone-a")
        let traced = TracedZone(zone, metrics: recorder)
        try traced.createBucket("b")
        let first = try traced.beginWrite(backendBucket: "b", length: 3)
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try first.write($0) }
        let id = try first.commit()
        let writer = try traced.beginWrite(backendBucket: "b", length: 3)
        let reader = try traced.open(backendBucket: "b", blob: id, offset: 0, length: nil)
        zone.failing = true
        XCTAssertThrowsError(try [UInt8]([1]).withUnsafeBytes { try writer.write($0) })
        XCTAssertThrowsError(try writer.commit())
        var buffer = [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBytes { try reader.read(into: $0) })
        let s = MetricsSnapshot(counted: try directory.collect())
        XCTAssertEqual(s.total("s3gw_zone_errors_total", matching: ["zone": "zone-a"]), 3)
        XCTAssertEqual(
            s.histogram("s3gw_zone_request_duration_seconds", matching: ["zone": "zone-a", "call": "commit"])?.count, 2)
        // A zone the configuration does not have is not that zone failing.
        XCTAssertFalse(TracedZone.isFailure(StoreError.noSuchZone("gone")))
        XCTAssertTrue(TracedZone.isFailure(StoreError.zoneUnavailable("down")))
    }

    /// Lag runs from the copy being asked for: a replica-count raise on an object written long
    /// ago is as late as its job, not as old as the object.
    func testLagOfARaiseRunsFromTheRaiseNotTheObjectsWrite() throws {
        // Written 10 minutes before the raise (as far back as the signature's clock-skew check
        // lets a test go; months in production).
        clock.advance(-600)
        let gw = try gateway()
        XCTAssertEqual(gw.send("PUT", "/rep/old", body: [1, 2, 3]).status, 200)
        clock.advance(600)
        let tagging = Array(
            "<Tagging><TagSet><Tag><Key>replica-count</Key><Value>2</Value></Tag></TagSet></Tagging>".utf8)
        XCTAssertEqual(gw.send("PUT", "/rep/old?tagging", body: tagging).status, 200)
        clock.advance(7)
        let replicator = Replicator(context: gw.context, owner: "test-agent")
        while replicator.runOne() {}
        XCTAssertEqual(gw.send("HEAD", "/rep/old").header("x-amz-replication-status"), "COMPLETED")
        let lag = try XCTUnwrap(snapshot(gw).histogram("s3gw_replication_lag_seconds"))
        XCTAssertEqual(lag.count, 1)
        XCTAssertEqual(lag.sum, 7, accuracy: 0.001)
    }

    /// The agent's count of stored bytes is shown while fresh; once the agent has not counted
    /// for three intervals (it stopped) the gauge goes away rather than stand still.
    func testStoredBytesGoAwayWhenTheAgentStopsCounting() throws {
        let gw = try gateway()
        XCTAssertEqual(gw.send("PUT", "/rep/k", body: [1, 2, 3]).status, 200)
        try ZoneStoredBytes.refresh(gw.context, now: clock.now())
        clock.advance(3 * ZoneStoredBytes.interval)
        XCTAssertEqual(snapshot(gw).total("s3gw_zone_stored_bytes", matching: ["zone": "zone-a"]), 3)
        clock.advance(1)
        XCTAssertNil(snapshot(gw).values["s3gw_zone_stored_bytes"])
    }
}
