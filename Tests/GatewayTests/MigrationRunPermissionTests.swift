import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// A plan of more than one copy per object needs a bucket replica-count only a gateway
/// administrator may set: `POST /api/migration/runs` by anyone else refuses it at once
/// (403 AccessDenied naming the permission), before the source is opened or a bucket created.
final class MigrationRunPermissionTests: XCTestCase {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPERMISSIONS"
    var dir: String!
    var gw: TestGateway!
    let source = InMemorySourceAccount()
    /// Sources opened so far (the connector counts them).
    let opened = TruncatingSource.Counter()

    override func setUpWithError() throws {
        dir = try MigrationFixtures.stateDir("mperm")
        source.addBucket("photos")
        for i in 0..<5 { source.put("photos", "p\(i)", Array(repeating: UInt8(i), count: 40)) }
        let source = self.source
        let opened = self.opened
        let dir = self.dir!
        gw = TestGateway(
            zones: [
                .init(name: "zone-a", country: "se", region: "se-sto"),
                .init(name: "fi-1", country: "fi", region: "fi-hel"),
                .init(name: "fi-2", country: "fi", region: "fi-hel"),
            ],
            configure: {
                $0.migration.stateDir = dir
                $0.migration.connector = { _ throws(SourceError) in
                    opened.value.add(1, ordering: .relaxed)
                    return source
                }
            })
        // A user of the gateway's own tenant who may migrate and write, but not administer.
        try gw.addUser(
            "mover", permissions: ["migration:*": ["default"], "s3:*": ["*"]], accessKey: "AKIDMOVER", secret: "s-mover"
        )
        try MigrationFixtures.store(
            MigrationFixtures.snapshot(of: source, id: "snap-1", endpoint: MigrationFixtures.localSource), stateDir: dir
        )
    }

    override func tearDownWithError() throws {
        gw?.context.migration.runs.stopAll(timeout: 10)
        try? FileManager.default.removeItem(atPath: dir)
    }

    func call(_ method: String, _ path: String, _ body: [String: Any], mover: Bool = true) -> TestGateway.Response {
        gw.api(
            method, path, body, accessKey: mover ? "AKIDMOVER" : TestGateway.accessKey,
            secret: mover ? "s-mover" : TestGateway.secretKey)
    }

    func makePlan(replicas: Int, prefix: String = "") -> String {
        let r = call(
            "POST", "migration/plans",
            ["snapshot_id": "snap-1", "constraint": "fi", "replicas": replicas, "bucket_prefix": prefix])
        XCTAssertEqual(r.status, 201, r.text)
        return (r.json["plan"] as? [String: Any])?["id"] as? String ?? ""
    }

    func start(_ planId: String, mover: Bool = true) -> TestGateway.Response {
        call(
            "POST", "migration/runs",
            ["plan_id": planId, "access_key_id": "AKIASRC", "secret_access_key": Self.secret], mover: mover)
    }

    func testTwoCopiesByANonAdministratorAreRefusedAtOnce() throws {
        let planId = makePlan(replicas: 2)
        let refused = start(planId)
        XCTAssertEqual(refused.status, 403, refused.text)
        XCTAssertTrue(refused.text.contains("AccessDenied"), refused.text)
        XCTAssertTrue(refused.text.contains("admin:UpdateBucket"), refused.text)
        XCTAssertTrue(refused.text.contains("photos (1 → 2)"), refused.text)
        XCTAssertFalse(refused.text.contains(Self.secret))
        XCTAssertEqual(opened.value.load(ordering: .relaxed), 0, "the source is not opened")
        XCTAssertNil(try gw.metadata.bucket(named: "photos"), "no bucket is created")
        XCTAssertNil(try gw.metadata.migrationRun(id: planId), "no run is recorded")
        XCTAssertEqual(source.reads, 0)
    }

