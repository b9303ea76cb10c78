import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import Gateway

/// The residency audit over in-memory zones: what the zones hold against what metadata records
/// and each bucket's constraint allows — violations, missing copies, orphans (old ones removed,
/// young ones kept) and stray backend buckets.
final class ResidencyAuditTests: XCTestCase {
    // Two Swedish zones, one Finnish, one German.
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto"),
        .init(name: "zone-b", country: "fi", region: "fi-hel"),
        .init(name: "zone-c", country: "de", region: "de-fra"),
        .init(name: "zone-d", country: "se", region: "se-got"),
    ]
    var gw: TestGateway!
    /// The zones stamp blobs with the real time; the audit runs "now" too.
    let now = Date().timeIntervalSince1970

    override func setUp() {
        gw = TestGateway(zones: catalog)
        XCTAssertEqual(gw.send("PUT", "/sefi", body: constraint("se,fi")).status, 200)
    }

    func constraint(_ c: String) -> [UInt8] {
        Array(
            "<CreateBucketConfiguration><LocationConstraint>\(c)</LocationConstraint></CreateBucketConfiguration>".utf8)
    }

    func put(_ bucket: String, _ key: String, _ bytes: [UInt8], copies: Int) {
        let r = gw.send(
            "PUT", "/\(bucket)/\(key)", body: bytes, headers: [("x-amz-tagging", "replica-count=\(copies)")])
        XCTAssertEqual(r.status, 200, r.text)
    }

    func drain() {
        let replicator = Replicator(context: gw.context, owner: "test-agent")
        var n = 0
        while replicator.runOne() && n < 100 { n += 1 }
    }

    func audit(remove: Bool = false, grace: Double = 86400, _ ctx: GatewayContext? = nil) throws -> ResidencyReport {
        try ResidencyAudit(ctx ?? gw.context, options: .init(removeOrphans: remove, grace: grace, now: now)).run()
    }

    func bucket(_ name: String) throws -> BucketRecord { try XCTUnwrap(gw.metadata.bucket(named: name)) }

    func backend(_ bucket: String, in zone: String) throws -> String {
        let b = try self.bucket(bucket)
        return BackendBucketName.derive(
            secret: Array(repeating: 7, count: 32), tenant: b.namingKey, bucket: b.name, zone: zone)
    }

    func report(_ r: ResidencyReport, _ name: String) throws -> BucketReport {
        try XCTUnwrap(r.buckets.first { $0.bucket == name })
    }

    func testACleanInstallationCountsEveryCopyPerZoneAndCountry() throws {
        put("sefi", "two", Array(repeating: 1, count: 5000), copies: 2)
        put("sefi", "one", [1, 2, 3], copies: 1)
        // An open multipart upload: its part is referenced, no orphan.
        let create = gw.send("POST", "/sefi/mp?uploads")
        let id = try XCTUnwrap(
            create.text.components(separatedBy: "<UploadId>").last?.components(separatedBy: "<").first)
        XCTAssertEqual(gw.send("PUT", "/sefi/mp?partNumber=1&uploadId=\(id)", body: [9, 9]).status, 200)
        drain()

        let r = try audit()
        XCTAssertTrue(r.clean)
        XCTAssertEqual(r.exitCode(strict: true), 0)
        let b = try report(r, "sefi")
        XCTAssertEqual(b.objects, 2)
        XCTAssertEqual(b.bytes, 5003)
        XCTAssertEqual(b.openUploads, 1)
        XCTAssertEqual(b.placement, ["zone-a", "zone-b", "zone-d"])
        XCTAssertEqual(b.allowedCountries, ["fi", "se"])
        XCTAssertEqual(
            b.zones,
            [
                ZoneUsage(zone: "zone-a", country: "se", allowed: true, objects: 2, blobs: 3, bytes: 5005),
                ZoneUsage(zone: "zone-b", country: "fi", allowed: true, objects: 1, blobs: 1, bytes: 5000),
            ])
        XCTAssertEqual(
            b.countries,
            [
                CountryUsage(country: "fi", allowed: true, objects: 1, blobs: 1, bytes: 5000),
                CountryUsage(country: "se", allowed: true, objects: 2, blobs: 3, bytes: 5005),
            ])
        XCTAssertEqual(b.complete, 2)
        XCTAssertEqual(b.short.count + b.missing.count + b.violations.count + b.orphans.count, 0)
        XCTAssertEqual(r.strays, [])
        XCTAssertEqual(r.zones.map(\.error), [nil, nil, nil, nil])

        // The JSON document survives serialization and says the same.
        let data = try JSONSerialization.data(withJSONObject: r.document, options: [.sortedKeys])
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(doc["format"] as? String, "s3gw-residency-audit/1")
        XCTAssertEqual(doc["clean"] as? Bool, true)
        let buckets = try XCTUnwrap(doc["buckets"] as? [[String: Any]])
        let zones = try XCTUnwrap(buckets.first?["zones"] as? [[String: Any]])
        XCTAssertEqual(zones.map { $0["bytes"] as? Int }, [5005, 5000])
    }

    func testPendingCopiesAreShortNotMissing() throws {
        put("sefi", "k", [1, 2], copies: 2)
        let r = try audit()
        XCTAssertEqual(r.exitCode(strict: false), 0)
        XCTAssertEqual(r.exitCode(strict: true), 1)
        let b = try report(r, "sefi")
        XCTAssertEqual(b.short.items, [ShortObject(key: "k", wanted: 2, present: ["zone-a"], pending: ["zone-b"])])
        XCTAssertEqual(b.missing.count, 0)
    }

    func testAReplicaLostOrTruncatedAtItsZoneIsMissing() throws {
        put("sefi", "lost", [1, 2, 3], copies: 2)
        put("sefi", "cut", [4, 5, 6, 7], copies: 2)
        drain()
        let lost = try XCTUnwrap(gw.metadata.object(bucket: "sefi", key: "lost")?.replicas.first)
        let cut = try XCTUnwrap(gw.metadata.object(bucket: "sefi", key: "cut")?.replicas.first)
        try gw.zones["zone-b"]!.deleteBlob(backendBucket: lost.backendBucket, blob: lost.blob)
        gw.zones["zone-b"]!.plant([4], backendBucket: cut.backendBucket, id: cut.blob)

        let r = try audit()
        XCTAssertFalse(r.clean)
        XCTAssertEqual(r.exitCode(strict: false), 1)
        let b = try report(r, "sefi")
        XCTAssertEqual(
            b.missing.items.sorted { $0.key < $1.key },
            [
                MissingCopy(
                    key: "cut", zone: "zone-b", backendBucket: cut.backendBucket, blob: cut.blob, role: "replica",
                    reason: "size", expectedSize: 4, foundSize: 1),
                MissingCopy(
                    key: "lost", zone: "zone-b", backendBucket: lost.backendBucket, blob: lost.blob, role: "replica",
                    reason: "absent"),
            ])
        XCTAssertEqual(b.short.items.map(\.key).sorted(), ["cut", "lost"])
        XCTAssertEqual(b.short.items.first?.missing, ["zone-b"])
        XCTAssertEqual(b.zones.first { $0.zone == "zone-b" }?.objects, 0)
        XCTAssertEqual(b.violations.count, 0)
    }

    func testABlobInAnotherCountryIsAViolation() throws {
        XCTAssertEqual(gw.send("PUT", "/fionly", body: constraint("fi")).status, 200)
        put("fionly", "k", [1, 2, 3], copies: 1)
        // A Swedish zone holds bytes of a Finland-only bucket: under its name for that zone, and
        // under its Finnish name copied there by hand.
        let swedish = try backend("fionly", in: "zone-a")
        try gw.zones["zone-a"]!.createBucket(swedish)
        let planted = gw.zones["zone-a"]!.plant([7, 7], backendBucket: swedish)
        let finnish = try backend("fionly", in: "zone-b")
        try gw.zones["zone-d"]!.createBucket(finnish)
        let copied = gw.zones["zone-d"]!.plant([8], backendBucket: finnish)

        let r = try audit()
        XCTAssertEqual(r.exitCode(strict: false), 1)
        let b = try report(r, "fionly")
        XCTAssertEqual(
            b.violations.items,
            [
                Violation(zone: "zone-a", country: "se", backendBucket: swedish, blob: planted, size: 2, key: nil),
                Violation(zone: "zone-d", country: "se", backendBucket: finnish, blob: copied, size: 1, key: nil),
            ])
        XCTAssertEqual(b.violationBytes, 3)
        XCTAssertEqual(b.countries.map { "\($0.country):\($0.allowed):\($0.bytes)" }, ["fi:true:3", "se:false:3"])
        XCTAssertEqual(b.orphans.count, 2, "unreferenced too")
        XCTAssertEqual(try report(r, "sefi").violations.count, 0)
        XCTAssertEqual(r.strays, [], "the bucket's names in other zones are still its own")
    }

    func testOldOrphansAreRemovedYoungOnesAndReferencedBlobsKept() throws {
        put("sefi", "k", [1, 2, 3], copies: 2)
        drain()
        let home = try backend("sefi", in: "zone-a")
        let old = gw.zones["zone-a"]!.plant([1], backendBucket: home, at: now - 2 * 86400)
        let young = gw.zones["zone-a"]!.plant([2, 2], backendBucket: home, at: now - 60)

        let seen = try audit()
        XCTAssertEqual(seen.exitCode(strict: false), 0, "orphans alone are no failure")
        XCTAssertEqual(seen.exitCode(strict: true), 1)
        XCTAssertEqual(try report(seen, "sefi").orphans.items.map(\.blob).sorted(), [old, young].sorted())
        XCTAssertEqual(seen.orphansRemoved, 0)
        XCTAssertNotNil(try gw.zones["zone-a"]!.blobInfo(backendBucket: home, blob: old), "removed without asking")

        let swept = try audit(remove: true)
        let b = try report(swept, "sefi")
        XCTAssertEqual(b.orphansRemoved, 1)
        XCTAssertEqual(b.orphans.items.filter(\.removed).map(\.blob), [old])
        // Blobs removed from a zone change no store row: recorded after the fact.
        XCTAssertEqual(
            try gw.metadata.auditRecords(AuditQuery(change: "zone.orphans-removed")).map(\.detail),
            [#"{"count":1,"zones":["zone-a"]}"#])
        XCTAssertEqual(try audit().orphansRemoved, 0)
        XCTAssertEqual(
            try gw.metadata.auditRecords(AuditQuery(change: "zone.orphans-removed")).count, 1,
            "nothing removed, nothing recorded")
        XCTAssertNil(try gw.zones["zone-a"]!.blobInfo(backendBucket: home, blob: old))
        XCTAssertNotNil(try gw.zones["zone-a"]!.blobInfo(backendBucket: home, blob: young))
        XCTAssertEqual(gw.send("GET", "/sefi/k").body, [1, 2, 3])
        gw.zone.failing = true
        XCTAssertEqual(gw.send("GET", "/sefi/k").body, [1, 2, 3], "the replica is still there")
        gw.zone.failing = false

        // Everything older than a minute: the young one goes too, referenced blobs never do.
        let later = try Maintenance.removeOrphans(olderThan: 30, gw.context(at: now))
        XCTAssertEqual(later.orphansRemoved, 1)
        XCTAssertEqual(gw.zone.blobCount + gw.zones["zone-b"]!.blobCount, 2)
        XCTAssertTrue(try audit().clean)
        XCTAssertEqual(try audit().exitCode(strict: true), 0)
    }

    func testABlobReferencedWhileTheZoneWasListedIsNotRemoved() throws {
        let home = try backend("sefi", in: "zone-a")
        let blob = gw.zones["zone-a"]!.plant([5, 5], backendBucket: home, at: now - 3 * 86400)
        // Its metadata row lands between the audit's first look at metadata and the listing.
        let zone = HookZone(gw.zones["zone-a"]!) {
            _ = try? self.gw.metadata.putObject(
                ObjectRecord(
                    bucket: "sefi", key: "late", size: 2, etag: "x", lastModified: self.now, contentType: "",
                    headers: [], checksums: [:], zone: "zone-a", blob: blob))
        }
        let r = try audit(remove: true, gw.context(replacing: zone))
        XCTAssertEqual(r.orphansRemoved, 0)
        XCTAssertNotNil(try gw.zones["zone-a"]!.blobInfo(backendBucket: home, blob: blob))
        XCTAssertEqual(gw.send("GET", "/sefi/late").body, [5, 5])
    }

    func testAnObjectDeletedDuringTheAuditIsNotAMissingCopy() throws {
        put("sefi", "k", [1, 2, 3], copies: 2)
        drain()
        let zone = HookZone(gw.zones["zone-b"]!) {
            XCTAssertEqual(self.gw.send("DELETE", "/sefi/k").status, 204)
            self.drain()
        }
        let r = try audit(gw.context(replacing: zone))
        XCTAssertEqual(r.missingCopies, 0)
        XCTAssertEqual(try report(r, "sefi").changed, 1)
        XCTAssertEqual(r.exitCode(strict: false), 0)
    }

    func testStrayBackendBucketsAreReportedNeverEmptied() throws {
        try gw.zones["zone-b"]!.createBucket("s3gw-0123456789abcdef")
        gw.zones["zone-b"]!.plant([1, 2, 3, 4], backendBucket: "s3gw-0123456789abcdef", at: now - 10 * 86400)
        let r = try audit(remove: true)
        XCTAssertEqual(
            r.strays, [StrayBackendBucket(zone: "zone-b", backendBucket: "s3gw-0123456789abcdef", blobs: 1, bytes: 4)])
        XCTAssertEqual(r.exitCode(strict: false), 0)
        XCTAssertEqual(r.exitCode(strict: true), 1)
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1, "another installation's bytes, perhaps: kept")
    }

    func testAZoneThatCannotBeReadLeavesTheAuditIncompleteNotMissing() throws {
        put("sefi", "k", [1, 2, 3], copies: 2)
        drain()
        gw.zones["zone-b"]!.failing = true
        let r = try audit()
        XCTAssertEqual(r.unreadableZones.map(\.zone), ["zone-b"])
        XCTAssertEqual(r.missingCopies, 0)
        XCTAssertEqual(r.exitCode(strict: false), 2)
        XCTAssertEqual(try report(r, "sefi").short.items.first?.unverified, ["zone-b"])
    }

    func testOrphanSettingsComeFromTheConfiguration() throws {
        let base = """
            [[zones]]
            name = "z1"
            path = "/data/z1"
            """
        let defaults = try GatewayConfig.parse(base, file: "t.toml").replication
        XCTAssertEqual(defaults.orphanGrace, 86400)
        XCTAssertEqual(defaults.orphanInterval, 3600)
        let set = try GatewayConfig.parse(
            base + "\n[replication]\norphan_grace = 600\norphan_interval = 0\n", file: "t.toml"
        ).replication
        XCTAssertEqual(set.orphanGrace, 600)
        XCTAssertEqual(set.orphanInterval, 0)
        XCTAssertThrowsError(try GatewayConfig.parse(base + "\n[replication]\norphan_grace = -1\n", file: "t.toml"))
    }
}

