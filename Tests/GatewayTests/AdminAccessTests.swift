import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import SigV4
import XCTest

/// Who may use the admin API, and for what: nobody grants or takes over more than they hold,
/// temporary credentials are refused, every body must be covered by a header signature, and
/// the API's path never swallows virtual-hosted S3 requests.
final class AdminAccessTests: XCTestCase {
    var gw: STSGateway!

    override func setUp() { gw = STSGateway() }

    func principal(_ tenant: String, _ name: String) throws -> Principal {
        Principal(
            tenant: tenant, user: try XCTUnwrap(gw.identityStore.user(tenant: tenant, name: name)), accessKey: "AK")
    }

    func call(_ method: String, _ path: String, _ body: String = "", as who: Principal) -> AdminResponse {
        AdminAPI.dispatch(
            AdminRequest(
                method: method, path: path.split(separator: "/").map(String.init), body: Array(body.utf8),
                principal: who, now: TestGateway.now), gw.context)
    }

    func code(_ a: AdminResponse) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(a.body))) as? [String: Any])?["code"] as? String
    }

    func testADefaultTenantUserCannotRaiseItselfOrTakeOverRoot() throws {
        _ = try gw.addUser("ops", ["admin:UpdateUser": ["default"], "admin:CreateCredential": ["default"]])
        let ops = try principal(TenantRecord.defaultID, "ops")
        let raise = call("PATCH", "tenants/default/users/ops", #"{"permissions": {"admin:*": ["*"]}}"#, as: ops)
        XCTAssertEqual(raise.status, 403)
        XCTAssertEqual(code(raise), "AccessDenied")
        XCTAssertEqual(try gw.identityStore.user(tenant: "default", name: "ops")?.permissions.rules["admin:*"], nil)
        let mint = call("POST", "tenants/default/users/root/credentials", as: ops)
        XCTAssertEqual(mint.status, 403)
        XCTAssertEqual(try gw.identityStore.credentials(tenant: "default", user: "root").count, 1)
        XCTAssertFalse(String(decoding: mint.body, as: UTF8.self).contains("secret_key"))
    }

    func testATenantAdministratorGrantsOnlyWhatItHolds() throws {
        try gw.tenant("acme")
        let limited = UserRecord(
            tenant: "acme", name: "hr", id: CanonicalID.make(),
            permissions: PermissionSet(["admin:CreateUser": ["acme"], "s3:GetObject": ["photos/*"]]),
            createdAt: TestGateway.now)
        try gw.identityStore.createUser(limited)
        let hr = try principal("acme", "hr")
        XCTAssertEqual(
            call("POST", "tenants/acme/users", #"{"name": "x", "permissions": {"s3:*": ["*"]}}"#, as: hr).status, 403)
        XCTAssertEqual(
            call("POST", "tenants/acme/users", #"{"name": "y", "permissions": {"admin:*": ["acme"]}}"#, as: hr).status,
            403)
        let narrower = call(
            "POST", "tenants/acme/users", #"{"name": "z", "permissions": {"s3:GetObject": ["photos/2026/*"]}}"#, as: hr)
        XCTAssertEqual(narrower.status, 201, String(decoding: narrower.body, as: UTF8.self))
        XCTAssertNil(try gw.identityStore.user(tenant: "acme", name: "x"))
        XCTAssertNil(try gw.identityStore.user(tenant: "acme", name: "y"))

        // A full tenant administrator is still confined to its tenant: "*" it cannot grant.
        let boss = UserRecord(
            tenant: "acme", name: "boss", id: CanonicalID.make(),
            permissions: PermissionSet(["admin:*": ["acme"], "s3:*": ["*"]]), createdAt: TestGateway.now)
        try gw.identityStore.createUser(boss)
        let b = try principal("acme", "boss")
        XCTAssertEqual(
            call("POST", "tenants/acme/users", #"{"name": "w", "permissions": {"admin:*": ["*"]}}"#, as: b).status, 403)
        XCTAssertEqual(
            call(
                "POST", "tenants/acme/users",
                #"{"name": "w", "permissions": {"s3:*": ["*"], "admin:ListUsers": ["acme"]}}"#, as: b
            )
            .status, 201)
    }

    func testTemporaryCredentialsCannotUseTheAdminAPI() throws {
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken"]).session)
        let r = gw.send("GET", "/admin/tenants", key: s.key)
        XCTAssertEqual(r.status, 403, r.text)
        XCTAssertTrue(r.text.contains("\"AccessDenied\""), r.text)
        XCTAssertEqual(gw.send("GET", "/admin/tenants").status, 200)
        let minted = gw.send(
            "POST", "/admin/tenants/default/users/root/credentials", key: s.key,
            headers: [("content-type", "application/json")])
        XCTAssertEqual(minted.status, 403)
        XCTAssertEqual(try gw.identityStore.credentials(tenant: "default", user: "root").count, 1)
    }

    func testEveryAdminBodyIsCoveredByAHeaderSignature() throws {
        let body = Array(#"{"id": "evil"}"#.utf8)
        let unsigned = gw.send("POST", "/admin/tenants", body: body, payloadHash: "UNSIGNED-PAYLOAD")
        XCTAssertEqual(unsigned.status, 400, unsigned.text)
        XCTAssertNil(try gw.identityStore.tenant(id: "evil"))
        // The same body signed works: the refusal is about the signature, not the body.
        XCTAssertEqual(gw.send("POST", "/admin/tenants", body: body).status, 201)

        let url = Signer.presign(
            method: "GET", rawPath: "/admin/tenants", host: gw.host, accessKey: STSGateway.root.accessKey,
            secretKey: STSGateway.root.secret, region: "us-east-1", amzDate: gw.amzDate, expires: 600)
        let presigned = gw.raw("GET", url)
        XCTAssertEqual(presigned.status, 403, presigned.text)
    }

    func testRotatingAKeyEndsTheSessionsMintedWithIt() throws {
        let bob = try gw.addUser("bob", ["sts:GetSessionToken": ["*"], "s3:*": ["*"]])
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken"], key: bob).session)
        XCTAssertEqual(gw.send("PUT", "/bobs", key: s.key).status, 200)
        let root = try principal(TenantRecord.defaultID, "root")
        XCTAssertEqual(
            call("POST", "tenants/default/users/bob/credentials/\(bob.accessKey)/rotate", as: root).status, 200)
        XCTAssertNil(try gw.identityStore.credential(accessKey: s.accessKey))
        XCTAssertEqual(gw.send("GET", "/bobs", key: s.key).errorCode, "InvalidAccessKeyId")
    }

    func testVirtualHostedKeysNamedAdminAreS3AndTheNameAdminIsReserved() {
        let s3 = TestGateway()
        XCTAssertEqual(s3.send("PUT", "/bkt").status, 200)
        let put = s3.send("PUT", "/admin", body: Array("x".utf8), host: "bkt.s3.example.test")
        XCTAssertEqual(put.status, 200, put.text)
        XCTAssertEqual(s3.send("GET", "/bkt/admin").text, "x")
        let create = s3.send("PUT", "/", host: "admin.s3.example.test")
        XCTAssertEqual(create.errorCode, "InvalidBucketName", create.text)
    }
}
