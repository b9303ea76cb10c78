import Gateway
import GatewayCore
import GatewayTesting
import Synchronization
import XCTest

/// Repair and scrub over in-memory zones: a copy deleted or damaged behind the gateway's back is
/// found by comparing metadata with what the zone holds, and made again from an intact copy.
final class RepairTests: XCTestCase {
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto"),
        .init(name: "zone-b", country: "fi", region: "fi-hel"),
    ]
    var gw: TestGateway!
    var agentTime = TestGateway.now

    override func setUp() {
        gw = TestGateway(zones: catalog)
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>se,fi</LocationConstraint></CreateBucketConfiguration>".utf8
        )
        XCTAssertEqual(gw.send("PUT", "/rep", body: body).status, 200)
    }

    /// The agent's context a little later each time (so its zone-health view is fresh).
    func agent() -> GatewayContext {
        agentTime += 10
        return gw.context(at: agentTime)
    }

    func drain() {
        let r = Replicator(context: agent(), owner: "test")
        var n = 0
        while r.runOne() && n < 100 { n += 1 }
    }

    func put(_ key: String, _ bytes: [UInt8], copies: Int = 2) {
        XCTAssertEqual(
            gw.send("PUT", "/rep/\(key)", body: bytes, headers: [("x-amz-tagging", "replica-count=\(copies)")]).status,
            200)
    }

    func object(_ key: String) throws -> ObjectRecord { try XCTUnwrap(try gw.metadata.object(bucket: "rep", key: key)) }

    /// Reads `key` from zone `zone` only (the other zone fails meanwhile).
    func read(_ key: String, from zone: String) -> [UInt8]? {
        let other = zone == "zone-a" ? "zone-b" : "zone-a"
        gw.zones[other]!.failing = true
        defer { gw.zones[other]!.failing = false }
        let r = gw.send("GET", "/rep/\(key)")
        return r.status == 200 && r.header("x-s3gw-zone") == zone ? r.body : nil
    }

    func scrubAll() -> Scrub.Report {
        (try? Scrub.run(cursorKey: "scrub", budget: 1000, agent())) ?? Scrub.Report()
    }

    func testADeletedReplicaIsCopiedAgain() throws {
        let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 13) }
        put("k", data)
        drain()
        let replica = try object("k").replicas[0]
        try gw.zones["zone-b"]!.deleteBlob(backendBucket: replica.backendBucket, blob: replica.blob)
        XCTAssertNil(read("k", from: "zone-b"))

        let report = scrubAll()
        XCTAssertEqual(report.checked, 1)
        XCTAssertEqual(report.outcomes.map(\.notes), [["replica in zone-b is missing: copy queued"]])
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "PENDING")
        drain()
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "COMPLETED")
        XCTAssertEqual(read("k", from: "zone-b"), data)
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1)
        XCTAssertEqual(scrubAll().outcomes.count, 0, "an intact object was repaired")
    }

    func testADamagedReplicaIsReplacedAndTheDamageRemoved() throws {
        let data = Array("the real bytes".utf8)
        put("short", data)
        put("same", data)
        drain()
        // Bytes of another size, and bytes of the same size: only a deep check sees the second
        // (an in-memory zone, like a filesystem one, keeps no ETag).
        for (key, planted) in [("short", Array("torn".utf8)), ("same", Array("THE REAL BYTES".utf8))] {
            let r = try object(key).replicas[0]
            gw.zones["zone-b"]!.plant(planted, backendBucket: r.backendBucket, id: r.blob)
        }
        let report = scrubAll()
        XCTAssertEqual(report.outcomes.map(\.key), ["short"])
        XCTAssertEqual(report.outcomes.first?.notes, ["replica in zone-b holds 4 bytes, not 14: copy queued"])

        var deep: [Repair.Outcome] = []
        let checked = try Repair.bucket("rep", Repair.Options(deep: true), agent()) { deep.append($0) }
        XCTAssertEqual(checked, 2)
        XCTAssertEqual(deep.map(\.key), ["same", "short"])
        XCTAssertEqual(deep[0].notes.count, 1)
        XCTAssert(deep[0].notes[0].hasPrefix("replica in zone-b reads as ETag "), deep[0].notes[0])
        XCTAssertEqual(deep[1].notes, [], "already queued by the scrub")
        drain()
        XCTAssertEqual(read("short", from: "zone-b"), data)
        XCTAssertEqual(read("same", from: "zone-b"), data)
        // The damaged blobs went with their repair.
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 2)
    }

    func testALostPrimaryCopyIsRestoredFromTheReplica() throws {
        let data = Array("primary".utf8)
        put("k", data)
        drain()
        let before = try object("k")
        try gw.zone.deleteBlob(backendBucket: gw.context.backendBucket(forTest: "rep", in: "zone-a"), blob: before.blob)

        let report = scrubAll()
        XCTAssertEqual(
            report.outcomes.first?.notes,
            ["primary copy in zone-a is missing: the replica in zone-b is the primary copy now; copy to zone-a queued"])
        let after = try object("k")
        XCTAssertEqual(after.zone, "zone-b")
        XCTAssertEqual(after.blob, before.replicas[0].blob)
        XCTAssertNotEqual(after.generation, before.generation)
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-s3gw-replicas"), "zone-b=primary,zone-a=pending")
        drain()
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "COMPLETED")
        XCTAssertEqual(read("k", from: "zone-a"), data)
        XCTAssertEqual(read("k", from: "zone-b"), data)
        XCTAssertEqual(gw.zone.blobCount, 1)
    }

    func testAnObjectWithNoIntactCopyIsReportedNotInvented() throws {
        put("only", [1, 2, 3], copies: 1)
        let o = try object("only")
        try gw.zone.deleteBlob(backendBucket: gw.context.backendBucket(forTest: "rep", in: "zone-a"), blob: o.blob)
        let outcome = try XCTUnwrap(scrubAll().outcomes.first)
        XCTAssertTrue(outcome.lost)
        XCTAssertEqual(outcome.queued, 0)
        XCTAssertEqual(try object("only"), o)
        XCTAssertEqual(try gw.metadata.jobs(bucket: "rep", key: nil, limit: 10), [])
    }

    /// A record read before an overwrite names blobs the overwrite removed: not a loss.
    func testAnOverwriteDuringTheCheckIsNoLoss() throws {
        put("k", [1, 2, 3], copies: 1)
        let before = try object("k")
        put("k", [4, 5], copies: 1)  // removes the old blob, as a client overwrite does
        let outcome = Repair.check(
            before, in: try XCTUnwrap(try gw.metadata.bucket(named: "rep")), Repair.Options(), agent())
        XCTAssertFalse(outcome.lost, "\(outcome.notes)")
        XCTAssertEqual(outcome.notes, ["changed while it was checked; nothing queued"])
        XCTAssertEqual(read("k", from: "zone-a"), [4, 5])
    }

    func testACopyInAZoneThatIsDownIsNotJudged() throws {
        put("k", [7])
        drain()
        gw.zones["zone-b"]!.failing = true
        let outcome = try XCTUnwrap(scrubAll().outcomes.first)
        XCTAssertEqual(outcome.queued, 0)
        XCTAssertEqual(outcome.unchecked.count, 1)
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "COMPLETED")
    }

    func testTheScrubKeepsToItsBudgetAndResumesWhereItLeftOff() throws {
        for i in 1...5 { put("k\(i)", [UInt8(i)], copies: 1) }
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>se</LocationConstraint></CreateBucketConfiguration>".utf8)
        XCTAssertEqual(gw.send("PUT", "/sec", body: body).status, 200)
        XCTAssertEqual(gw.send("PUT", "/sec/z", body: [9]).status, 200)
        // Damage beyond the first slice is found only when the cursor gets there.
        let k5 = try object("k5")
        gw.zone.plant([1, 2], backendBucket: gw.context.backendBucket(forTest: "rep", in: "zone-a"), id: k5.blob)

        var r = try Scrub.run(cursorKey: "scrub", budget: 3, agent())
        XCTAssertEqual([r.checked, r.outcomes.count], [3, 0])
        XCTAssertFalse(r.wrapped)
        XCTAssertEqual(try gw.metadata.agentState("scrub"), "rep/k3/" + (try object("k3")).versionSeq)
        r = try Scrub.run(cursorKey: "scrub", budget: 3, agent())
        XCTAssertEqual(r.checked, 3)
        XCTAssertEqual(r.outcomes.map(\.key), ["k5"])
        XCTAssertTrue(r.outcomes[0].lost)
        // k4, k5 and the other bucket's only object: the pass is complete.
        XCTAssertTrue(r.wrapped)
        XCTAssertEqual(try gw.metadata.agentState("scrub"), "")
        r = try Scrub.run(cursorKey: "scrub", budget: 2, agent())
        XCTAssertEqual(r.checked, 2)
        XCTAssertEqual(
            try gw.metadata.agentState("scrub"), "rep/k2/" + (try object("k2")).versionSeq, "a new pass starts over")
    }

    func testTheAgentsScrubIsPacedByTheHourlyBudget() throws {
        for i in 1...30 { put(String(format: "k%02d", i), [UInt8(i)], copies: 1) }
        var settings = ReplicationSettings()
        settings.scrubPerHour = 3600  // one a second
        let clock = SteppingClock(TestGateway.now)
        let ctx = GatewayContext(
            metadata: gw.metadata, zones: gw.zones, catalog: gw.context.catalog, identities: gw.context.identities,
            clock: clock, installationSecret: Array(repeating: 7, count: 32), logger: gw.context.logger,
            replication: settings)
        let scrubber = Scrubber(context: ctx)
        XCTAssertFalse(scrubber.runSlice(), "nothing earned yet")
        clock.advance(5.5)
        XCTAssertTrue(scrubber.runSlice())
        XCTAssertEqual(try gw.metadata.agentState("scrub"), "rep/k05/" + (try object("k05")).versionSeq)
        XCTAssertFalse(scrubber.runSlice(), "the budget is spent")
        clock.advance(3600)  // an hour's stall earns ten minutes' worth at most
        XCTAssertTrue(scrubber.runSlice())
        XCTAssertEqual(try gw.metadata.agentState("scrub"), "", "all 30 checked, the pass wrapped")

        settings.scrubPerHour = 0
        let off = Scrubber(
            context: GatewayContext(
                metadata: gw.metadata, zones: gw.zones, catalog: gw.context.catalog, identities: gw.context.identities,
                clock: clock, installationSecret: Array(repeating: 7, count: 32), logger: gw.context.logger,
                replication: settings))
        _ = off.runSlice()
        clock.advance(3600)
        XCTAssertFalse(off.runSlice(), "scrub_per_hour = 0 scrubs nothing")
    }

    func testAZoneBackFromAnOutageGetsWhatItLacks() throws {
        put("before", Array("written before".utf8))
        drain()
        // zone-b goes down and loses everything (a provider restarted empty); a write meanwhile
        // waits for it.
        gw.zones["zone-b"]!.failing = true
        for _ in 0..<3 { Maintenance.checkZones(agent(), timeout: 5) }
        put("during", Array("written during".utf8))
        drain()
        XCTAssertEqual(gw.send("HEAD", "/rep/during").header("x-amz-replication-status"), "PENDING")
        let lost = try object("before").replicas[0]
        try gw.zones["zone-b"]!.deleteBlob(backendBucket: lost.backendBucket, blob: lost.blob)

        gw.zones["zone-b"]!.failing = false
        Maintenance.checkZones(agent(), timeout: 5)
        XCTAssertEqual(try gw.metadata.agentStates(prefix: "repair:").map(\.key), ["repair:zone-b"])
        // The pass runs whatever the scrub's budget, then ends.
        var settings = ReplicationSettings()
        settings.scrubPerHour = 0
        let ctx = GatewayContext(
            metadata: gw.metadata, zones: gw.zones, catalog: gw.context.catalog, identities: gw.context.identities,
            clock: FixedClock(agentTime), installationSecret: Array(repeating: 7, count: 32),
            logger: gw.context.logger, replication: settings)
        XCTAssertTrue(Scrubber(context: ctx).runSlice())
        XCTAssertEqual(try gw.metadata.agentStates(prefix: "repair:").count, 0)
        drain()
        XCTAssertEqual(read("before", from: "zone-b"), Array("written before".utf8))
        XCTAssertEqual(read("during", from: "zone-b"), Array("written during".utf8))
    }

    func testAPassOverAZoneWaitsWhereTheZoneFailsAgain() throws {
        put("k1", [1])
        put("k2", [2])
        drain()
        gw.zones["zone-b"]!.failing = true
        var r = try Scrub.run(cursorKey: "repair:zone-b", zone: "zone-b", budget: 10, agent())
        XCTAssertTrue(r.stalled)
        XCTAssertEqual(r.checked, 0)
        XCTAssertEqual(
            try gw.metadata.agentState("repair:zone-b"), "rep/", "the pass moved past what it could not check")
        gw.zones["zone-b"]!.failing = false
        let lost = try object("k1").replicas[0]
        try gw.zones["zone-b"]!.deleteBlob(backendBucket: lost.backendBucket, blob: lost.blob)
        r = try Scrub.run(cursorKey: "repair:zone-b", zone: "zone-b", budget: 10, agent())
        XCTAssertEqual(r.checked, 2)
        XCTAssertTrue(r.wrapped)
        XCTAssertEqual(r.outcomes.map(\.key), ["k1"])
    }

    func testAnOperatorsRepairRequeuesDeadAndJoblessCopies() throws {
        var settings = ReplicationSettings()
        settings.maxAttempts = 1
        gw = TestGateway(zones: catalog, replication: settings)
        setUp2()
        gw.zones["zone-b"]!.failing = true
        put("dead", [1])
        put("jobless", [2])
        let jobs = try gw.metadata.jobs(bucket: "rep", key: nil, limit: 10)
        XCTAssertTrue(try gw.metadata.cancelJob(id: jobs.first { $0.key == "jobless" }!.id))
        drain()  // one attempt: dead
        XCTAssertEqual(gw.send("HEAD", "/rep/dead").header("x-amz-replication-status"), "FAILED")
        gw.zones["zone-b"]!.failing = false
        // The agent's scrub leaves dead letters to `replication retry`; an operator's repair does not.
        XCTAssertEqual(scrubAll().outcomes.map(\.key), ["jobless"])
        var notes: [String: [String]] = [:]
        _ = try Repair.bucket("rep", Repair.Options(retryDead: true), agent()) { notes[$0.key] = $0.notes }
        XCTAssertEqual(notes["dead"]?.count, 1)
        XCTAssert(notes["dead"]?[0].hasPrefix("replica in zone-b had failed: job ") ?? false)
        drain()
        XCTAssertEqual(read("dead", from: "zone-b"), [1])
        XCTAssertEqual(read("jobless", from: "zone-b"), [2])
    }

    private func setUp2() {
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>se,fi</LocationConstraint></CreateBucketConfiguration>".utf8
        )
        XCTAssertEqual(gw.send("PUT", "/rep", body: body).status, 200)
    }
}

/// A clock a test moves forward.
final class SteppingClock: Clock {
    private let time: Mutex<Double>
    init(_ start: Double) { time = Mutex(start) }
    func now() -> Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

extension GatewayContext {
    /// The backend bucket the test gateway's owner has for `bucket` in `zone`.
    func backendBucket(forTest bucket: String, in zone: String) -> String {
        BackendBucketName.derive(
            secret: installationSecret, tenant: TenantRecord.defaultID, bucket: bucket, zone: zone)
    }
}
