import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import Metrics
import XCTest

@testable import Gateway
@testable import MetadataSQL

/// The dashboard's history: the agent's samples in `metrics_history` (the same for the SQLite
/// store and the in-memory double), what a sample counts, `GET /admin/metrics/history`, and
/// `[metrics] history_interval`.
final class MetricsHistoryTests: XCTestCase {
    var fixture: TwoStores!
    /// 2023-11-14T22:13:00Z: a minute's start.
    let minute: Double = 1_699_999_980

    override func setUpWithError() throws { fixture = try TwoStores("history") }

    override func tearDownWithError() throws { fixture.remove() }

    func stores() throws -> [any MetadataStore] {
        try fixture.stores(
            with: BucketRecord(
                name: "a", owner: "o", createdAt: 1, locationConstraint: "se", zones: ["se-1", "se-2"],
                backendBucket: "s3gw-a", replicaCount: 2))
    }

    /// An object with a replica to make: one pending replicate job.
    func put(_ store: any MetadataStore, _ key: String, at time: Double) throws {
        _ = try store.putObject(
            ObjectRecord(
                bucket: "a", key: key, size: 1, etag: "e", lastModified: time, contentType: "t", headers: [],
                checksums: [:], zone: "se-1", blob: "blob-\(key)",
                replicas: [Replica(zone: "se-2", backendBucket: "s3gw-a")]))
    }

    // MARK: the store

