import Foundation
import GatewayCore
import GatewayTesting
import S3Protocol
import XCTest

@testable import Gateway

/// Lifecycle over the SQL store (the in-memory store keys by Swift String and so cannot hold two
/// canonically equal keys): "e\u{301}" and "é" are two keys to S3, and noncurrent-version
/// expiration must never take one key's current version for a noncurrent version of the other.
final class LifecycleKeyBytesTests: XCTestCase {
    func testCanonicallyEqualKeysAreJudgedApart() throws {
        let dir = NSTemporaryDirectory() + "s3gw-lc-bytes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try sqlStore(dir: dir)
        let gw = TestGateway()
        let ctx = GatewayContext(
            metadata: store, zones: gw.zones, catalog: gw.context.catalog, identities: gw.context.identities,
            clock: FixedClock(TestGateway.now), installationSecret: Array(repeating: 7, count: 32),
            logger: gw.context.logger)
        var b = try store.createBucket(
            BucketRecord(
                name: "canon", owner: "o", createdAt: 1, locationConstraint: "", zones: ["zone-a"],
                backendBucket: "s3gw-canon"))
        try store.setVersioning(bucket: "canon", .enabled)
        let rule =
            "<LifecycleConfiguration><Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>"
        let c = try LifecycleXML.parse(Array(rule.utf8))
        try store.setLifecycle(bucket: "canon", LifecycleXML.render(c), ruleIds: c.ruleIds)
        b = try XCTUnwrap(try store.bucket(named: "canon"))

        let t0 = TestGateway.now - 10 * 86_400
        let decomposed = "e\u{301}"
        let composed = "\u{e9}"
        XCTAssertEqual(decomposed, composed, "Swift's == equates them: the trap this test is about")
        for (key, at) in [(decomposed, t0), (composed, t0 + 1)] {
            let blob = gw.zones["zone-a"]!.plant([1], backendBucket: ctx.backendBucket(b, in: "zone-a"))
            _ = try store.putVersion(
                ObjectRecord(
                    bucket: "canon", key: key, size: 1, etag: "e", lastModified: at, contentType: "", headers: [],
                    checksums: [:], zone: "zone-a", blob: blob), condition: nil)
        }
        let report = try Lifecycle.run(ctx, now: TestGateway.now)
        XCTAssertEqual(report.removed, 0, "both versions are current, each of its own key")
        XCTAssertEqual(report.changed, 0, "nothing was judged due: no version is noncurrent")
        let left = try store.listVersions(bucket: "canon", query: VersionListQuery()).entries
        XCTAssertEqual(left.map { Array($0.record.key.utf8) }, [Array(decomposed.utf8), Array(composed.utf8)])
        XCTAssert(left.allSatisfy(\.isLatest))
    }
}
