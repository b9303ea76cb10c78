import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// Key rows change only by compare-and-set: a rotation or a state change made from a row that
/// another change replaced meanwhile is retried on the fresh row, so no KEK version is lost.
final class KMSKeyCASTests: XCTestCase {
    var fixture: TwoStores!
    let box = SecretBox(keys: [MasterKey.generate()])

    override func setUpWithError() throws { fixture = try TwoStores("kmscas") }
    override func tearDown() { fixture.remove() }

    static let bucket = BucketRecord(
        name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "bb")

    func service(_ store: any MetadataStore) -> KeyService {
        KeyService(store: store, box: box, region: "us-east-1", recordTTL: 0)
    }

    func testReplaceIsACompareAndSetAuditedInItsTransaction() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let k = try service(s).createKey(tenant: "acme", alias: "app")
            var disabled = k
            disabled.state = "Disabled"
            XCTAssertTrue(try s.replaceKMSKey(disabled, expecting: k, audit: AuditEntry("test.disable")))
            XCTAssertEqual(try s.kmsKey(id: k.id), disabled)
            // From the stale row: refused, nothing written, nothing audited.
            var renamed = k
            renamed.alias = "other"
            XCTAssertFalse(try s.replaceKMSKey(renamed, expecting: k, audit: AuditEntry("test.rename")))
            XCTAssertEqual(try s.kmsKey(id: k.id), disabled)
            let changes = try s.auditRecords(AuditQuery()).map(\.change).filter { $0.hasPrefix("test.") }
            XCTAssertEqual(changes, ["test.disable"])
            // A key that does not exist is never created by it.
            var ghost = k
            ghost.id = "ghost"
            XCTAssertFalse(try s.replaceKMSKey(ghost, expecting: ghost, audit: AuditEntry("test.ghost")))
            XCTAssertNil(try s.kmsKey(id: "ghost"))
            // Aliases stay unique within the tenant.
            let other = try service(s).createKey(tenant: "acme", alias: "taken")
            var clash = disabled
            clash.alias = "taken"
            XCTAssertThrowsError(try s.replaceKMSKey(clash, expecting: disabled, audit: AuditEntry("test.clash"))) {
                guard case .entityExists? = $0 as? StoreError else { return XCTFail("\($0)") }
            }
            XCTAssertEqual(try s.kmsKey(id: k.id), disabled)
            XCTAssertEqual(try s.kmsKey(id: other.id)?.alias, "taken")
        }
    }

    /// The lost update: a state change computed from a row read before a rotation. Written
    /// whole (putKMSKey) it would drop version 2; the compare-and-set fails and the change is
    /// made again on the rotated row.
    func testStateChangeRacingARotationKeepsTheNewVersion() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let keys = service(s)
            let k = try keys.createKey(tenant: "acme")
            var calls = 0
            let updated = try keys.update(id: k.id) { row in
                calls += 1
                if calls == 1 { _ = try self.service(s).rotate(id: k.id) }  // another admin, meanwhile
                row.state = "Disabled"
            } audit: {
                AuditEntry("test.state", detail: [("state", .string($0.state))])
            }
            XCTAssertEqual(calls, 2)
            let stored = try XCTUnwrap(s.kmsKey(id: k.id))
            XCTAssertEqual(stored, updated)
            XCTAssertEqual(stored.state, "Disabled")
            XCTAssertEqual(try KeyService.versions(stored).map(\.v), [1, 2])
            XCTAssertEqual(try s.auditRecords(AuditQuery(change: "test.state")).count, 1)
            // The stale row itself can no longer be written over the rotation.
            XCTAssertFalse(try s.replaceKMSKey(k, expecting: k, audit: AuditEntry("test.stale")))
        }
    }

    /// Rotations from several threads (and, for SQLite, several connections): every one adds
    /// its own version, every version opens, and each is audited once.
    func testConcurrentRotationsLoseNoVersion() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let k = try service(s).createKey(tenant: "acme")
            let (dek, e) = try service(s).newDataKey(.kms(k.id), tenant: "acme")
            let dir = fixture.dir
            let isSQL = s is SQLMetadataStore
            let n = 8
            let failures = Mutex<[String]>([])
            let box = self.box
            DispatchQueue.concurrentPerform(iterations: n) { _ in
                do {
                    let store: any MetadataStore = isSQL ? try sqlStore(dir: dir) : s
                    let keys = KeyService(store: store, box: box, region: "us-east-1", recordTTL: 0)
                    for _ in 0..<3 { _ = try keys.rotate(id: k.id) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            XCTAssertEqual(failures.withLock { $0 }, [])
            let row = try XCTUnwrap(s.kmsKey(id: k.id))
            XCTAssertEqual(try KeyService.versions(row).map(\.v), Array(1...(1 + 3 * n)))
            XCTAssertEqual(try s.auditRecords(AuditQuery(change: "kms.key-rotate")).count, 3 * n)
            let fresh = service(s)
            XCTAssertEqual(try fresh.dataKey(e), dek)
            XCTAssertEqual(try fresh.newDataKey(.kms(k.id), tenant: "acme").envelope.kekVersion, 1 + 3 * n)
        }
    }
}
