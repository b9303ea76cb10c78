import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// `s3gw keys rotate`'s KEK half: every KEK version re-sealed under the new master key, so a
/// ring holding only that key opens every data key; KEK versions no key opens are reported and
/// left as they are.
final class KEKResealTests: XCTestCase {
    var fixture: TwoStores!
    let old = SecretBox(keys: [MasterKey(bytes: Array(repeating: 1, count: 32))!])
    let new = SecretBox(keys: [MasterKey(bytes: Array(repeating: 2, count: 32))!])
    var both: SecretBox { SecretBox(keys: old.keys + new.keys) }

    override func setUpWithError() throws { fixture = try TwoStores("kekreseal") }
    override func tearDown() { fixture.remove() }

    static let bucket = BucketRecord(
        name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "bb")

    func service(_ store: any MetadataStore, _ box: SecretBox) -> KeyService {
        KeyService(store: store, box: box, region: "us-east-1", recordTTL: 0)
    }

    /// An SSE-S3 key and a rotated KMS key of two tenants, with a data key under each version.
    func keysAndDataKeys(_ s: any MetadataStore) throws -> [([UInt8], SSEEnvelope)] {
        let keys = service(s, old)
        var out = [try keys.newDataKey(.s3, tenant: "acme"), try keys.newDataKey(.s3, tenant: "other")]
        let k = try keys.createKey(tenant: "acme", alias: "app")
        out.append(try keys.newDataKey(.kms(k.id), tenant: "acme"))
        _ = try keys.rotate(id: k.id)
        out.append(try keys.newDataKey(.kms(k.id), tenant: "acme"))
        return out
    }

    func testEveryKEKVersionOpensUnderTheNewKeyAlone() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let dataKeys = try keysAndDataKeys(s)
            let before = try s.kmsKeys(tenant: nil)
            let outcome = try KeyRotation.resealKEKs(s, opening: both, sealing: new)
            XCTAssertEqual([outcome.resealed, outcome.current, outcome.pending], [4, 4, 0])
            XCTAssertTrue(outcome.complete)
            let after = try s.kmsKeys(tenant: nil)
            // Only the sealing changed: same ids, states, aliases, version numbers.
            XCTAssertEqual(after.map(\.id), before.map(\.id))
            XCTAssertEqual(after.map(\.alias), before.map(\.alias))
            for (a, b) in zip(after, before) {
                XCTAssertEqual(try KeyService.versions(a).map(\.v), try KeyService.versions(b).map(\.v))
                XCTAssertEqual(try KeyService.versions(a).map(\.createdAt), try KeyService.versions(b).map(\.createdAt))
                XCTAssertFalse(a.versions.contains(":\(old.current.id):"), a.versions)
            }
            // A worker holding only the new key opens every data key; the old key alone opens none.
            let fresh = service(s, new)
            for (dek, e) in dataKeys { XCTAssertEqual(try fresh.dataKey(e), dek) }
            for (_, e) in dataKeys { XCTAssertThrowsError(try service(s, old).dataKey(e)) }
            // Audited per row, without key material.
            let records = try s.auditRecords(AuditQuery(change: "keys.kek-resealed"))
            XCTAssertEqual(records.count, 3)
            XCTAssertEqual(records.map { $0.detail.contains("\"count\":2") }.filter { $0 }.count, 1, "\(records)")
            for r in records { XCTAssertFalse(r.detail.contains("sealed")) }
            // A second run has nothing to do.
            let again = try KeyRotation.resealKEKs(s, opening: both, sealing: new)
            XCTAssertEqual([again.resealed, again.current], [0, 4])
        }
    }

    func testUnreadableVersionsAreReportedNotDestroyed() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let dataKeys = try keysAndDataKeys(s)
            // A key sealed under a master key nobody holds any more.
            let lost = SecretBox(keys: [MasterKey(bytes: Array(repeating: 3, count: 32))!])
            let gone = try service(s, lost).createKey(tenant: "acme", alias: "lost")
            let outcome = try KeyRotation.resealKEKs(s, opening: both, sealing: new)
            XCTAssertEqual(outcome.resealed, 4)
            XCTAssertEqual(outcome.unreadable, ["\(gone.id) v1"])
            XCTAssertFalse(outcome.complete)
            XCTAssertEqual(try s.kmsKey(id: gone.id), gone, "left exactly as it was")
            for (dek, e) in dataKeys { XCTAssertEqual(try service(s, new).dataKey(e), dek) }
            // With the lost key found again, a rerun finishes the job.
            let found = try KeyRotation.resealKEKs(
                s, opening: SecretBox(keys: both.keys + lost.keys), sealing: new)
            XCTAssertEqual([found.resealed, found.current], [1, 5])
            XCTAssertTrue(found.complete)
        }
    }

    /// A row whose versions are sealed partly under the new key already (a worker rotated it
    /// after the new key was written) is re-sealed version by version.
    func testRowsSealedUnderBothKeys() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let k = try service(s, old).createKey(tenant: "acme")
            let (dek1, e1) = try service(s, old).newDataKey(.kms(k.id), tenant: "acme")
            _ = try service(s, both).rotate(id: k.id)
            let (dek2, e2) = try service(s, both).newDataKey(.kms(k.id), tenant: "acme")
            let outcome = try KeyRotation.resealKEKs(s, opening: both, sealing: new)
            XCTAssertEqual([outcome.resealed, outcome.current], [1, 2])
            XCTAssertEqual(try service(s, new).dataKey(e1), dek1)
            XCTAssertEqual(try service(s, new).dataKey(e2), dek2)
        }
    }

    /// A process started before the rotation (holding the old ring) picks up the new key file
    /// by itself: it opens the re-sealed KEKs and seals new versions under the new key.
    func testAProcessStartedBeforeTheRotationFollowsTheKeyFile() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let file = Mutex(old)
            let worker = KeyService(
                store: s, box: old, region: "us-east-1", recordTTL: 0, reloadKeys: { file.withLock { $0 } })
            let k = try worker.createKey(tenant: "acme")
            let (dek, e) = try worker.newDataKey(.kms(k.id), tenant: "acme")
            file.withLock { $0 = both }
            _ = try KeyRotation.resealKEKs(s, opening: both, sealing: new)
            file.withLock { $0 = new }
            let other = KeyService(
                store: s, box: old, region: "us-east-1", recordTTL: 0, reloadKeys: { file.withLock { $0 } })
            XCTAssertEqual(try other.dataKey(e), dek)
            _ = try worker.rotate(id: k.id)
            XCTAssertTrue(try XCTUnwrap(s.kmsKey(id: k.id)).versions.contains(#""sealed":"v1:\#(new.current.id):"#))
            XCTAssertFalse(try XCTUnwrap(s.kmsKey(id: k.id)).versions.contains(":\(old.current.id):"))
        }
    }
}
