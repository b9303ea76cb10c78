import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import Gateway

/// The residency audit over versions: every version's copies are judged and referenced (never
/// orphans, never swept), delete markers and versions are counted, and a blob a removal job
/// still names is no orphan.
final class ResidencyAuditVersionsTests: XCTestCase {
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto"),
        .init(name: "zone-b", country: "fi", region: "fi-hel"),
    ]
    var gw: TestGateway!
    let now = Date().timeIntervalSince1970

    override func setUp() {
        gw = TestGateway(zones: catalog)
        let c = "<CreateBucketConfiguration><LocationConstraint>se,fi</LocationConstraint></CreateBucketConfiguration>"
        XCTAssertEqual(gw.send("PUT", "/ver", body: Array(c.utf8)).status, 200)
        XCTAssertNoThrow(try gw.metadata.setVersioning(bucket: "ver", .enabled))
    }

    func put(_ key: String, _ bytes: [UInt8], copies: Int = 2) {
        let r = gw.send("PUT", "/ver/\(key)", body: bytes, headers: [("x-amz-tagging", "replica-count=\(copies)")])
        XCTAssertEqual(r.status, 200, r.text)
    }

    func drain() {
        let replicator = Replicator(context: gw.context, owner: "test-agent")
        var n = 0
        while replicator.runOne() && n < 100 { n += 1 }
    }

    /// The audit as if every blob were three days old (all past the grace).
    func audit(remove: Bool = false) throws -> ResidencyReport {
        try ResidencyAudit(gw.context, options: .init(removeOrphans: remove, grace: 86400, now: now + 3 * 86400))
            .run()
    }

    /// Every blob of every version (primary and completed replicas), by zone.
    func blobs(of v: ObjectRecord) -> [(zone: String, backendBucket: String, blob: String)] {
        let b = try! gw.metadata.bucket(named: "ver")!
        return [(v.zone, gw.context.backendBucket(b, in: v.zone), v.blob)]
            + v.replicas.map { ($0.zone, $0.backendBucket, $0.blob) }
    }

    /// Three versions of "k" (two noncurrent), and "gone" whose latest is a delete marker.
    func makeVersions() throws -> [ObjectRecord] {
        var versions: [ObjectRecord] = []
        let contents: [[UInt8]] = [[1, 1], [2, 2, 2], [3]]
        for bytes in contents {
            put("k", bytes)
            drain()
            versions.append(try XCTUnwrap(gw.metadata.object(bucket: "ver", key: "k")))
        }
        put("gone", [4, 4, 4, 4])
        drain()
        let gone = try XCTUnwrap(gw.metadata.object(bucket: "ver", key: "gone"))
        // A DELETE in an Enabled bucket: a delete marker, the version stays.
        XCTAssertEqual(gw.send("DELETE", "/ver/gone").status, 204)
        XCTAssertNil(try gw.metadata.object(bucket: "ver", key: "gone"))
        versions.append(try XCTUnwrap(gw.metadata.version(bucket: "ver", key: "gone", generation: gone.generation)))
        XCTAssertTrue(versions.allSatisfy { $0.replicas.count == 1 && $0.replicas[0].state == .completed })
        return versions
    }

    func testVersionsAndMarkersAreCountedAndEveryVersionsCopiesJudged() throws {
        _ = try makeVersions()
        let r = try audit()
        XCTAssertTrue(r.clean)
        XCTAssertEqual(r.exitCode(strict: true), 0, "no orphan, nothing short")
        let b = try XCTUnwrap(r.buckets.first { $0.bucket == "ver" })
        XCTAssertEqual(b.objects, 1, "only k is live; gone's latest is a marker")
        XCTAssertEqual(b.bytes, 1)
        XCTAssertEqual(b.versions, 4)
        XCTAssertEqual(b.versionBytes, 2 + 3 + 1 + 4)
        XCTAssertEqual(b.deleteMarkers, 1)
        XCTAssertEqual(b.complete, 4, "each version has its two copies")
        XCTAssertEqual(b.orphans.count, 0)
        XCTAssertEqual(b.zones.map(\.objects), [4, 4])
        XCTAssertEqual(r.versions, 4)
        XCTAssertEqual(r.deleteMarkers, 1)
        let doc = try XCTUnwrap((r.document["buckets"] as? [[String: Any]])?.first)
        XCTAssertEqual(doc["versions"] as? Int, 4)
        XCTAssertEqual(doc["delete_markers"] as? Int, 1)
        XCTAssertEqual((r.document["summary"] as? [String: Any])?["versions"] as? Int, 4)
    }

    func testTheSweepLeavesEveryVersionsBytesAndRemovesARealOrphan() throws {
        let versions = try makeVersions()
        let b = try XCTUnwrap(gw.metadata.bucket(named: "ver"))
        let home = gw.context.backendBucket(b, in: "zone-a")
        let orphan = gw.zones["zone-a"]!.plant([9, 9], backendBucket: home, at: now - 2 * 86400)

        let r = try audit(remove: true)
        XCTAssertEqual(r.orphansRemoved, 1)
        XCTAssertEqual(try XCTUnwrap(r.buckets.first).orphans.items.map(\.blob), [orphan])
        XCTAssertNil(try gw.zones["zone-a"]!.blobInfo(backendBucket: home, blob: orphan))
        for v in versions {
            for (zone, backendBucket, blob) in blobs(of: v) {
                XCTAssertNotNil(
                    try gw.zones[zone]!.blobInfo(backendBucket: backendBucket, blob: blob), "\(v.versionId) in \(zone)")
            }
        }
        XCTAssertTrue(try audit().clean)
    }

    func testABlobAQueuedRemovalNamesIsNoOrphan() throws {
        put("k", [5, 5, 5])
        drain()
        let o = try XCTUnwrap(gw.metadata.object(bucket: "ver", key: "k"))
        let replica = try XCTUnwrap(o.replicas.first)
        // The version goes for good: its replica's removal is queued, not run yet.
        let removed = try gw.metadata.deleteVersion(
            bucket: "ver", key: "k", versionId: o.versionId, bypassGovernance: false, now: TestGateway.now)
        XCTAssertEqual(removed.removed?.generation, o.generation)
        // Its primary blob is the caller's to remove, as a handler does after the commit.
        let bucket = try XCTUnwrap(gw.metadata.bucket(named: "ver"))
        try gw.zone.deleteBlob(backendBucket: gw.context.backendBucket(bucket, in: o.zone), blob: o.blob)
        XCTAssertEqual(try gw.metadata.jobs(bucket: "ver", key: "k", limit: 10).map(\.kind), [.removeBlob])

        let r = try audit(remove: true)
        let b = try XCTUnwrap(r.buckets.first)
        XCTAssertEqual(b.orphans.count, 0)
        XCTAssertEqual(b.queuedRemovals, 1)
        XCTAssertNotNil(try gw.zones["zone-b"]!.blobInfo(backendBucket: replica.backendBucket, blob: replica.blob))
        // The job removes it; nothing is left behind.
        drain()
        XCTAssertNil(try gw.zones["zone-b"]!.blobInfo(backendBucket: replica.backendBucket, blob: replica.blob))
        XCTAssertEqual(try audit().buckets.first?.orphans.count, 0)
    }

    func testAMissingCopyOfANoncurrentVersionIsNamedWithItsVersion() throws {
        let versions = try makeVersions()
        let old = versions[0]
        let replica = try XCTUnwrap(old.replicas.first)
        try gw.zones["zone-b"]!.deleteBlob(backendBucket: replica.backendBucket, blob: replica.blob)
        let r = try audit()
        XCTAssertFalse(r.clean)
        let b = try XCTUnwrap(r.buckets.first)
        XCTAssertEqual(b.missing.items.map { "\($0.key) \($0.versionId) \($0.reason)" }, ["k \(old.versionId) absent"])
        XCTAssertEqual(b.short.items.map(\.versionId), [old.versionId])
    }
}
