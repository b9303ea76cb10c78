import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import MetadataSQL
import SigV4
import Synchronization
import XCTest

/// `s3gw keys rotate`'s re-sealing: every secret ends up under the new key with its value, a
/// secret changed meanwhile keeps its new value, and nothing it cannot open is touched.
final class KeyRotationTests: XCTestCase {
    let old = SecretBox(keys: [MasterKey(bytes: Array(repeating: 1, count: 32))!])
    let new = SecretBox(keys: [MasterKey(bytes: Array(repeating: 2, count: 32))!])
    var both: SecretBox { SecretBox(keys: old.keys + new.keys) }

    /// A tenant user with `keys` access keys, secret "secret-<key>", sealed under `box`.
    func store(_ keys: [String], box: SecretBox) throws -> InMemoryIdentityStore {
        let s = InMemoryIdentityStore(metadata: InMemoryMetadataStore())
        try s.createUser(
            UserRecord(
                tenant: "default", name: "u", id: CanonicalID.make(), permissions: PermissionSet([:]), createdAt: 0))
        for k in keys {
            try s.createCredential(
                CredentialRecord(
                    accessKey: k, tenant: "default", user: "u", sealedSecret: box.seal("secret-" + k, context: k),
                    createdAt: 0), maxKeysPerUser: 10)
        }
        return s
    }

    func secrets(_ s: some IdentityStore, box: SecretBox) throws -> [String: String?] {
        Dictionary(
            uniqueKeysWithValues: try s.sealedSecrets().map {
                ($0.accessKey, box.open($0.sealed, context: $0.accessKey))
            })
    }

    func testEverySecretIsResealedUnderTheNewKeyWithItsValue() throws {
        let s = try store(["K1", "K2", "K3"], box: old)
        let outcome = try KeyRotation.reseal(s, opening: both, sealing: new)
        XCTAssertEqual([outcome.resealed, outcome.current, outcome.pending], [3, 3, 0])
        XCTAssertTrue(outcome.complete)
        XCTAssertEqual(try secrets(s, box: new), ["K1": "secret-K1", "K2": "secret-K2", "K3": "secret-K3"])
        XCTAssertEqual(try secrets(s, box: old), ["K1": nil, "K2": nil, "K3": nil], "the old key opens nothing now")
        let again = try KeyRotation.reseal(s, opening: both, sealing: new)
        XCTAssertEqual(again.resealed, 0, "a second run has nothing to do")
        XCTAssertEqual(again.current, 3)
    }

    func testASecretRotatedMeanwhileKeepsItsNewValue() throws {
        let inner = try store(["K1", "K2"], box: old)
        // Between the rotation's read and its write, the admin API rotates K1 (a worker that
        // already sealed under the new key) and a worker that had not re-read the key file yet
        // creates K3 under the old key.
        let racing = Racing(inner) {
            try! inner.replaceSealedSecret(accessKey: "K1", sealed: self.new.seal("rotated", context: "K1"))
            try! inner.createCredential(
                CredentialRecord(
                    accessKey: "K3", tenant: "default", user: "u", sealedSecret: self.old.seal("late", context: "K3"),
                    createdAt: 0), maxKeysPerUser: 10)
        }
        let outcome = try KeyRotation.reseal(racing, opening: both, sealing: new)
        XCTAssertEqual(try secrets(inner, box: new), ["K1": "rotated", "K2": "secret-K2", "K3": "late"])
        XCTAssertEqual(outcome.resealed, 2, "K2, then K3 on the next pass; K1's rotated secret is not overwritten")
        XCTAssertTrue(outcome.complete)
    }

    func testASecretNoKeyOpensIsReportedAndLeftAlone() throws {
        let lost = SecretBox(keys: [MasterKey(bytes: Array(repeating: 3, count: 32))!])
        let s = try store(["K1"], box: old)
        try s.createCredential(
            CredentialRecord(
                accessKey: "K2", tenant: "default", user: "u", sealedSecret: lost.seal("x", context: "K2"), createdAt: 0
            ),
            maxKeysPerUser: 10)
        let before = try s.sealedSecrets().first { $0.accessKey == "K2" }!.sealed
        let outcome = try KeyRotation.reseal(s, opening: both, sealing: new)
        XCTAssertEqual(outcome.unreadable, ["K2"])
        XCTAssertFalse(outcome.complete)
        XCTAssertEqual(try s.sealedSecrets().first { $0.accessKey == "K2" }!.sealed, before)
        XCTAssertEqual(try secrets(s, box: new)["K1"], "secret-K1")
    }