    func testOneCopyByANonAdministratorRuns() throws {
        let planId = makePlan(replicas: 1)
        XCTAssertEqual(start(planId).status, 202)
        XCTAssertEqual(gw.endedRun(planId)["state"] as? String, "done")
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.replicaCount, 1)
    }

    func testACountAnAdministratorSetFirstIsNoObstacle() throws {
        let planId = makePlan(replicas: 2)
        // The mover creates the bucket; an administrator gives it two copies.
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>fi</LocationConstraint></CreateBucketConfiguration>".utf8)
        XCTAssertEqual(gw.send("PUT", "/photos", body: body, accessKey: "AKIDMOVER", secret: "s-mover").status, 200)
        _ = try ReplicaCount.set(bucket: "photos", count: 2, gw.context)
        XCTAssertEqual(start(planId).status, 202)
        let run = gw.endedRun(planId)
        XCTAssertEqual(run["state"] as? String, "done", "\(run)")
        XCTAssertEqual(run["objects_copied"] as? Int, 5)
    }

    func testAnAdministratorRunsTwoCopies() throws {
        let planId = makePlan(replicas: 2)
        // The plan is the mover's tenant's: the root of the same tenant may run it.
        XCTAssertEqual(start(planId, mover: false).status, 202)
        XCTAssertEqual(gw.endedRun(planId)["state"] as? String, "done")
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.replicaCount, 2)
    }

    func testARunNeverLowersATargetsReplicaCount() throws {
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>fi</LocationConstraint></CreateBucketConfiguration>".utf8)
        // Neither an administrator's run (who could lower it) nor the mover's (who could not) does.
        for (mover, prefix) in [(false, "admin-"), (true, "mover-")] {
            let planId = makePlan(replicas: 1, prefix: prefix)
            let target = prefix + "photos"
            let (key, secret) = mover ? ("AKIDMOVER", "s-mover") : (TestGateway.accessKey, TestGateway.secretKey)
            XCTAssertEqual(gw.send("PUT", "/" + target, body: body, accessKey: key, secret: secret).status, 200)
            _ = try ReplicaCount.set(bucket: target, count: 2, gw.context)
            let started = start(planId, mover: mover)
            XCTAssertEqual(started.status, 202, started.text)
            let run = gw.endedRun(planId)
            XCTAssertEqual(run["state"] as? String, "done", "\(run)")
            XCTAssertEqual(run["objects_copied"] as? Int, 5)
            XCTAssertEqual(try gw.metadata.bucket(named: target)?.replicaCount, 2)
            let notes = (run["buckets"] as? [[String: Any]])?.first?["notes"] as? [String]
            XCTAssertEqual(
                notes, ["the bucket keeps its replica-count of 2 (the plan asked for 1): a migration never lowers it"])
        }
    }

    func testTheCheckLooksAtEachTargetsCountNow() throws {
        let snapshot = try MigrationFixtures.snapshot(of: source)
        let mover = gw.context.identities.resolve("AKIDMOVER")!.principal
        let root = gw.context.identities.resolve(TestGateway.accessKey)!.principal
        let p = try gw.context.migrationPlan(for: snapshot, options: .init(constraint: "fi", replicas: 2), by: mover)
        XCTAssertNoThrow(try MigrationRunner.checkReplicaCounts(p, by: root, gw.context))
        XCTAssertThrowsError(try MigrationRunner.checkReplicaCounts(p, by: mover, gw.context)) {
            XCTAssertEqual(($0 as? MigrationError)?.code, .accessDenied)
        }
        // A gateway whose new buckets get two copies anyway needs no change.
        var twoCopies = ReplicationSettings()
        twoCopies.defaultReplicaCount = 2
        let other = TestGateway(
            zones: [
                .init(name: "fi-1", country: "fi", region: "fi-hel"),
                .init(name: "fi-2", country: "fi", region: "fi-hel"),
            ],
            replication: twoCopies)
        XCTAssertNoThrow(try MigrationRunner.checkReplicaCounts(p, by: mover, other.context))
        // Nor does a plan of fewer copies than a target gets: the run keeps the higher count.
        let one = try gw.context.migrationPlan(for: snapshot, options: .init(constraint: "fi", replicas: 1), by: mover)
        XCTAssertNoThrow(try MigrationRunner.checkReplicaCounts(one, by: mover, other.context))
    }
}
