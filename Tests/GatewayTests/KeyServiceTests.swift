import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import SigV4
import XCTest

@testable import Gateway

/// The key hierarchy over both stores: SSE-S3 keys made once per tenant (also when two workers
/// race), KMS keys named every way a client can, disabled keys, SSE-C, rotation and re-wrap.
final class KeyServiceTests: XCTestCase {
    var dir: String!
    let box = SecretBox(keys: [MasterKey.generate()])

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-keyservice-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func stores() throws -> [any MetadataStore] {
        [try sqlStore(dir: dir, name: "m-\(UUID().uuidString)"), InMemoryMetadataStore()]
    }

    func service(_ store: any MetadataStore, ttl: Double = 5, box: SecretBox? = nil) -> KeyService {
        KeyService(store: store, box: box ?? self.box, region: "us-east-1", recordTTL: ttl)
    }

    func creations(_ store: any MetadataStore) throws -> [String] {
        try store.auditRecords(AuditQuery(change: "kms.key-create")).map(\.detail)
    }

    func testSSES3KeyMadeOnceAndOpens() throws {
        for store in try stores() {
            let keys = service(store)
            let (dek, e) = try keys.newDataKey(.s3, tenant: "acme")
            XCTAssertEqual(e.mode, .s3)
            XCTAssertEqual(e.kekVersion, 1)
            let k = try XCTUnwrap(store.kmsKeys(tenant: "acme").first)
            XCTAssertEqual([k.kind, k.alias, k.state], ["sse-s3", "aws/s3", "Enabled"])
            XCTAssertEqual(e.kekId, k.id)
            XCTAssertTrue(k.versions.contains(#""sealed":"v1:\#(box.current.id):"#), k.versions)
            // Again: the same key; another worker (a fresh cache) opens the DEK.
            XCTAssertEqual(try keys.newDataKey(.s3, tenant: "acme").envelope.kekId, k.id)
            XCTAssertEqual(try service(store).dataKey(try XCTUnwrap(SSEEnvelope.decode(e.encoded))), dek)
            XCTAssertEqual(try store.kmsKeys(tenant: "acme").count, 1)
            XCTAssertEqual(try creations(store).count, 1)
            XCTAssertFalse(try creations(store)[0].contains("sealed"))
            // Each tenant its own.
            XCTAssertNotEqual(try keys.newDataKey(.s3, tenant: "other").envelope.kekId, k.id)
        }
    }

    /// Two workers both find no key and both make one: the store keeps the first, the second
    /// worker uses it.
    func testSSES3CreationRace() throws {
        for store in try stores() {
            let first = try service(store).sseS3Key(tenant: "acme")
            let late = try service(store).createSSES3Key(tenant: "acme")
            XCTAssertEqual(late, first)
            XCTAssertEqual(try store.kmsKeys(tenant: "acme").map(\.id), [first.id])
        }
    }

    func testKMSKeyNamedEveryWay() throws {
        for store in try stores() {
            let keys = service(store)
            let k = try keys.createKey(tenant: "acme", alias: "app", description: "for the app")
            let arn = "arn:aws:kms:us-east-1:acme:key/\(k.id)"
            XCTAssertEqual(keys.arn(k), arn)
            for given in [k.id, arn, "alias/app", "arn:aws:kms:us-east-1:acme:alias/app"] {
                XCTAssertEqual(try keys.resolve(given, tenant: "acme").id, k.id, given)
                let (dek, e) = try keys.newDataKey(.kms(given), tenant: "acme")
                XCTAssertEqual(e.mode, .kms(k.id))
                XCTAssertEqual(try keys.dataKey(e), dek)
            }
            // Another tenant's key, an unknown one, malformed ARNs: not found, as given.
            let other = try keys.createKey(tenant: "evil", alias: "x")
            for given in [
                other.id, "arn:aws:kms:us-east-1:evil:key/\(other.id)", "arn:aws:kms:us-east-1:acme:key/\(other.id)",
                "alias/x", "alias/", "nope", "arn:aws:kms:us-east-1:acme", "arn:aws:s3:us-east-1:acme:key/\(k.id)", "",
            ] {
                XCTAssertThrowsError(try keys.newDataKey(.kms(given), tenant: "acme"), given) {
                    XCTAssertEqual($0 as? SSEError, .keyNotFound(given))
                }
            }
            // No key named: the tenant's managed key (AWS's aws/s3), also by that alias.
            let (_, managed) = try keys.newDataKey(.kms(nil), tenant: "acme")
            let sseS3 = try keys.sseS3Key(tenant: "acme")
            XCTAssertEqual(managed.mode, .kms(sseS3.id))
            XCTAssertEqual(try keys.resolve("alias/aws/s3", tenant: "acme").id, sseS3.id)
            // An alias is one key's.
            XCTAssertThrowsError(try keys.createKey(tenant: "acme", alias: "app")) {
                guard case .entityExists? = $0 as? StoreError else { return XCTFail("\($0)") }
            }
        }
    }

    func testDisabledKeyRefusedForWritesAndReads() throws {
        for store in try stores() {
            let keys = service(store, ttl: 0)
            var k = try keys.createKey(tenant: "acme", alias: "app")
            let (_, e) = try keys.newDataKey(.kms("alias/app"), tenant: "acme")
            k.state = "Disabled"
            try store.putKMSKey(k, audit: AuditEntry("test.disable"))
            for given in [k.id, "alias/app"] {
                XCTAssertThrowsError(try keys.newDataKey(.kms(given), tenant: "acme")) {
                    XCTAssertEqual($0 as? SSEError, .keyDisabled(keys.arn(k)))
                }
            }
            XCTAssertThrowsError(try keys.dataKey(e)) { XCTAssertEqual($0 as? SSEError, .keyDisabled(keys.arn(k))) }
            XCTAssertEqual(SSEError.keyDisabled("x").s3Error.code.code, "KMS.DisabledException")
        }
    }

    func testCustomerKeys() throws {
        let keys = service(InMemoryMetadataStore())
        let customer = randomBytes(32)
        let (dek, e) = try keys.newDataKey(.customer(customer), tenant: "acme")
        XCTAssertEqual(e.mode, .customer)
        XCTAssertEqual([e.kekId, String(e.kekVersion)], ["", "0"])
        XCTAssertEqual(try keys.dataKey(e, customerKey: customer), dek)
        XCTAssertThrowsError(try keys.dataKey(e, customerKey: randomBytes(32))) {
            XCTAssertEqual($0 as? SSEError, .wrongKey)
        }
        XCTAssertThrowsError(try keys.dataKey(e)) { XCTAssertEqual($0 as? SSEError, .customerKeyRequired) }
        XCTAssertEqual(SSEError.wrongKey.s3Error.code, .accessDenied)
        // Nothing derived from the customer key is in the row: not the key, its MD5 or its base64.
        for secret in [hexEncode(customer), base64Encode(customer), base64Encode(Digest.hash(.md5, customer))] {
            XCTAssertFalse(e.encoded.contains(secret))
        }
        XCTAssertEqual(try keys.rewrap(e), e)
    }

    func testRotationAndRewrap() throws {
        for store in try stores() {
            let keys = service(store)
            let k = try keys.createKey(tenant: "acme")
            let (oldDEK, old) = try keys.newDataKey(.kms(k.id), tenant: "acme")
            let rotated = try keys.rotate(id: k.id)
            XCTAssertEqual(try KeyService.versions(rotated).map(\.v), [1, 2])
            XCTAssertEqual(try store.auditRecords(AuditQuery(change: "kms.key-rotate")).count, 1)
            let (newDEK, new) = try keys.newDataKey(.kms(k.id), tenant: "acme")
            XCTAssertEqual(new.kekVersion, 2)
            // Both versions open, here and in another worker whose cached row predates the rotation.
            let stale = service(store)
            _ = try stale.resolve(k.id, tenant: "acme")
            for s in [keys, stale] {
                XCTAssertEqual(try s.dataKey(old), oldDEK)
                XCTAssertEqual(try s.dataKey(new), newDEK)
            }
            // Re-wrap: the old envelope moves to version 2 and keeps its DEK; a current one stays.
            let moved = try keys.rewrap(old)
            XCTAssertEqual(moved.kekVersion, 2)
            XCTAssertNotEqual(moved.wrapped, old.wrapped)
            XCTAssertEqual(try service(store).dataKey(moved), oldDEK)
            XCTAssertEqual(try keys.rewrap(new), new)
        }
    }

    func testDamageIsCorrupt() throws {
        let store = InMemoryMetadataStore()
        let keys = service(store)
        var (_, e) = try keys.newDataKey(.s3, tenant: "acme")
        e.kekVersion = 7
        XCTAssertThrowsError(try keys.dataKey(e)) {
            XCTAssertEqual($0 as? SSEError, .corrupt("key \(e.kekId) has no version 7"))
        }
        // A KEK that opens, with a wrapped DEK that does not: damage, not the client's wrong key.
        var flipped = try keys.newDataKey(.s3, tenant: "acme").envelope
        var raw = try XCTUnwrap(base64Decode(flipped.wrapped))
        raw[20] ^= 1
        flipped.wrapped = base64Encode(raw)
        XCTAssertThrowsError(try keys.dataKey(flipped)) {
            guard case .corrupt? = $0 as? SSEError else { return XCTFail("\($0)") }
        }
        // The master key ring lost the key the KEKs are sealed with.
        let (_, fine) = try keys.newDataKey(.s3, tenant: "acme")
        XCTAssertThrowsError(try service(store, box: SecretBox(keys: [MasterKey.generate()])).dataKey(fine)) {
            guard case .corrupt? = $0 as? SSEError else { return XCTFail("\($0)") }
        }
        // An envelope naming a key that is gone.
        let gone = SSEEnvelope(mode: .kms("nope"), kekId: "nope", kekVersion: 1, wrapped: fine.wrapped)
        XCTAssertThrowsError(try keys.dataKey(gone)) {
            guard case .corrupt? = $0 as? SSEError else { return XCTFail("\($0)") }
        }
    }

    func testVersionsText() throws {
        let v = [KeyService.KEKVersion(v: 1, sealed: "v1:ab:x\"y", createdAt: 1_700_000_000.5)]
        let text = KeyService.encode(v)
        XCTAssertEqual(text, #"[{"v":1,"sealed":"v1:ab:x\"y","created_at":1700000000.5}]"#)
        let k = KMSKeyRecord(id: "i", tenant: "t", kind: "kms", createdAt: 0, versions: text)
        XCTAssertEqual(try KeyService.versions(k), v)
    }
}