    /// The SQLite store replaces a sealed secret only where it still holds the value read.
    func testTheSQLiteStoreReplacesOnlyWhatItStillHolds() throws {
        let dir = NSTemporaryDirectory() + "keyrotation-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try sqlStore(dir: dir)
        try s.createUser(
            UserRecord(
                tenant: "default", name: "u", id: CanonicalID.make(), permissions: PermissionSet([:]), createdAt: 0))
        for k in ["K1", "K2"] {
            try s.createCredential(
                CredentialRecord(
                    accessKey: k, tenant: "default", user: "u", sealedSecret: old.seal("secret-" + k, context: k),
                    createdAt: 0), maxKeysPerUser: 10)
        }
        let read = try s.sealedSecrets()
        try s.replaceSealedSecret(accessKey: "K1", sealed: new.seal("rotated", context: "K1"))
        let replaced = try s.reseal(read.map { ($0.accessKey, $0.sealed, new.seal("stale", context: $0.accessKey)) })
        XCTAssertEqual(replaced, 1)
        XCTAssertEqual(try secrets(s, box: new), ["K1": "rotated", "K2": "stale"])
        XCTAssertTrue(try KeyRotation.reseal(s, opening: both, sealing: new).complete)
    }

    /// Workers seal under the newest key in the key file even when they started before it.
    func testIdentitiesSealUnderTheKeysAsTheyAreNow() {
        let source = Mutex(old)
        let identities = Identities(
            store: InMemoryIdentityStore(metadata: InMemoryMetadataStore()), secretBox: old, clock: FixedClock(0),
            reloadKeys: { source.withLock { $0 } })
        XCTAssertEqual(identities.secretBox.current, old.current)
        source.withLock { $0 = self.both }
        XCTAssertEqual(identities.secretBox.current, new.current)
    }
}

/// An identity store that runs `meanwhile` once, right after the first read of sealed secrets.
final class Racing: IdentityStore, @unchecked Sendable {
    let inner: InMemoryIdentityStore
    var meanwhile: (() -> Void)?
    init(_ inner: InMemoryIdentityStore, meanwhile: @escaping () -> Void) {
        self.inner = inner
        self.meanwhile = meanwhile
    }

    func sealedSecrets() throws(StoreError) -> [(accessKey: String, sealed: String)] {
        let out = try inner.sealedSecrets()
        meanwhile?()
        meanwhile = nil
        return out
    }
    func reseal(_ s: [(accessKey: String, from: String, to: String)]) throws(StoreError) -> Int {
        try inner.reseal(s)
    }
    func createTenant(_ t: TenantRecord) throws(StoreError) { try inner.createTenant(t) }
    func tenant(id: String) throws(StoreError) -> TenantRecord? { try inner.tenant(id: id) }
    func tenants(after: String, limit: Int) throws(StoreError) -> [TenantRecord] {
        try inner.tenants(after: after, limit: limit)
    }
    func deleteTenant(id: String) throws(StoreError) { try inner.deleteTenant(id: id) }
    func createUser(_ u: UserRecord) throws(StoreError) { try inner.createUser(u) }
    func user(tenant: String, name: String) throws(StoreError) -> UserRecord? {
        try inner.user(tenant: tenant, name: name)
    }
    func user(id: String) throws(StoreError) -> UserRecord? { try inner.user(id: id) }
    func users(tenant: String, after: String, limit: Int) throws(StoreError) -> [UserRecord] {
        try inner.users(tenant: tenant, after: after, limit: limit)
    }
    func setPermissions(tenant: String, user: String, _ p: PermissionSet) throws(StoreError) {
        try inner.setPermissions(tenant: tenant, user: user, p)
    }
    func deleteUser(tenant: String, name: String) throws(StoreError) {
        try inner.deleteUser(tenant: tenant, name: name)
    }
    func createCredential(_ c: CredentialRecord, maxKeysPerUser: Int) throws(StoreError) {
        try inner.createCredential(c, maxKeysPerUser: maxKeysPerUser)
    }
    func credential(accessKey: String) throws(StoreError) -> (CredentialRecord, UserRecord)? {
        try inner.credential(accessKey: accessKey)
    }
    func credentials(tenant: String, user: String) throws(StoreError) -> [CredentialRecord] {
        try inner.credentials(tenant: tenant, user: user)
    }
    func setCredentialStatus(accessKey: String, _ s: CredentialRecord.Status) throws(StoreError) {
        try inner.setCredentialStatus(accessKey: accessKey, s)
    }
    func replaceSealedSecret(accessKey: String, sealed: String) throws(StoreError) {
        try inner.replaceSealedSecret(accessKey: accessKey, sealed: sealed)
    }
    func deleteCredential(accessKey: String) throws(StoreError) { try inner.deleteCredential(accessKey: accessKey) }
    func deleteSessions(parentKey: String) throws(StoreError) -> Int {
        try inner.deleteSessions(parentKey: parentKey)
    }
    func deleteExpiredSessions(before t: Double) throws(StoreError) -> Int {
        try inner.deleteExpiredSessions(before: t)
    }
    func reassignBucketOwner(from: String, to: String) throws(StoreError) -> Int {
        try inner.reassignBucketOwner(from: from, to: to)
    }
}
