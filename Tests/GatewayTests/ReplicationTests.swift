import Gateway
import GatewayCore
import GatewayTesting
import XCTest

/// Replicas end to end over in-memory zones: PUT queues a job, the replicator copies and
/// verifies, GET shows the state and reads any copy, and every change of the object reaches
/// every copy.
final class ReplicationTests: XCTestCase {
    // Sweden holds the primary; Finland is the second country a `se,fi` bucket allows.
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto"),
        .init(name: "zone-b", country: "fi", region: "fi-hel"),
        .init(name: "zone-c", country: "de", region: "de-fra"),
    ]
    var gw: TestGateway!
    var replicator: Replicator!

    override func setUp() {
        var settings = ReplicationSettings()
        settings.maxAttempts = 3
        gw = TestGateway(zones: catalog, replication: settings)
        replicator = Replicator(context: gw.context, owner: "test-agent")
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>se,fi</LocationConstraint></CreateBucketConfiguration>".utf8
        )
        XCTAssertEqual(gw.send("PUT", "/rep", body: body).status, 200)
    }

    func drain() {
        var n = 0
        while replicator.runOne() && n < 100 { n += 1 }
    }

    func put(_ key: String, _ bytes: [UInt8], copies: Int = 2) -> TestGateway.Response {
        gw.send("PUT", "/rep/\(key)", body: bytes, headers: [("x-amz-tagging", "replica-count=\(copies)")])
    }

    func testAPutIsCopiedVerifiedAndReadableFromEitherZone() throws {
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        XCTAssertEqual(put("k", data).status, 200)
        let pending = gw.send("HEAD", "/rep/k")
        XCTAssertEqual(pending.header("x-amz-replication-status"), "PENDING")
        XCTAssertEqual(pending.header("x-s3gw-zone"), "zone-a")
        XCTAssertEqual(pending.header("x-s3gw-replicas"), "zone-a=primary,zone-b=pending")
        XCTAssertEqual(try gw.metadata.queueStats(now: TestGateway.now).pending, 1)

        drain()
        let done = gw.send("HEAD", "/rep/k")
        XCTAssertEqual(done.header("x-amz-replication-status"), "COMPLETED")
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1)
        XCTAssertEqual(gw.zones["zone-c"]!.blobCount, 0, "no byte in a country the bucket does not name")
        XCTAssertEqual(try gw.metadata.queueStats(now: TestGateway.now).pending, 0)

        // The primary fails: the replica serves the bytes.
        gw.zone.failing = true
        let fallback = gw.send("GET", "/rep/k")
        XCTAssertEqual(fallback.status, 200)
        XCTAssertEqual(fallback.body, data)
        XCTAssertEqual(fallback.header("x-s3gw-zone"), "zone-b")
        // No copy left: 503, never a wrong answer.
        gw.zones["zone-b"]!.failing = true
        XCTAssertEqual(gw.send("GET", "/rep/k").errorCode, "ServiceUnavailable")
    }

    func testMultipartObjectsAreVerifiedAgainstTheirPartETag() throws {
        let create = gw.send("POST", "/rep/mp?uploads", headers: [("x-amz-tagging", "replica-count=2")])
        let id = try XCTUnwrap(
            create.text.components(separatedBy: "<UploadId>").last?.components(separatedBy: "<").first)
        let p1 = [UInt8](repeating: 1, count: 5 * 1024 * 1024)
        let p2: [UInt8] = [2, 3, 4]
        let e1 = gw.send("PUT", "/rep/mp?partNumber=1&uploadId=\(id)", body: p1).header("ETag")!
        let e2 = gw.send("PUT", "/rep/mp?partNumber=2&uploadId=\(id)", body: p2).header("ETag")!
        let complete =
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(e1)</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\(e2)</ETag></Part></CompleteMultipartUpload>"
        XCTAssertEqual(gw.send("POST", "/rep/mp?uploadId=\(id)", body: Array(complete.utf8)).status, 200)
        drain()
        XCTAssertEqual(gw.send("HEAD", "/rep/mp").header("x-amz-replication-status"), "COMPLETED")
        gw.zone.failing = true
        XCTAssertEqual(gw.send("GET", "/rep/mp").body, p1 + p2)
    }

    func testOverwriteAndDeleteReachEveryCopy() throws {
        XCTAssertEqual(put("k", [1, 2, 3]).status, 200)
        drain()
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1)
        XCTAssertEqual(put("k", [4, 5]).status, 200)  // the old replica goes, a new one comes
        drain()
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1)
        gw.zone.failing = true
        XCTAssertEqual(gw.send("GET", "/rep/k").body, [4, 5])
        gw.zone.failing = false
        XCTAssertEqual(gw.send("DELETE", "/rep/k").status, 204)
        drain()
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 0)
        XCTAssertEqual(gw.zone.blobCount, 0)
    }

    func testADeleteDuringTheCopyLeavesNoOrphan() throws {
        XCTAssertEqual(put("k", [1, 2, 3]).status, 200)
        // The job is claimed (the copy is "in flight") when the client deletes the object.
        let slow = SlowStartZone(gw.zones["zone-b"]!) {
            XCTAssertEqual(self.gw.send("DELETE", "/rep/k").status, 204)
        }
        let ctx = GatewayContext(
            metadata: gw.metadata, zones: ["zone-a": gw.zone, "zone-b": slow, "zone-c": gw.zones["zone-c"]!],
            catalog: gw.context.catalog, identities: gw.context.identities, clock: gw.context.clock,
            installationSecret: Array(repeating: 7, count: 32), logger: gw.context.logger)
        XCTAssertTrue(Replicator(context: ctx, owner: "a").runOne())
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 0, "the finished copy of a deleted object was left behind")
        XCTAssertEqual(gw.send("HEAD", "/rep/k").status, 404)
        let stats = try gw.metadata.queueStats(now: TestGateway.now)
        XCTAssertEqual([stats.pending, stats.running, stats.dead], [0, 0, 0], "a job was left: \(stats)")
    }

    func testReplicaCountUpAndDownThroughTagging() throws {
        XCTAssertEqual(put("k", [9], copies: 1).status, 200)
        XCTAssertNil(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"))
        let up = "<Tagging><TagSet><Tag><Key>replica-count</Key><Value>2</Value></Tag></TagSet></Tagging>"
        XCTAssertEqual(gw.send("PUT", "/rep/k?tagging", body: Array(up.utf8)).status, 200)
        drain()
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1)
        let tooMany = "<Tagging><TagSet><Tag><Key>replica-count</Key><Value>3</Value></Tag></TagSet></Tagging>"
        XCTAssertEqual(gw.send("PUT", "/rep/k?tagging", body: Array(tooMany.utf8)).errorCode, "InvalidArgument")
        XCTAssertEqual(gw.send("DELETE", "/rep/k?tagging").status, 204)  // back to the bucket's count, 1
        drain()
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 0)
        XCTAssertNil(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"))
    }

    func testAJobThatKeepsFailingIsDeadLetteredShownAndRetried() throws {
        gw.zones["zone-b"]!.failing = true
        XCTAssertEqual(put("k", [1]).status, 200)
        // Each failure backs off: run the queue as time passes.
        for attempt in 1...3 {
            let later = TestGateway.now + Double(attempt) * 10_000
            let r = Replicator(context: gw.context(at: later), owner: "a")
            XCTAssertTrue(r.runOne(), "attempt \(attempt) was not due")
        }
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "FAILED")
        let dead = try gw.metadata.jobs(bucket: "rep", key: "k", limit: 10)
        XCTAssertEqual(dead.map(\.state), [.dead])
        XCTAssert(dead[0].lastError.contains("zone-b"), dead[0].lastError)
        gw.zones["zone-b"]!.failing = false
        XCTAssertEqual(try gw.metadata.retryJobs(ids: nil, now: TestGateway.now), 1)
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "PENDING")
        drain()
        XCTAssertEqual(gw.send("HEAD", "/rep/k").header("x-amz-replication-status"), "COMPLETED")
    }

    func testALeaseThatExpiresIsTakenOver() throws {
        XCTAssertEqual(put("k", [1]).status, 200)
        let claimed = try gw.metadata.claimJobs(owner: "dead-agent", now: TestGateway.now, lease: 60, limit: 5)
        XCTAssertEqual(claimed.count, 1)
        XCTAssertEqual(try gw.metadata.claimJobs(owner: "b", now: TestGateway.now + 30, lease: 60, limit: 5), [])
        let taken = try gw.metadata.claimJobs(owner: "b", now: TestGateway.now + 61, lease: 60, limit: 5)
        XCTAssertEqual(taken.map(\.id), claimed.map(\.id))
        XCTAssertEqual(taken.first?.attempts, 2)
        // The first holder can no longer finish or renew it.
        try gw.metadata.finishJob(id: claimed[0].id, owner: "dead-agent", now: 100)
        XCTAssertFalse(try gw.metadata.renewLease(jobId: claimed[0].id, owner: "dead-agent", until: 0))
        XCTAssertEqual(try gw.metadata.jobs(bucket: nil, key: nil, limit: 5).count, 1)
    }
}

