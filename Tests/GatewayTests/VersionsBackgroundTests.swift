import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import Gateway

/// The background work over versions: a noncurrent version keeps getting its copies and its
/// repairs, the scrub walks every version, a replica-count lowering keeps a locked version's
/// copies, and a removal job never deletes a locked version's blob before its date.
final class VersionsBackgroundTests: XCTestCase {
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
        XCTAssertNoThrow(try gw.metadata.setVersioning(bucket: "rep", .enabled))
    }

    /// A version id as the store makes them (32 hex digits), ordered by `n`.
    func vid(_ n: Int) -> String { String(format: "%032x", n) }

    func latest(_ key: String) throws -> ObjectRecord {
        try XCTUnwrap(try gw.metadata.object(bucket: "rep", key: key))
    }

    func agent(at time: Double? = nil) -> GatewayContext {
        agentTime = time ?? agentTime + 10
        return gw.context(at: agentTime)
    }

    func drain(at time: Double? = nil) {
        let r = Replicator(context: agent(at: time), owner: "test")
        var n = 0
        while r.runOne() && n < 100 { n += 1 }
    }

    func put(_ key: String, _ bytes: [UInt8], copies: Int? = 2) {
        let headers = copies.map { [("x-amz-tagging", "replica-count=\($0)")] } ?? []
        XCTAssertEqual(gw.send("PUT", "/rep/\(key)", body: bytes, headers: headers).status, 200)
    }

    func version(_ key: String, _ generation: String) throws -> ObjectRecord {
        try XCTUnwrap(try gw.metadata.version(bucket: "rep", key: key, generation: generation))
    }

    func holds(_ zone: String, _ r: Replica) throws -> Bool {
        try gw.zones[zone]!.blobInfo(backendBucket: r.backendBucket, blob: r.blob) != nil
    }

    func testANoncurrentVersionsCopyIsMadeAndRecorded() throws {
        put("k", [1, 2, 3])
        let v1 = try latest("k")
        // Overwritten before the copy ran: the version is noncurrent now, its copy still due.
        put("k", [4, 5])
        XCTAssertNotEqual(try latest("k").generation, v1.generation)
        drain()
        let kept = try version("k", v1.generation)
        XCTAssertEqual(kept.replicas.map(\.state), [.completed])
        XCTAssertEqual(kept.versionId, v1.versionId)
        XCTAssertTrue(try holds("zone-b", kept.replicas[0]))
        XCTAssertEqual(try latest("k").replicas.map(\.state), [.completed])
        XCTAssertEqual(try gw.metadata.jobs(bucket: "rep", key: "k", limit: 10), [])
        XCTAssertEqual(
            try gw.zones["zone-b"]!.blobInfo(
                backendBucket: kept.replicas[0].backendBucket, blob: kept.replicas[0].blob)?.size, 3)
    }

    /// Two versions of "a" (the noncurrent one locked until `until`), one of "b", all with two
    /// copies following the bucket's replica-count.
    func lockedAndUnlocked(until: Double) throws -> (locked: ObjectRecord, b: ObjectRecord) {
        XCTAssertEqual(try ReplicaCount.set(bucket: "rep", count: 2, gw.context), ReplicaCount.Result())
        put("a", [1], copies: nil)
        put("b", [2, 2], copies: nil)
        drain()
        let a1 = try latest("a")
        gw.metadata.setLockForTesting(
            bucket: "rep", key: "a", generation: a1.generation,
            retention: Retention(mode: .compliance, until: until), legalHold: false)
        put("a", [3, 3, 3], copies: nil)
        drain()
        let locked = try version("a", a1.generation)
        XCTAssertEqual(locked.replicas.map(\.state), [.completed])
        return (locked, try XCTUnwrap(gw.metadata.object(bucket: "rep", key: "b")))
    }

    func testLoweringTheReplicaCountKeepsALockedVersionsCopies() throws {
        let (locked, b) = try lockedAndUnlocked(until: TestGateway.now + 86400)
        // The store refuses to drop the locked version's copy, and changes nothing.
        XCTAssertThrowsError(
            try gw.metadata.setReplicas(
                bucket: "rep", key: "a", generation: locked.generation, replicas: [], now: TestGateway.now)
        ) { XCTAssertEqual(($0 as? StoreError).map { if case .objectLocked = $0 { true } else { false } }, true) }
        XCTAssertEqual(try version("a", locked.generation).replicas, locked.replicas)

        let result = try ReplicaCount.set(bucket: "rep", count: 1, gw.context)
        XCTAssertEqual(result, ReplicaCount.Result(changed: 2, keptLocked: 1), "a's latest and b dropped a copy")
        XCTAssertEqual(try version("a", locked.generation).replicas, locked.replicas)
        XCTAssertEqual(try gw.metadata.object(bucket: "rep", key: "b")?.replicas, [])
        XCTAssertEqual(try gw.metadata.object(bucket: "rep", key: "a")?.replicas, [])
        drain()
        XCTAssertTrue(try holds("zone-b", locked.replicas[0]), "the locked version's copy stays")
        XCTAssertFalse(try holds("zone-b", b.replicas[0]), "an unlocked version's copy goes")
    }

    func testARemovalJobOfALockedVersionWaitsForItsDate() throws {
        let until = TestGateway.now + 5000
        put("k", [7, 7])
        drain()
        let v = try latest("k")
        put("k", [8], copies: 1)
        let replica = try XCTUnwrap(v.replicas.first)
        // The copy is dropped while unlocked; the version is locked before the job runs.
        try gw.metadata.setReplicas(
            bucket: "rep", key: "k", generation: v.generation, replicas: [], now: TestGateway.now)
        gw.metadata.setLockForTesting(
            bucket: "rep", key: "k", generation: v.generation, retention: Retention(mode: .governance, until: until),
            legalHold: false)
        var job = try XCTUnwrap(try gw.metadata.jobs(bucket: "rep", key: "k", limit: 10).first)
        XCTAssertEqual(job.kind, .removeBlob)
        XCTAssertEqual(job.generation, v.generation)

        drain(at: TestGateway.now + 100)
        XCTAssertTrue(try holds("zone-b", replica), "not removed before the date")
        job = try XCTUnwrap(try gw.metadata.jobs(bucket: "rep", key: "k", limit: 10).first)
        XCTAssertEqual(job.state, .pending)
        XCTAssertEqual(job.notBefore, until)
        XCTAssertEqual(job.attempts, 0, "a deferral is no failed attempt")
        XCTAssertEqual(job.lastError, ReplicationJob.deferredNote)

        drain(at: until - 1)
        XCTAssertTrue(try holds("zone-b", replica), "not due yet")
        drain(at: until + 1)
        XCTAssertFalse(try holds("zone-b", replica), "removed once the retention ended")
        XCTAssertEqual(try gw.metadata.jobs(bucket: "rep", key: "k", limit: 10), [])
    }

    func testALegalHoldDefersARemovalADayAtATime() throws {
        put("k", [7, 7])
        drain()
        let v = try latest("k")
        put("k", [8], copies: 1)
        try gw.metadata.setReplicas(
            bucket: "rep", key: "k", generation: v.generation, replicas: [], now: TestGateway.now)
        gw.metadata.setLockForTesting(
            bucket: "rep", key: "k", generation: v.generation, retention: nil, legalHold: true)
        let t = TestGateway.now + 100
        drain(at: t)
        XCTAssertEqual(try gw.metadata.jobs(bucket: "rep", key: "k", limit: 10).first?.notBefore, t + 86400)
        XCTAssertTrue(try holds("zone-b", v.replicas[0]))
        // The hold is lifted: the next run removes it.
        gw.metadata.setLockForTesting(
            bucket: "rep", key: "k", generation: v.generation, retention: nil, legalHold: false)
        drain(at: t + 86401)
        XCTAssertFalse(try holds("zone-b", v.replicas[0]))
    }

    func testANoncurrentVersionsLostReplicaIsRepaired() throws {
        put("k", [4, 5, 6])
        drain()
        let v = try latest("k")
        // Locked: repairing a lost copy is still allowed.
        gw.metadata.setLockForTesting(
            bucket: "rep", key: "k", generation: v.generation,
            retention: Retention(mode: .compliance, until: TestGateway.now + 86400 * 30), legalHold: false)
        put("k", [9], copies: 1)
        let lost = v.replicas[0]
        try gw.zones["zone-b"]!.deleteBlob(backendBucket: lost.backendBucket, blob: lost.blob)

        var outcomes: [Repair.Outcome] = []
        XCTAssertEqual(try Repair.bucket("rep", key: "k", Repair.Options(), agent()) { outcomes.append($0) }, 2)
        XCTAssertEqual(outcomes.map(\.queued), [0, 1], "the latest is fine, the noncurrent one is repaired")
        drain()
        let repaired = try version("k", v.generation)
        XCTAssertEqual(repaired.replicas.map(\.state), [.completed])
        XCTAssertNotEqual(repaired.replicas[0].blob, lost.blob)
        XCTAssertTrue(try holds("zone-b", repaired.replicas[0]))
    }

    func testTheScrubWalksEveryVersionAndResumesByVersion() throws {
        // k: three versions (two noncurrent); m: one.
        var seqs: [String] = []
        for bytes: [UInt8] in [[1], [2, 2], [3, 3, 3]] {
            put("k", bytes, copies: 1)
            seqs.append(try latest("k").versionSeq)
        }
        put("m", [4], copies: 1)
        let oldest = try XCTUnwrap(gw.metadata.version(bucket: "rep", key: "k", versionId: seqs[0]))
        // The oldest version's bytes are damaged behind the gateway's back.
        gw.zone.plant(
            [0, 0, 0, 0], backendBucket: gw.context.backendBucket(forTest: "rep", in: "zone-a"), id: oldest.blob)

        var r = try Scrub.run(cursorKey: "scrub", budget: 2, agent())
        XCTAssertEqual([r.checked, r.outcomes.count], [2, 0])
        XCTAssertEqual(try gw.metadata.agentState("scrub"), "rep/k/" + seqs[1])
        r = try Scrub.run(cursorKey: "scrub", budget: 2, agent())
        XCTAssertEqual(r.checked, 2)
        XCTAssertEqual(r.outcomes.map(\.key), ["k"], "the oldest version of k, then m")
        XCTAssertTrue(r.outcomes[0].lost)
        XCTAssertTrue(r.wrapped)
        XCTAssertEqual(try gw.metadata.agentState("scrub"), "")

        // A cursor written before versions ("bucket/key") resumes after every version of the key.
        try gw.metadata.setAgentState("scrub", "rep/k")
        r = try Scrub.run(cursorKey: "scrub", budget: 5, agent())
        XCTAssertEqual(r.checked, 1, "m only")
        XCTAssertTrue(r.wrapped)
    }

    func testCursorsParseOldAndNewForms() {
        let buckets: Set = ["rep", "acme/photos"]
        func parse(_ c: String) -> String {
            let (b, p) = Scrub.parse(c) { buckets.contains($0) }
            return "\(b)|\(p?.key ?? "-")|\(p.map { $0.seq ?? "nil" } ?? "-")"
        }
        XCTAssertEqual(parse(""), "|-|-")
        XCTAssertEqual(parse("rep/"), "rep|-|-")
        XCTAssertEqual(parse("rep/a/b.txt"), "rep|a/b.txt|nil")
        XCTAssertEqual(parse("rep/a/b.txt/"), "rep|a/b.txt|")
        XCTAssertEqual(parse("rep/a/b.txt/" + vid(7)), "rep|a/b.txt|" + vid(7))
        XCTAssertEqual(parse("acme/photos/x/" + vid(1)), "acme/photos|x|" + vid(1))
        XCTAssertEqual(Scrub.cursor("rep", ("a/", "")), "rep/a//")
        XCTAssertEqual(parse(Scrub.cursor("rep", ("a/", ""))), "rep|a/|")
    }
}
