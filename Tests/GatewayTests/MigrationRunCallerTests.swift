import Foundation
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import XCTest

@testable import Gateway

/// A run started through the API may last days and acts for its caller: it looks the caller's
/// credential up again as it goes and fails, saying why, once the credential is deleted,
/// deactivated or expired, or the caller may no longer migrate or write.
extension MigrationRunsTests {
    /// A slow gateway and a user "mover" of the default tenant (AKIDMOVER) who may migrate and write.
    func slowGatewayAndMover() throws -> Principal {
        slowGateway()
        try gw.addUser(
            "mover", permissions: ["migration:*": ["default"], "s3:*": ["*"]], accessKey: "AKIDMOVER",
            secret: "s-mover")
        return try XCTUnwrap(gw.context.identities.resolve("AKIDMOVER")?.principal)
    }

    func startSlowly(_ p: MigrationPlanV1, by caller: Principal, token: String? = nil) throws {
        _ = try gw.context.migration.runs.start(
            p,
            .init(
                credentials: .init(accessKey: "a", secretKey: "s"), endpoint: MigrationFixtures.localSource,
                parallel: 1,
                callerSessionToken: token),
            by: caller, gw.context, logger: Logger(label: "t"))
    }

    func testARunStopsWhenItsCallersCredentialIsDeactivated() throws {
        let mover = try slowGatewayAndMover()
        let p = try plan(id: "p-deactivated")
        try startSlowly(p, by: mover)
        waitFor("a few objects") { source.reads >= 3 }
        try gw.identityStore.setCredentialStatus(accessKey: "AKIDMOVER", .inactive)
        waitFor("the run to stop") { gw.context.migration.runs.count == 0 }
        let s = try XCTUnwrap(status(p.plan.id))
        XCTAssertEqual(s.state, .failed, s.text)
        XCTAssertEqual(
            s.error,
            "the credential that started the run (AKIDMOVER) no longer works (InvalidAccessKeyId: deleted, "
                + "deactivated or expired); start the run again with a credential that may")
        XCTAssertLessThan(s.objectsCopied, 20, "the run stops at the next page")
    }

    func testARunStopsWhenItsCallerMayNoLongerWrite() throws {
        let mover = try slowGatewayAndMover()
        let p = try plan(id: "p-revoked")
        try startSlowly(p, by: mover)
        waitFor("a few objects") { source.reads >= 3 }
        try gw.identityStore.setPermissions(
            tenant: "default", user: "mover", PermissionSet(["migration:*": ["default"], "s3:GetObject": ["*"]]))
        waitFor("the run to stop") { gw.context.migration.runs.count == 0 }
        let s = try XCTUnwrap(status(p.plan.id))
        XCTAssertEqual(s.state, .failed, s.text)
        XCTAssertEqual(
            s.error,
            "the caller (AKIDMOVER) may no longer write to src (s3:PutObject); start the run again with a "
                + "credential that may")
        XCTAssertLessThan(s.objectsCopied, 20)
    }

    func testATemporaryCallerIsCheckedWithItsSessionToken() throws {
        let mover = try slowGatewayAndMover()
        // Sessions of the mover's key: one valid for an hour, one already expired.
        for (key, expires) in [("ASIAVALID", TestGateway.now + 3600), ("ASIAEXPIRED", TestGateway.now - 1)] {
            try gw.identityStore.createCredential(
                CredentialRecord(
                    accessKey: key, tenant: "default", user: "mover",
                    sealedSecret: TestGateway.box.seal("s", context: key), createdAt: TestGateway.now,
                    expiresAt: expires, parentKey: mover.accessKey,
                    tokenHash: hexEncode(Digest.hash(.sha256, Array("token-\(key)".utf8)))),
                maxKeysPerUser: 5)
        }
        func session(_ key: String) throws -> Principal {
            try XCTUnwrap(gw.context.identities.resolve(key)?.principal)
        }
        // Both planned before either run creates the target (the root plans: a bucket of the
        // mover's would be another user's to it).
        let valid = try plan(id: "p-valid")
        let expired = try plan(id: "p-expired")
        try startSlowly(valid, by: session("ASIAVALID"), token: "token-ASIAVALID")
        try startSlowly(expired, by: session("ASIAEXPIRED"), token: "token-ASIAEXPIRED")
        waitFor("both runs to end") { gw.context.migration.runs.count == 0 }
        XCTAssertEqual(status(valid.plan.id)?.state, .done, status(valid.plan.id)?.text ?? "")
        XCTAssertEqual(status(valid.plan.id)?.objectsCopied, 40)
        let s = try XCTUnwrap(status(expired.plan.id))
        XCTAssertEqual(s.state, .failed)
        XCTAssertTrue(s.error?.contains("(ASIAEXPIRED) no longer works (ExpiredToken") == true, s.error ?? "")
        XCTAssertEqual(s.objectsCopied, 0)
    }
}
