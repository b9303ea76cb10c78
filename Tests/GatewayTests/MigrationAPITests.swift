import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// `/api/migration/` through S3Gateway.handle with signed requests: a plan made from a stored
/// snapshot, a run started on a thread of this process against an in-memory source, its
/// progress read back, a cancel; permissions and tenants; the pasted secret in no answer.
final class MigrationAPITests: XCTestCase {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYMIGRATIONAPI"
    var dir: String!
    var gw: TestGateway!
    let source = InMemorySourceAccount(pageSize: 10)
    var answers: [String] = []

    override func setUpWithError() throws {
        dir = try MigrationFixtures.stateDir("mapi")
        source.addBucket("photos")
        for i in 0..<25 { source.put("photos", "p\(i)", Array(repeating: UInt8(i), count: 50 + i)) }
        gw = gateway()
        try MigrationFixtures.store(
            MigrationFixtures.snapshot(of: source, id: "snap-1", endpoint: MigrationFixtures.localSource), stateDir: dir
        )
    }

    /// A gateway whose state directory is `dir` and whose only source is `source`, at
    /// `MigrationFixtures.localSource` with the secret `Self.secret`.
    func gateway(maxRuns: Int = 2) -> TestGateway {
        let source = self.source
        let dir = self.dir!
        return TestGateway(configure: {
            $0.migration.stateDir = dir
            $0.migration.runs = MigrationRuns(maxRuns: maxRuns)
            $0.migration.connector = { spec throws(SourceError) in
                guard spec.endpoint == MigrationFixtures.localSource else { throw .endpointNotAllowed(spec.endpoint) }
                guard spec.credentials.secretKey == Self.secret else {
                    throw .invalidCredentials(code: "SignatureDoesNotMatch")
                }
                return source
            }
        })
    }

    override func tearDownWithError() throws {
        gw?.context.migration.runs.stopAll(timeout: 10)
        for a in answers { XCTAssertFalse(a.contains(Self.secret), "the secret in an answer: \(a)") }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// An `/api/` call whose answer is kept, to look for the secret in it at the end.
    @discardableResult
    func call(
        _ method: String, _ path: String, _ body: [String: Any]? = nil, key: String = TestGateway.accessKey,
        secret: String = TestGateway.secretKey, headers: [(String, String)] = []
    ) -> TestGateway.Response {
        let r = gw.api(method, path, body, accessKey: key, secret: secret, headers: headers)
        answers.append(r.text)
        return r
    }

    func makePlan() -> String {
        let r = call("POST", "migration/plans", ["snapshot_id": "snap-1", "constraint": "se", "replicas": 1])
        XCTAssertEqual(r.status, 201, r.text)
        return (r.json["plan"] as? [String: Any])?["id"] as? String ?? ""
    }

    func testAPlanIsMadeFromAStoredSnapshotAndReadBack() throws {
        let made = call(
            "POST", "migration/plans", ["snapshot_id": "snap-1", "constraint": "se", "bucket_prefix": "new-"])
        XCTAssertEqual(made.status, 201, made.text)
        let plan = try MigrationPlanFile.decode(Data(made.body))
        XCTAssertEqual(plan.buckets.map(\.targetBucket), ["new-photos"])
        XCTAssertEqual(plan.buckets.first?.zones, ["zone-a"])
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: MigrationFiles.planPath(stateDir: dir, tenant: "default", id: plan.plan.id)))
        let read = call("GET", "migration/plans/\(plan.plan.id)")
        XCTAssertEqual(read.status, 200)
        XCTAssertEqual(try MigrationPlanFile.decode(Data(read.body)), plan)

