import GatewayCore
import GatewayTesting
import XCTest

/// `deleteVersion(…, ifJudged:)` in both stores: the removal happens only while the version
/// still has the seq it was judged with and is still the latest (or still noncurrent) as it was.
final class JudgedDeleteStoreTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("judged") }
    override func tearDown() { fixture.remove() }

    static let bucket = BucketRecord(
        name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "bb")

    func put(_ s: any MetadataStore, _ key: String, at time: Double) throws -> ObjectRecord {
        try s.putVersion(
            ObjectRecord(
                bucket: "b", key: key, size: 1, etag: "e", lastModified: time, contentType: "t", headers: [],
                checksums: [:], zone: "z1", blob: "blob-\(time)"), condition: nil
        ).stored
    }

    func testARemovalHappensOnlyInTheStateJudged() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let name = "\(type(of: s))"
            try s.setVersioning(bucket: "b", .enabled)
            let v1 = try put(s, "k", at: 10)
            let v2 = try put(s, "k", at: 11)
            // v2 judged noncurrent, but it is the latest: refused, nothing changed.
            XCTAssertThrowsError(
                try s.deleteVersion(
                    bucket: "b", key: "k", versionId: v2.versionId, now: 20,
                    ifJudged: JudgedVersion(seq: v2.versionSeq, latest: false)), name
            ) { XCTAssertEqual($0 as? StoreError, .preconditionFailed, name) }
            // The current version's expiry judged on v1 (no longer the latest): refused.
            XCTAssertThrowsError(
                try s.deleteVersion(
                    bucket: "b", key: "k", versionId: nil, now: 20,
                    ifJudged: JudgedVersion(seq: v1.versionSeq, latest: true)), name
            ) { XCTAssertEqual($0 as? StoreError, .preconditionFailed, name) }
            XCTAssertEqual(try s.latestVersion(bucket: "b", key: "k")?.versionId, v2.versionId, name)
            // As judged: done.
            let removed = try s.deleteVersion(
                bucket: "b", key: "k", versionId: v1.versionId, now: 20,
                ifJudged: JudgedVersion(seq: v1.versionSeq, latest: false))
            XCTAssertEqual(removed.removed?.versionId, v1.versionId, name)
            let expired = try s.deleteVersion(
                bucket: "b", key: "k", versionId: nil, now: 20,
                ifJudged: JudgedVersion(seq: v2.versionSeq, latest: true))
            XCTAssertNotNil(expired.marker, name)

            // Suspended: the null version named by id has a new seq after a write.
            try s.setVersioning(bucket: "b", .suspended)
            let null1 = try put(s, "n", at: 30)
            _ = try put(s, "n", at: 31)
            XCTAssertThrowsError(
                try s.deleteVersion(
                    bucket: "b", key: "n", versionId: "null", now: 40,
                    ifJudged: JudgedVersion(seq: null1.versionSeq, latest: true)), name
            ) { XCTAssertEqual($0 as? StoreError, .preconditionFailed, name) }
            XCTAssertEqual(try s.latestVersion(bucket: "b", key: "n")?.lastModified, 31, name)
        }
    }
}