/// A zone that runs `hook` once, as its first listing starts (a client racing the audit).
final class HookZone: StorageZone, @unchecked Sendable {
    let inner: InMemoryZone
    var hook: (() -> Void)?
    var name: String { inner.name }

    init(_ inner: InMemoryZone, hook: @escaping () -> Void) {
        self.inner = inner
        self.hook = hook
    }

    func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        hook?()
        hook = nil
        return try inner.listBlobs(backendBucket: backendBucket, after: after, limit: limit)
    }
    func createBucket(_ b: String) throws(StoreError) { try inner.createBucket(b) }
    func deleteBucket(_ b: String) throws(StoreError) { try inner.deleteBucket(b) }
    func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        try inner.beginWrite(backendBucket: backendBucket, length: length)
    }
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError) -> any BlobReader {
        try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
    }
    func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
    }
    func probe() throws(StoreError) -> Double { try inner.probe() }
    func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        try inner.blobInfo(backendBucket: backendBucket, blob: blob)
    }
    func listBackendBuckets() throws(StoreError) -> [String] { try inner.listBackendBuckets() }
}

extension TestGateway {
    /// The same gateway with one zone swapped for a wrapper of it.
    func context(replacing zone: any StorageZone) -> GatewayContext {
        var all: [String: any StorageZone] = zones
        all[zone.name] = zone
        return GatewayContext(
            metadata: metadata, zones: all, catalog: context.catalog, identities: context.identities,
            clock: context.clock, installationSecret: Array(repeating: 7, count: 32), logger: context.logger,
            replication: context.replication)
    }
}