    func testOneSamplePerSlotKeptADayAndReadOldestFirst() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            let t = Int64(minute)
            XCTAssertTrue(try store.recordMetricsSample(MetricsSample(time: t - 86400 - 60, replicated: 9)), name)
            XCTAssertTrue(try store.recordMetricsSample(MetricsSample(time: t - 60, requestsTotal: 5, errorsTotal: 1)))
            // Another agent's sample of the same slot changes nothing.
            XCTAssertTrue(try store.recordMetricsSample(MetricsSample(time: t, replicationPending: 3)), name)
            XCTAssertFalse(try store.recordMetricsSample(MetricsSample(time: t, replicationPending: 7)), name)
            // Older than a day: gone once a newer sample is written.
            XCTAssertEqual(try store.metricsSamples(since: 0).map(\.time), [t - 60, t], name)
            XCTAssertEqual(try store.metricsSamples(since: t).map(\.replicationPending), [3], name)
            XCTAssertEqual(try store.metricsSample(before: t)?.requestsTotal, 5, name)
            XCTAssertEqual(try store.metricsSample(before: t)?.errorsTotal, 1, name)
            XCTAssertNil(try store.metricsSample(before: t - 60), name)
            XCTAssertNil(try store.metricsSamples(since: t).first?.requestsTotal, name)
        }
    }

    func testJobCountsOfAMinuteRange() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            for key in ["k1", "k2", "k3"] { try put(store, key, at: minute) }
            let jobs = try store.claimJobs(owner: "h:1:0", now: minute, lease: 60, limit: 3)
            try store.finishJob(id: jobs[0].id, owner: "h:1:0", now: minute + 5)
            try store.finishJob(id: jobs[1].id, owner: "h:1:0", now: minute + 65)
            try store.failJob(id: jobs[2].id, owner: "h:1:0", error: "no", retryAt: minute + 999, now: minute + 70)
            let m = Int64(minute) / 60
            XCTAssertTrue(try store.jobCounts(minutes: m..<(m + 1)) == (1, 0), name)
            XCTAssertTrue(try store.jobCounts(minutes: (m + 1)..<(m + 2)) == (1, 1), name)
            XCTAssertTrue(try store.jobCounts(minutes: m..<(m + 2)) == (2, 1), name)
            XCTAssertTrue(try store.jobCounts(minutes: (m + 2)..<(m + 9)) == (0, 0), name)
        }
    }

    /// Migration 18 on a database at version 17 that holds data: the table appears, the rest
    /// stays as it was.
    func testMigration18AppliesToAVersion17DatabaseWithData() throws {
        do {
            let store = try XCTUnwrap(try stores().first as? SQLMetadataStore)
            try put(store, "k1", at: minute)
            XCTAssertTrue(try store.recordMetricsSample(MetricsSample(time: Int64(minute), replicationPending: 1)))
        }
        do {
            // Back to version 17, as a gateway before the dashboard left it.
            let db = try sqlConnection(dir: fixture.dir)
            try MigrationUndo.undo20(db)
            try db.exec("DROP TABLE metrics_history")
            try db.exec("DELETE FROM schema_migrations WHERE version >= 18")
            var versions: [Int64] = []
            try db.query("SELECT version FROM schema_migrations ORDER BY version", []) { row in
                versions.append(row.int(0))
            }
            XCTAssertEqual(versions.last, 17)
        }
        let store = try sqlStore(dir: fixture.dir)
        XCTAssertEqual(try store.metricsSamples(since: 0), [])
        XCTAssertTrue(try store.recordMetricsSample(MetricsSample(time: Int64(minute) + 60, replicationPending: 2)))
        XCTAssertEqual(try store.metricsSamples(since: 0).map(\.replicationPending), [2])
        XCTAssertEqual(try store.bucket(named: "a")?.replicaCount, 2)
        XCTAssertEqual(try store.object(bucket: "a", key: "k1")?.blob, "blob-k1")
        XCTAssertEqual(try store.queueStats(now: minute + 60).pending, 1)
    }

    // MARK: sampling

    func testASampleHoldsTheQueueAndTheMinutesEndedSinceThePreviousOne() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            for key in ["k1", "k2", "k3", "k4"] { try put(store, key, at: minute - 30) }
            let jobs = try store.claimJobs(owner: "h:1:0", now: minute, lease: 60, limit: 2)
            try store.finishJob(id: jobs[0].id, owner: "h:1:0", now: minute + 10)
            try store.failJob(id: jobs[1].id, owner: "h:1:0", error: "no", retryAt: nil, now: minute + 20)

            // Sampled within the minute the job finished in: that minute has not ended.
            let first = try MetricsHistory.sample(
                store, now: minute + 40, interval: 60, requests: .init(requests: 100, errors: 4))
            XCTAssertEqual(
                first,
                MetricsSample(
                    time: Int64(minute), replicationPending: 2, replicationRunning: 0, replicationDead: 1,
                    oldestPendingSeconds: 70, replicated: 0, replicationFailed: 0, requestsTotal: 100, errorsTotal: 4),
                name)
            // A second agent in the same slot writes nothing.
            XCTAssertNil(try MetricsHistory.sample(store, now: minute + 59, interval: 60, requests: nil), name)
            // The next minute's sample counts the minute that ended (one finished, one failed
            // attempt), once.
            let second = try MetricsHistory.sample(
                store, now: minute + 61, interval: 60, requests: .init(requests: 130, errors: 6))
            XCTAssertEqual(second?.replicated, 1, name)
            XCTAssertEqual(second?.replicationFailed, 1, name)
            let third = try MetricsHistory.sample(store, now: minute + 125, interval: 60, requests: nil)
            XCTAssertEqual(third?.replicated, 0, name)
            XCTAssertEqual(third?.time, Int64(minute) + 120, name)

            let points = try MetricsHistory.points(store, minutes: 60, now: minute + 130)
            XCTAssertEqual(points.map(\.sample.time), [0, 60, 120].map { Int64(minute) + $0 }, name)
            XCTAssertEqual(points.map(\.seconds), [nil, 60, 60], name)
            // Per-sample counts: unknown for the first (nothing before it) and once a total is.
            XCTAssertEqual(points.map(\.requests), [nil, 30, nil], name)
            XCTAssertEqual(points.map(\.errors), [nil, 2, nil], name)
            // A shorter window still counts its first sample against the one before it.
            let last = try MetricsHistory.points(store, minutes: 2, now: minute + 130)
            XCTAssertEqual(last.map(\.requests), [30, nil], name)
        }
    }

    /// The lag p95 of a sample is that of the replicas verified since the previous one: the
    /// difference of the two samples' cumulative `s3gw_replication_lag_seconds` buckets.
    func testASampleHoldsTheLagP95OfTheReplicasVerifiedSinceThePreviousOne() throws {
        let n = MetricFamily.lagBuckets.count + 1
        var base = [Int64](repeating: 0, count: n)
        base[0] = 100  // verified before: under 0.5 s, and not this interval's
        var later = base
        later[MetricFamily.lagBuckets.firstIndex(of: 60)!] = 20  // 20 replicas in (30 s, 60 s]
        for store in try stores() {
            let name = "\(type(of: store))"
            let first = try MetricsHistory.sample(store, now: minute + 1, interval: 60, requests: nil, lag: base)
            XCTAssertEqual(first?.lagBuckets, base, name)
            XCTAssertNil(first?.lagP95Seconds, "no previous sample: \(name)")
            let second = try MetricsHistory.sample(store, now: minute + 61, interval: 60, requests: nil, lag: later)
            // Rank 19 of 20 in (30, 60]: 30 + 30 × 19/20.
            XCTAssertEqual(try XCTUnwrap(second?.lagP95Seconds, name), 58.5, accuracy: 1e-9, name)
            // Read back as stored.
            XCTAssertEqual(try store.metricsSamples(since: 0).map(\.lagP95Seconds), [nil, 58.5], name)
            XCTAssertEqual(try store.metricsSamples(since: 0).map(\.lagBuckets), [base, later], name)
            // Nothing verified since: no lag to show; counters that went back, nor unknown ones.
            XCTAssertNil(
                try MetricsHistory.sample(store, now: minute + 121, interval: 60, requests: nil, lag: later)?
                    .lagP95Seconds, name)
            XCTAssertNil(
                try MetricsHistory.sample(store, now: minute + 181, interval: 60, requests: nil, lag: base)?
                    .lagP95Seconds, name)
            let unknown = try MetricsHistory.sample(store, now: minute + 241, interval: 60, requests: nil)
            XCTAssertNotNil(unknown, name)
            XCTAssertNil(unknown?.lagP95Seconds, name)
        }
        // The buckets from a snapshot: the family summed over its series, one count per bucket.
        let directory = CounterDirectory(path: fixture.dir + "/metrics")
        let recorder = MetricsRecorder(file: try directory.create(kind: "agent"))
        recorder.observe(.replicationLag, [], 42)
        recorder.observe(.replicationLag, [], 0.1)
        let snapshot = MetricsSnapshot(counted: try directory.collect())
        var expected = [Int64](repeating: 0, count: n)
        expected[0] = 1
        expected[MetricFamily.lagBuckets.firstIndex(of: 60)!] = 1
        XCTAssertEqual(MetricsHistory.lagBuckets(snapshot), expected)
    }

    /// Migration 19 on a database at version 18 holding samples: the old rows read with no lag,
    /// new ones keep theirs.
    func testMigration19AddsTheLagColumns() throws {
        do {
            let store = try XCTUnwrap(try stores().first as? SQLMetadataStore)
            XCTAssertTrue(try store.recordMetricsSample(MetricsSample(time: Int64(minute), replicationPending: 1)))
        }
        do {
            let db = try sqlConnection(dir: fixture.dir)
            try MigrationUndo.undo20(db)
            try db.exec("ALTER TABLE metrics_history DROP COLUMN lag_buckets")
            try db.exec("ALTER TABLE metrics_history DROP COLUMN lag_p95_seconds")
            try db.exec("DELETE FROM schema_migrations WHERE version = 19")
        }
        let store = try sqlStore(dir: fixture.dir)
        XCTAssertTrue(
            try store.recordMetricsSample(
                MetricsSample(time: Int64(minute) + 60, lagBuckets: [1, 2], lagP95Seconds: 0.75)))
        let samples = try store.metricsSamples(since: 0)
        XCTAssertEqual(samples.map(\.replicationPending), [1, 0])
        XCTAssertEqual(samples.map(\.lagP95Seconds), [nil, 0.75])
        XCTAssertEqual(samples.map(\.lagBuckets), [nil, [1, 2]])
    }

    func testSlotsFollowTheInterval() {
        XCTAssertEqual(MetricsHistory.slot(minute + 59.9, interval: 60), Int64(minute))
        XCTAssertEqual(MetricsHistory.slot(minute + 3.5, interval: 2), Int64(minute) + 2)
        XCTAssertEqual(MetricsHistory.slot(minute + 3.5, interval: 1), Int64(minute) + 3)
    }

    /// The request totals a sample keeps: every `s3gw_requests_total` series, and those whose
    /// status is 400 or more.
    func testRequestTotalsComeFromTheSummedCounters() {
        var snapshot = MetricsSnapshot()
        snapshot.set(.requests, ["PutObject", "200"], 7)
        snapshot.set(.requests, ["GetObject", "200"], 5)
        snapshot.set(.requests, ["GetObject", "404"], 2)
        snapshot.set(.requests, ["Unknown", "403"], 1)
        snapshot.set(.requests, ["PutObject", "503"], 3)
        snapshot.set(.requestBytes, ["PutObject"], 1000)
        XCTAssertEqual(MetricsHistory.requestTotals(snapshot), .init(requests: 18, errors: 6))
        // The admin API's calls (the dashboard's own among them) are not counted.
        snapshot.set(.requests, ["admin:GetMetrics", "200"], 40)
        snapshot.set(.requests, ["admin:ListZones", "403"], 2)
        XCTAssertEqual(MetricsHistory.requestTotals(snapshot), .init(requests: 18, errors: 6))
        XCTAssertEqual(MetricsHistory.requestTotals(MetricsSnapshot()), .init(requests: 0, errors: 0))
        XCTAssertNil(MetricsHistory.requestTotals(nil as GatewayMetrics?))
    }

    func testCountersThatWentBackCountNothing() {
        XCTAssertNil(MetricsHistory.delta(10, 4))
        XCTAssertEqual(MetricsHistory.delta(4, 10), 6)
        XCTAssertNil(MetricsHistory.delta(nil, 10))
    }

    // MARK: the admin API

    func testTheRouteAnswersTheSamplesToAGatewayAdministratorOnly() throws {
        let gw = TestGateway()
        let t = Int64(TestGateway.now) / 60 * 60
        _ = try gw.metadata.recordMetricsSample(MetricsSample(time: t - 120, requestsTotal: 10, errorsTotal: 1))
        _ = try gw.metadata.recordMetricsSample(
            MetricsSample(
                time: t - 60, replicationPending: 4, replicationRunning: 1, replicationDead: 2,
                oldestPendingSeconds: 12.5, replicated: 7, replicationFailed: 3, requestsTotal: 25, errorsTotal: 4,
                lagP95Seconds: 58.5))
        let rootUser = try XCTUnwrap(gw.identityStore.user(tenant: TenantRecord.defaultID, name: "root"))
        let root = Principal(tenant: TenantRecord.defaultID, user: rootUser, accessKey: TestGateway.accessKey)
        func call(_ query: [String: String], as who: Principal) -> AdminResponse {
            AdminAPI.dispatch(
                AdminRequest(
                    method: "GET", path: ["metrics", "history"], query: query, principal: who, now: TestGateway.now),
                gw.context)
        }
        let a = call(["minutes": "5"], as: root)
        XCTAssertEqual(a.status, 200)
        let view = try AdminJSON.decoder.decode(AdminAPI.MetricsHistoryView.self, from: Data(a.body))
        XCTAssertEqual(view.samples.map(\.time), [HTTPDate.iso8601(Double(t - 120)), HTTPDate.iso8601(Double(t - 60))])
        XCTAssertEqual(view.samples.map(\.requests), [nil, 15])
        XCTAssertEqual(view.samples.map(\.errors), [nil, 3])
        XCTAssertEqual(view.samples.map(\.seconds), [nil, 60])
        let s = view.samples[1]
        XCTAssertEqual(
            [s.replicationPending, s.replicationRunning, s.replicationDead, s.replicated, s.replicationFailed],
            [4, 1, 2, 7, 3])
        XCTAssertEqual(s.replicationOldestPendingSeconds, 12.5)
        XCTAssertEqual(view.samples.map(\.replicationLagP95Seconds), [nil, 58.5])
        // The JSON names the contract gives (docs/OBSERVABILITY.md); unknown counts are left out.
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(a.body)) as? [String: Any])
        XCTAssertEqual(Set(doc.keys), ["now", "samples"])
        let json = ["samples": try XCTUnwrap(doc["samples"] as? [[String: Any]])]
        XCTAssertEqual(
            Set(json["samples"]?[1].keys.map { $0 } ?? []),
            [
                "time", "seconds", "requests", "errors", "replication_pending", "replication_running",
                "replication_dead", "replication_oldest_pending_seconds", "replicated", "replication_failed",
                "replication_lag_p95_seconds",
            ])
        XCTAssertNil(json["samples"]?[0]["requests"])
        // The window: the samples of the last two minutes (now is 20 s into a minute), the first
        // still counted against the one before it.
        let recent = try AdminJSON.decoder.decode(
            AdminAPI.MetricsHistoryView.self, from: Data(call(["minutes": "2"], as: root).body))
        XCTAssertEqual(recent.samples.map(\.requests), [15])
        // The answer's end: the gateway's own time.
        XCTAssertEqual(view.now, HTTPDate.iso8601(TestGateway.now))
        for bad in ["0", "1441", "x", "-5", "", "1.5"] {
            let refused = call(["minutes": bad], as: root)
            XCTAssertEqual(refused.status, 400, bad)
            let error = try JSONSerialization.jsonObject(with: Data(refused.body)) as? [String: Any]
            XCTAssertEqual(error?["code"] as? String, "InvalidRequest", bad)
            XCTAssertEqual(error?["message"] as? String, "minutes must be 1 to 1440", bad)
        }

        // admin:GetMetrics, gateway-wide: a tenant's administrator may not.
        try gw.identityStore.createTenant(TenantRecord(id: "acme", displayName: "Acme", createdAt: TestGateway.now))
        let boss = UserRecord(
            tenant: "acme", name: "boss", id: CanonicalID.make(), permissions: PermissionSet(["admin:*": ["acme"]]),
            createdAt: TestGateway.now)
        try gw.identityStore.createUser(boss)
        XCTAssertEqual(call([:], as: Principal(tenant: "acme", user: boss, accessKey: "AKIDACME")).status, 403)
        let watcher = UserRecord(
            tenant: TenantRecord.defaultID, name: "watcher", id: CanonicalID.make(),
            permissions: PermissionSet(["admin:GetMetrics": ["*"]]), createdAt: TestGateway.now)
        try gw.identityStore.createUser(watcher)
        XCTAssertEqual(
            call([:], as: Principal(tenant: TenantRecord.defaultID, user: watcher, accessKey: "AKIDWATCH")).status, 200)
        XCTAssertTrue(KnownActions.all.contains("admin:GetMetrics"))
    }

    /// A day of samples a second apart is 86,400 points: the answer merges them into at most
    /// 360, the counts summed and the backlog and lag at their largest.
    func testALongHistoryIsDownsampled() throws {
        let t0 = Int64(minute) - 86400
        var points: [MetricsHistory.Point] = []
        for i in Int64(0)..<86400 {
            let gap = i == 50000  // the agent was down before this one
            points.append(
                MetricsHistory.Point(
                    sample: MetricsSample(
                        time: t0 + i + (i >= 50000 ? 600 : 0), replicationPending: Int(i % 1000), replicationDead: 0,
                        oldestPendingSeconds: Double(i % 7), replicated: 1),
                    seconds: i == 0 ? nil : (gap ? 601 : 1), requests: i == 0 ? nil : 2, errors: i % 2 == 0 ? 1 : nil))
        }
        let merged = MetricsHistory.downsample(points)
        XCTAssertLessThanOrEqual(merged.count, MetricsHistory.maxPoints)
        XCTAssertGreaterThan(merged.count, MetricsHistory.maxPoints - 10)
        // Nothing counted is lost, and the spans still add up to the whole.
        XCTAssertEqual(merged.compactMap(\.requests).reduce(0, +), 2 * 86399)
        XCTAssertEqual(merged.compactMap(\.errors).reduce(0, +), 43200)
        XCTAssertEqual(merged.map(\.sample.replicated).reduce(0, +), 86400)
        XCTAssertEqual(merged.compactMap(\.seconds).reduce(0, +), Double(86399 + 600))
        XCTAssertEqual(merged.map(\.sample.replicationPending).max(), 999)
        XCTAssertEqual(merged.map(\.sample.oldestPendingSeconds).max(), 6)
        XCTAssertEqual(merged.last?.sample.time, points.last?.sample.time)
        XCTAssertEqual(merged.map(\.sample.time), merged.map(\.sample.time).sorted())
        // The gap's point spans the gap.
        XCTAssertTrue(merged.contains { ($0.seconds ?? 0) >= 601 })
        // A short history is answered as it is.
        XCTAssertEqual(MetricsHistory.downsample(Array(points.prefix(360))), Array(points.prefix(360)))
    }

    // MARK: configuration

    func testTheSampleIntervalIsConfigurable() throws {
        let zones = "[[zones]]\nname = \"z1\"\npath = \"/data/z1\"\n"
        XCTAssertEqual(try GatewayConfig.parse(zones, file: "t.toml").metrics.historyInterval, 60)
        XCTAssertEqual(
            try GatewayConfig.parse("[metrics]\nhistory_interval = 2\n" + zones, file: "t.toml").metrics
                .historyInterval,
            2)
        for bad in ["0", "3601", "\"1\""] {
            XCTAssertThrowsError(
                try GatewayConfig.parse("[metrics]\nhistory_interval = \(bad)\n" + zones, file: "t.toml"), bad)
        }
    }
}