/// A zone whose first write runs `before` (e.g. a client request racing the copy) first.
final class SlowStartZone: StorageZone, @unchecked Sendable {
    let inner: InMemoryZone
    var before: (() -> Void)?
    var name: String { inner.name }

    init(_ inner: InMemoryZone, before: @escaping () -> Void) {
        self.inner = inner
        self.before = before
    }

    func createBucket(_ b: String) throws(StoreError) { try inner.createBucket(b) }
    func deleteBucket(_ b: String) throws(StoreError) { try inner.deleteBucket(b) }
    func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        before?()
        before = nil
        return try inner.beginWrite(backendBucket: backendBucket, length: length)
    }
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError) -> any BlobReader {
        try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
    }
    func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
    }
    func probe() throws(StoreError) -> Double { try inner.probe() }
    func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        try inner.listBlobs(backendBucket: backendBucket, after: after, limit: limit)
    }
    func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        try inner.blobInfo(backendBucket: backendBucket, blob: blob)
    }
    func listBackendBuckets() throws(StoreError) -> [String] { try inner.listBackendBuckets() }
}

extension TestGateway {
    /// The same gateway as seen at another time (for backoff and leases).
    func context(at time: Double) -> GatewayContext {
        GatewayContext(
            metadata: metadata, zones: zones, catalog: context.catalog, identities: context.identities,
            clock: FixedClock(time), installationSecret: Array(repeating: 7, count: 32), logger: context.logger,
            replication: context.replication)
    }
}