        XCTAssertEqual(call("POST", "migration/plans", ["snapshot_id": "nope", "constraint": "se"]).status, 404)
        XCTAssertEqual(call("POST", "migration/plans", ["snapshot_id": "../snap-1", "constraint": "se"]).status, 400)
        XCTAssertEqual(call("POST", "migration/plans", ["snapshot_id": "snap-1"]).status, 400, "a constraint is needed")
        XCTAssertEqual(
            call("POST", "migration/plans", ["snapshot_id": "snap-1", "constraint": "se", "replicas": 0]).status, 400)
        XCTAssertEqual(call("GET", "migration/plans/missing").status, 404)
        XCTAssertEqual(call("DELETE", "migration/plans/\(plan.plan.id)").status, 405)
    }

    func testAPlanIsMadeFromTheSnapshotsSummaryNotItsObjectEntries() throws {
        // Beside the snapshot, its summary (what a discovery writes); the snapshot itself is made
        // unreadable, so a plan that works was made without reading it.
        let path = SnapshotFiles(stateDir: dir).snapshot(tenant: "default", id: "snap-1").path
        let summary = String(path.dropLast(".json".count)) + ".summary.json"
        try FileManager.default.moveItem(atPath: path, toPath: summary)
        try Data("{\"schema_version\": 1, \"buckets\": [{\"objects\": [".utf8).write(to: URL(fileURLWithPath: path))
        let made = call("POST", "migration/plans", ["snapshot_id": "snap-1", "constraint": "se"])
        XCTAssertEqual(made.status, 201, made.text)
        let plan = try MigrationPlanFile.decode(Data(made.body))
        XCTAssertEqual(plan.buckets.map(\.sourceBucket), ["photos"])
        XCTAssertEqual(plan.buckets.first?.objects, 25)
        // Without the snapshot, there is no plan, summary or not.
        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(call("POST", "migration/plans", ["snapshot_id": "snap-1", "constraint": "se"]).status, 404)
    }

    func testARunStartsInTheBackgroundAndItsProgressIsReadBack() throws {
        let planId = makePlan()
        XCTAssertEqual(
            call("POST", "migration/runs", ["plan_id": planId, "access_key_id": "AKIASRC"]).status, 400,
            "the secret is required")
        let refused = call(
            "POST", "migration/runs",
            [
                "plan_id": planId, "access_key_id": "AKIASRC", "secret_access_key": "wrong-secret",
                "endpoint": "http://127.0.0.1:9000",
            ])
        XCTAssertEqual(refused.status, 502, refused.text)
        XCTAssertEqual(
            call(
                "POST", "migration/runs",
                [
                    "plan_id": planId, "access_key_id": "AKIASRC", "secret_access_key": Self.secret,
                    "endpoint": "http://elsewhere:1",
                ]
            ).status,
            400)
        let started = call(
            "POST", "migration/runs",
            ["plan_id": planId, "access_key_id": "AKIASRC", "secret_access_key": Self.secret, "session_token": "tok"])
        XCTAssertEqual(started.status, 202, started.text)
        XCTAssertEqual(started.json["state"] as? String, "running")
        XCTAssertEqual(started.json["id"] as? String, planId)
        let run = gw.endedRun(planId)
        XCTAssertEqual(run["state"] as? String, "done", "\(run)")
        XCTAssertEqual(run["objects_copied"] as? Int, 25)
        XCTAssertEqual(run["objects_total"] as? Int, 25)
        for key in ["objects_done", "bytes_total", "bytes_done", "objects_skipped", "rate_bytes_per_second", "skipped"]
        {
            XCTAssertNotNil(run[key], key)
        }
        XCTAssertEqual(gw.send("GET", "/photos/p3").body, Array(repeating: 3, count: 53))
        let list = call("GET", "migration/runs").json["runs"] as? [[String: Any]]
        XCTAssertEqual(list?.map { $0["id"] as? String }, [planId])
        let cancelled = call("POST", "migration/runs/\(planId)/cancel")
        XCTAssertEqual(cancelled.status, 202)
        XCTAssertEqual(cancelled.json["state"] as? String, "done", "an ended run is answered as it is")
        XCTAssertEqual(call("GET", "migration/runs/nope").status, 404)
        // The start is audited (once: the refused ones started nothing), as is every object
        // the run wrote, as the caller's, through the web API.
        let starts = try gw.metadata.auditRecords(AuditQuery(change: "migration.start"))
        XCTAssertEqual(starts.map(\.detail), [#"{"run":"\#(planId)","read_through":false}"#])
        XCTAssertEqual(starts.first?.origin, "web")
        let puts = try gw.metadata.auditRecords(AuditQuery(change: "object.put"))
        XCTAssertEqual(
            puts.filter { $0.origin == "web" && $0.bucket == "photos" }.count,
            puts.filter { $0.bucket == "photos" }.count)
        XCTAssertEqual(
            try gw.metadata.auditRecords(AuditQuery(change: "migration.cancel")).count, 0, "nothing to cancel")
    }

    func testARunStartedWithTemporaryCredentialsChecksThemWithTheirToken() throws {
        let planId = makePlan()
        let token = "session-token-of-the-caller"
        try gw.identityStore.createCredential(
            CredentialRecord(
                accessKey: "ASIACALLER", tenant: "default", user: IdentityBootstrap.rootUser,
                sealedSecret: TestGateway.box.seal("s-session", context: "ASIACALLER"), createdAt: TestGateway.now,
                expiresAt: TestGateway.now + 3600, parentKey: TestGateway.accessKey,
                tokenHash: hexEncode(Digest.hash(.sha256, Array(token.utf8)))),
            maxKeysPerUser: 5)
        let started = call(
            "POST", "migration/runs",
            ["plan_id": planId, "access_key_id": "AKIASRC", "secret_access_key": Self.secret], key: "ASIACALLER",
            secret: "s-session", headers: [("x-amz-security-token", token)])
        XCTAssertEqual(started.status, 202, started.text)
        let run = gw.endedRun(planId)
        XCTAssertEqual(run["state"] as? String, "done", "\(run)")
        XCTAssertEqual(run["objects_copied"] as? Int, 25)
    }

    func testRefusalsCarryTheirOwnCodes() throws {
        let planId = makePlan()
        let body: [String: Any] = ["plan_id": planId, "access_key_id": "AKIASRC", "secret_access_key": Self.secret]
        // The plan's host, but a scheme the allow-list does not admit.
        var https = body
        https["endpoint"] = "https://127.0.0.1:9000"
        let refused = call("POST", "migration/runs", https)
        XCTAssertEqual(refused.status, 400, refused.text)
        XCTAssertEqual((refused.json["error"] as? [String: Any])?["code"] as? String, "EndpointNotAllowed")
        // A process running as many migrations as it may says when to try again.
        gw = gateway(maxRuns: 0)
        let busy = call("POST", "migration/runs", body)
        XCTAssertEqual(busy.status, 503, busy.text)
        XCTAssertEqual((busy.json["error"] as? [String: Any])?["code"] as? String, "SlowDown")
        XCTAssertEqual(busy.header("retry-after"), "30")
    }

    func testPermissionsAndTenants() throws {
        let planId = makePlan()
        try gw.identityStore.createTenant(TenantRecord(id: "acme", displayName: "acme", createdAt: TestGateway.now))
        for (tenant, name, permissions) in [
            ("acme", "outsider", ["migration:*": ["acme"], "s3:*": ["*"]]),
            ("default", "reader", ["migration:GetMigration": ["default"]]),
        ] {
            try gw.addUser(
                name, tenant: tenant, permissions: permissions, accessKey: "AKID" + name.uppercased(),
                secret: "s-" + name)
        }
        // Another tenant's user sees none of this tenant's plans.
        XCTAssertEqual(call("GET", "migration/plans/\(planId)", key: "AKIDOUTSIDER", secret: "s-outsider").status, 404)
        XCTAssertEqual(call("GET", "migration/runs/\(planId)", key: "AKIDOUTSIDER", secret: "s-outsider").status, 404)
        // A reader may not plan or start.
        XCTAssertEqual(
            call(
                "POST", "migration/plans", ["snapshot_id": "snap-1", "constraint": "se"], key: "AKIDREADER",
                secret: "s-reader"
            ).status,
            403)
        XCTAssertEqual(
            call(
                "POST", "migration/runs", ["plan_id": planId, "access_key_id": "a", "secret_access_key": Self.secret],
                key: "AKIDREADER", secret: "s-reader"
            ).status,
            403)
        // The root acting for another tenant is refused: runs copy as their caller.
        XCTAssertEqual(call("GET", "migration/runs?tenant=acme").status, 400)
    }
}
