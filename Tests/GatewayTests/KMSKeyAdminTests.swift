import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import Gateway

/// The KMS key admin routes: create, list, get, enable/disable, alias, rotate; per-tenant scope
/// and permissions; audited; key material never in an answer. A made key is what a bucket's
/// default encryption may name.
final class KMSKeyAdminTests: XCTestCase {
    var gw: TestGateway!
    var root: Principal!
    var acmeAdmin: Principal!

    override func setUp() {
        gw = TestGateway()
        let rootUser = try! gw.identityStore.user(tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser)!
        root = Principal(tenant: TenantRecord.defaultID, user: rootUser, accessKey: TestGateway.accessKey)
        try! gw.identityStore.createTenant(TenantRecord(id: "acme", displayName: "Acme", createdAt: TestGateway.now))
        let boss = UserRecord(
            tenant: "acme", name: "boss", id: CanonicalID.make(),
            permissions: PermissionSet(["admin:ListKeys": ["acme"], "admin:GetKey": ["acme"]]),
            createdAt: TestGateway.now)
        try! gw.identityStore.createUser(boss)
        acmeAdmin = Principal(tenant: "acme", user: boss, accessKey: "AKIDACME")
    }

    struct Answer {
        var status: Int
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    @discardableResult
    func call(_ method: String, _ path: String, body: String? = nil, as who: Principal? = nil) -> Answer {
        let r = AdminRequest(
            method: method, path: path.split(separator: "/").map(String.init), query: [:],
            body: Array((body ?? "").utf8), principal: who ?? root, now: TestGateway.now)
        let a = AdminAPI.dispatch(r, gw.context)
        return Answer(status: a.status, body: a.body)
    }

    func testCreateListGetRotateAndDisable() throws {
        let made = call("POST", "tenants/acme/kms-keys", body: #"{"alias":"alias/photos","description":"d"}"#)
        XCTAssertEqual(made.status, 201, made.text)
        let id = try XCTUnwrap(made.json["id"] as? String)
        XCTAssertEqual(made.json["arn"] as? String, "arn:aws:kms:us-east-1:acme:key/\(id)")
        XCTAssertEqual(made.json["alias"] as? String, "photos")
        XCTAssertEqual(made.json["state"] as? String, "Enabled")
        XCTAssertEqual(made.json["versions"] as? Int, 1)
        XCTAssertEqual(made.json["kind"] as? String, "kms")
        // The row holds sealed material only; no answer carries any of it.
        let row = try XCTUnwrap(try gw.metadata.kmsKey(id: id))
        XCTAssert(row.versions.contains("\"sealed\""), row.versions)
        XCTAssertFalse(made.text.contains("sealed"))

        XCTAssertEqual(call("GET", "tenants/acme/kms-keys").items.map { $0["id"] as? String }, [id])
        XCTAssertEqual(call("GET", "tenants/acme/kms-keys/\(id)", as: acmeAdmin).json["id"] as? String, id)
        XCTAssertEqual(call("GET", "tenants/\(TenantRecord.defaultID)/kms-keys").items.count, 0)
        XCTAssertEqual(call("GET", "tenants/\(TenantRecord.defaultID)/kms-keys/\(id)").status, 404)
        XCTAssertEqual(call("GET", "tenants/nobody/kms-keys").status, 404)

        let rotated = call("POST", "tenants/acme/kms-keys/\(id)/rotate")
        XCTAssertEqual(rotated.status, 200, rotated.text)
        XCTAssertEqual(rotated.json["versions"] as? Int, 2)

        let disabled = call("PATCH", "tenants/acme/kms-keys/\(id)", body: #"{"state":"Disabled","alias":"p2"}"#)
        XCTAssertEqual(disabled.status, 200, disabled.text)
        XCTAssertEqual(disabled.json["state"] as? String, "Disabled")
        XCTAssertEqual(try gw.metadata.kmsKey(id: id)?.alias, "p2")

        let changes = try gw.metadata.auditRecords(AuditQuery()).map(\.change)
        for change in ["kms.key-create", "kms.key-rotate", "kms.key-state"] {
            XCTAssert(changes.contains(change), "\(change) not audited: \(changes)")
        }
    }

    func testValidationAndConflicts() throws {
        XCTAssertEqual(call("POST", "tenants/acme/kms-keys", body: #"{"alias":"a"}"#).status, 201)
        XCTAssertEqual(call("POST", "tenants/acme/kms-keys", body: #"{"alias":"a"}"#).status, 409, "alias taken")
        XCTAssertEqual(call("POST", "tenants/acme/kms-keys", body: #"{"alias":"aws/s3"}"#).status, 400)
        XCTAssertEqual(call("POST", "tenants/acme/kms-keys", body: #"{"alias":"no spaces"}"#).status, 400)
        XCTAssertEqual(call("POST", "tenants/acme/kms-keys", body: "{}").status, 201, "no alias")
        let id = try XCTUnwrap(call("GET", "tenants/acme/kms-keys").items.first?["id"] as? String)
        XCTAssertEqual(call("PATCH", "tenants/acme/kms-keys/\(id)", body: #"{"state":"Off"}"#).status, 400)
        XCTAssertEqual(call("POST", "tenants/acme/kms-keys/nope/rotate").status, 404)
        // The tenant's SSE-S3 key stays on.
        let managed = KMSKeyRecord(
            id: "m1", tenant: "acme", alias: "aws/s3", kind: "sse-s3", createdAt: TestGateway.now,
            versions: #"[{"v":1,"sealed":"x","created_at":0}]"#)
        try gw.metadata.putKMSKey(managed, audit: AuditEntry("kms.key-create"))
        XCTAssertEqual(call("PATCH", "tenants/acme/kms-keys/m1", body: #"{"state":"Disabled"}"#).status, 409)
        XCTAssertEqual(call("GET", "tenants/acme/kms-keys/m1").json["kind"] as? String, "sse-s3")
    }

    func testPermissionsAreTenantScoped() {
        XCTAssertEqual(call("POST", "tenants/acme/kms-keys", body: "{}", as: acmeAdmin).status, 403)
        XCTAssertEqual(call("GET", "tenants/acme/kms-keys", as: acmeAdmin).status, 200)
        XCTAssertEqual(call("GET", "tenants/\(TenantRecord.defaultID)/kms-keys", as: acmeAdmin).status, 403)
        for action in ["admin:CreateKey", "admin:ListKeys", "admin:GetKey", "admin:UpdateKey", "admin:RotateKey"] {
            XCTAssert(AdminAPI.actions.contains(action), action)
        }
    }

    func testAMadeKeyIsWhatABucketDefaultMayName() throws {
        let made = call("POST", "tenants/\(TenantRecord.defaultID)/kms-keys", body: #"{"alias":"docs"}"#)
        let id = try XCTUnwrap(made.json["id"] as? String)
        XCTAssertEqual(gw.send("PUT", "/box").status, 200)
        let body = Array(
            """
            <ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm>\
            <KMSMasterKeyID>alias/docs</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>
            """.utf8)
        XCTAssertEqual(gw.send("PUT", "/box?encryption", body: body).status, 200)
        XCTAssertEqual(try gw.metadata.bucket(named: "box")?.encryption, "aws:kms key=\(id)")
    }
}
