import Gateway
import GatewayCore
import GatewayTesting
import XCTest

/// Failover over in-memory zones: the agent's health checks mark a primary down, the next zone
/// the bucket's constraint allows becomes its primary, and writes follow; never a zone outside
/// the constraint, never a write to a zone marked down, no silent return of the old primary.
final class FailoverTests: XCTestCase {
    // Two Swedish zones, one Finnish, one German. `se,fi` places zone-a, zone-b, zone-d.
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto"),
        .init(name: "zone-b", country: "fi", region: "fi-hel"),
        .init(name: "zone-c", country: "de", region: "de-fra"),
        .init(name: "zone-d", country: "se", region: "se-got"),
    ]
    var gw: TestGateway!
    /// The agent's time: each health check is a little later.
    var agentTime = TestGateway.now

    func makeGateway(failover: ReplicationSettings.FailoverMode = .auto, after: Int = 3) {
        var settings = ReplicationSettings()
        settings.failover = failover
        settings.failoverAfter = after
        gw = TestGateway(zones: catalog, replication: settings)
    }

    override func setUp() { makeGateway() }

    func createBucket(_ name: String, _ constraint: String) {
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>\(constraint)</LocationConstraint></CreateBucketConfiguration>"
                .utf8)
        XCTAssertEqual(gw.send("PUT", "/\(name)", body: body).status, 200)
    }

    /// `n` health checks, as the agent runs them (failover follows each).
    @discardableResult
    func check(_ n: Int = 1) -> [ZoneHealth] {
        var last: [ZoneHealth] = []
        for _ in 0..<n {
            agentTime += 30
            last = Maintenance.checkZones(gw.context(at: agentTime), timeout: 5)
        }
        return last
    }

    func zones(_ bucket: String) throws -> [String] { try XCTUnwrap(try gw.metadata.bucket(named: bucket)).zones }

    var storedBlobs: Int { gw.zones.values.map(\.blobCount).reduce(0, +) }

    func testTheNextAllowedHealthyZoneInPlacementOrderBecomesPrimary() throws {
        createBucket("two", "se,fi")
        XCTAssertEqual(try zones("two"), ["zone-a", "zone-b", "zone-d"])
        XCTAssertEqual(gw.send("PUT", "/two/old", body: [1, 2, 3]).status, 200)
        gw.zones["zone-a"]!.failing = true
        gw.zones["zone-b"]!.failing = true
        check(2)
        XCTAssertEqual(try zones("two"), ["zone-a", "zone-b", "zone-d"], "promoted before failover_after checks")
        check()
        // zone-b, next in placement, failed too: the Swedish zone-d is the first healthy one.
        XCTAssertEqual(try zones("two"), ["zone-d", "zone-a", "zone-b"])
        let put = gw.send("PUT", "/two/new", body: [4, 5], headers: [("x-amz-tagging", "replica-count=2")])
        XCTAssertEqual(put.status, 200)
        let head = gw.send("HEAD", "/two/new")
        XCTAssertEqual(head.header("x-s3gw-replicas"), "zone-d=primary,zone-a=pending", "replicas follow the new order")
        XCTAssertEqual(gw.zones["zone-d"]!.blobCount, 1)
        // The object written before keeps its copy where it is.
        XCTAssertEqual(try gw.metadata.object(bucket: "two", key: "old")?.zone, "zone-a")

        // The old primary comes back: repaired, not made primary again.
        gw.zones["zone-a"]!.failing = false
        gw.zones["zone-b"]!.failing = false
        check(3)
        XCTAssertEqual(try zones("two"), ["zone-d", "zone-a", "zone-b"])
        XCTAssertEqual(
            try gw.metadata.agentStates(prefix: "repair:").map(\.key), ["repair:zone-a", "repair:zone-b"],
            "no repair pass was scheduled for the zones that came back")
        XCTAssertEqual(gw.send("GET", "/two/old").body, [1, 2, 3])
    }

    func testASwedishBucketNeverFailsOverToFinlandATwoCountryBucketDoes() throws {
        createBucket("home", "se")
        createBucket("both", "se,fi")
        XCTAssertEqual(try zones("home"), ["zone-a", "zone-d"])
        gw.zones["zone-a"]!.failing = true
        gw.zones["zone-d"]!.failing = true
        check(3)
        XCTAssertEqual(try zones("home"), ["zone-a", "zone-d"], "a Swedish bucket was moved")
        XCTAssertEqual(try zones("both"), ["zone-b", "zone-a", "zone-d"])

        let before = storedBlobs
        let refused = gw.send("PUT", "/home/k", body: [1])
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.errorCode, "ServiceUnavailable")
        XCTAssertEqual(storedBlobs, before, "a refused write stored bytes")
        XCTAssertEqual(gw.send("HEAD", "/home/k").status, 404)

        XCTAssertEqual(gw.send("PUT", "/both/k", body: [2]).status, 200)
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1)
        XCTAssertEqual(gw.zones["zone-c"]!.blobCount, 0, "a byte in a country no constraint names")
    }

    func testAPrimaryMarkedDownIsRefusedAtOnceAndNothingIsStored() throws {
        createBucket("home", "se")
        // The checker says down; the zones themselves would still take the bytes. No agent runs
        // here to promote anything.
        for zone in ["zone-a", "zone-d"] {
            try gw.metadata.recordZoneHealth(
                ZoneHealth(
                    zone: zone, state: .down, lastError: "gone", latency: 0, checkedAt: TestGateway.now,
                    consecutiveFailures: 3))
        }
        XCTAssertEqual(gw.send("PUT", "/home/k", body: [1, 2]).errorCode, "ServiceUnavailable")
        XCTAssertEqual(gw.send("POST", "/home/mp?uploads").errorCode, "ServiceUnavailable")
        XCTAssertEqual(storedBlobs, 0)
        XCTAssertEqual(try gw.metadata.listObjects(bucket: "home", query: ListQuery()).objects, [])
    }

    func testFailoverAfterIsConfigurable() throws {
        makeGateway(after: 1)
        createBucket("two", "se,fi")
        gw.zones["zone-a"]!.failing = true
        check()
        XCTAssertEqual(try zones("two"), ["zone-b", "zone-a", "zone-d"])
    }

    func testManualFailoverWaitsForTheOperator() throws {
        makeGateway(failover: .manual)
        createBucket("two", "se,fi")
        gw.zones["zone-a"]!.failing = true
        check(4)
        XCTAssertEqual(try zones("two"), ["zone-a", "zone-b", "zone-d"])
        XCTAssertEqual(gw.send("PUT", "/two/k", body: [1]).errorCode, "ServiceUnavailable")
        XCTAssertEqual(storedBlobs, 0)

        let ctx = gw.context(at: agentTime)
        let b = try Failover.promote(bucket: "two", to: "zone-d", ctx)
        XCTAssertEqual(b.zones, ["zone-d", "zone-a", "zone-b"])
        XCTAssertEqual(try zones("two"), ["zone-d", "zone-a", "zone-b"])
        XCTAssertEqual(gw.send("PUT", "/two/k", body: [1]).status, 200)
        XCTAssertEqual(gw.zones["zone-d"]!.blobCount, 1)
    }

    /// Who moved a bucket's primary is on the audit chain: the agent's failover (its
    /// `CheckZones` step) and an operator's promotion through the admin API alike, and so is
    /// the operator's retry of dead replication jobs.
    func testFailoverPromotionAndRetryAreAudited() throws {
        createBucket("two", "se,fi")
        XCTAssertEqual(gw.send("PUT", "/two/k", body: [1], headers: [("x-amz-tagging", "replica-count=2")]).status, 200)
        gw.zones["zone-a"]!.failing = true
        // As the agent runs its health checks: each one a trace of its own (Agent.agentStep).
        for _ in 0..<3 {
            let trace = RequestTrace(requestId: "check", origin: .agent, started: agentTime)
            trace.operation = "CheckZones"
            trace.run { check() }
        }
        XCTAssertEqual(try zones("two"), ["zone-b", "zone-a", "zone-d"])
        gw.zones["zone-a"]!.failing = false

        let promote = gw.send(
            "POST", "/admin/failover/promote", body: Array(#"{"bucket":"two","zone":"zone-d"}"#.utf8))
        XCTAssertEqual(promote.status, 200, promote.text)
        let moves = try gw.metadata.auditRecords(AuditQuery(change: "bucket.zones"))
        XCTAssertEqual(
            moves.map { [$0.origin, $0.operation, $0.accessKey, $0.bucket, $0.detail] },
            [
                [
                    "agent", "CheckZones", "", "two",
                    #"{"from":["zone-a","zone-b","zone-d"],"zones":["zone-b","zone-a","zone-d"]}"#,
                ],
                [
                    "admin", "admin:PromoteZone", TestGateway.accessKey, "two",
                    #"{"from":["zone-b","zone-a","zone-d"],"zones":["zone-d","zone-b","zone-a"]}"#,
                ],
            ])

        // A dead copy job put back by the operator.
        let job = try XCTUnwrap(try gw.metadata.claimJobs(owner: "a", now: agentTime, lease: 60, limit: 1).first)
        try gw.metadata.failJob(id: job.id, owner: "a", error: "gone", retryAt: nil, now: agentTime)
        let retry = gw.send("POST", "/admin/replication/retry", body: Array(#"{"all_dead":true}"#.utf8))
        XCTAssertEqual(retry.status, 200, retry.text)
        let retries = try gw.metadata.auditRecords(AuditQuery(change: "job.retry"))
        XCTAssertEqual(
            retries.map { [$0.origin, $0.operation, $0.accessKey, $0.detail] },
            [["admin", "admin:RetryReplicationJobs", TestGateway.accessKey, #"{"jobs":["\#(job.id)"],"count":1}"#]])
    }

    func testPromotionRefusals() throws {
        createBucket("home", "se")
        createBucket("two", "se,fi")
        let ctx = gw.context(at: agentTime)
        func refusal(_ bucket: String, _ zone: String, force: Bool = false) -> String {
            do {
                try Failover.promote(bucket: bucket, to: zone, force: force, ctx)
                return "promoted"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(
            refusal("home", "zone-b"),
            "zone zone-b is not in bucket home's placement (zone-a, zone-d): its LocationConstraint 'se' does not allow it"
        )
        XCTAssert(refusal("two", "zone-c").contains("not in bucket two's placement"))
        XCTAssert(refusal("two", "mars-1").hasSuffix("(and no zone of that name is configured)"))
        XCTAssertEqual(refusal("nope", "zone-a"), "no bucket named nope")
        XCTAssertEqual(try zones("home"), ["zone-a", "zone-d"])
        XCTAssertEqual(try zones("two"), ["zone-a", "zone-b", "zone-d"])

        // A zone the checker marks down takes --force.
        try gw.metadata.recordZoneHealth(
            ZoneHealth(
                zone: "zone-b", state: .down, lastError: "gone", latency: 0, checkedAt: agentTime,
                consecutiveFailures: 3))
        let later = gw.context(at: agentTime + 60)
        XCTAssertThrowsError(try Failover.promote(bucket: "two", to: "zone-b", later)) {
            XCTAssertEqual("\($0)", "zone zone-b is marked down by the health checker; --force promotes it anyway")
        }
        XCTAssertEqual(try Failover.promote(bucket: "two", to: "zone-b", force: true, later).primaryZone, "zone-b")
        // Already the primary: nothing changes.
        XCTAssertEqual(try Failover.promote(bucket: "two", to: "zone-b", later).zones, ["zone-b", "zone-a", "zone-d"])
        XCTAssertEqual(try zones("two"), ["zone-b", "zone-a", "zone-d"])
    }

    func testSettingsFromTheConfiguration() throws {
        let zones = "[[zones]]\nname = \"z1\"\npath = \"/data/z1\"\n"
        let plain = try GatewayConfig.parse(zones, file: "t.toml").replication
        XCTAssertEqual(
            [plain.failover.rawValue, "\(plain.failoverAfter)", "\(plain.scrubPerHour)"], ["auto", "3", "10000"])
        let set = try GatewayConfig.parse(
            "[replication]\nfailover = \"manual\"\nfailover_after = 5\nscrub_per_hour = 0\n" + zones, file: "t.toml"
        ).replication
        XCTAssertEqual([set.failover.rawValue, "\(set.failoverAfter)", "\(set.scrubPerHour)"], ["manual", "5", "0"])
        XCTAssertThrowsError(
            try GatewayConfig.parse("[replication]\nfailover = \"sometimes\"\n" + zones, file: "t.toml")
        ) {
            XCTAssertEqual("\($0)", "t.toml:2: failover: must be one of auto, manual")
        }
        XCTAssertThrowsError(try GatewayConfig.parse("[replication]\nfailover_after = 0\n" + zones, file: "t.toml"))
    }
}
