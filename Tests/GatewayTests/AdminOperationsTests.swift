import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import Logging
import XCTest

/// The operations half of the admin API through `AdminAPI.dispatch`: buckets, zones, providers
/// import, replication jobs, agents and workers, failover and placement, each with its answers
/// and its error shapes, over in-memory doubles.
final class AdminOperationsTests: XCTestCase {
    // Two Swedish zones and a Finnish one: `se` places zone-a then zone-b.
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto", kind: "filesystem", location: "/srv/a"),
        .init(name: "zone-b", country: "se", region: "se-got", kind: "filesystem", location: "/srv/b"),
        .init(name: "zone-f", country: "fi", region: "fi-hel", kind: "s3", location: "https://fi.example"),
    ]
    var gw: TestGateway!
    var root: Principal!
    /// An administrator of tenant acme only.
    var acmeAdmin: Principal!
    var acmeUser: UserRecord!

    override func setUp() {
        gw = TestGateway(zones: catalog)
        let rootUser = try! gw.identityStore.user(tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser)!
        root = Principal(tenant: TenantRecord.defaultID, user: rootUser, accessKey: TestGateway.accessKey)
        try! gw.identityStore.createTenant(TenantRecord(id: "acme", displayName: "Acme", createdAt: TestGateway.now))
        let boss = UserRecord(
            tenant: "acme", name: "boss", id: CanonicalID.make(), permissions: PermissionSet(["admin:*": ["acme"]]),
            createdAt: TestGateway.now)
        try! gw.identityStore.createUser(boss)
        acmeAdmin = Principal(tenant: "acme", user: boss, accessKey: "AKIDACME")
        acmeUser = UserRecord(
            tenant: "acme", name: "alice", id: CanonicalID.make(), permissions: PermissionSet(),
            createdAt: TestGateway.now)
        try! gw.identityStore.createUser(acmeUser)
    }

    struct Answer {
        var status: Int
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var code: String? { json["code"] as? String }
        var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    @discardableResult
    func call(
        _ method: String, _ path: String, query: [String: String] = [:], body: String? = nil, as who: Principal? = nil,
        ctx: GatewayContext? = nil
    ) -> Answer {
        let r = AdminRequest(
            method: method, path: path.split(separator: "/").map(String.init), query: query,
            body: Array((body ?? "").utf8), principal: who ?? root, now: TestGateway.now)
        let a = AdminAPI.dispatch(r, ctx ?? gw.context)
        return Answer(status: a.status, body: a.body)
    }

    func createBucket(_ name: String, _ constraint: String) {
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>\(constraint)</LocationConstraint></CreateBucketConfiguration>"
                .utf8)
        XCTAssertEqual(gw.send("PUT", "/\(name)", body: body).status, 200)
    }

    /// A bucket of tenant acme, owned by alice.
    func createAcmeBucket(_ name: String) throws {
        _ = try gw.metadata.createBucket(
            BucketRecord(
                name: TenantRecord.qualifiedBucket(tenant: "acme", name: name), owner: acmeUser.id,
                createdAt: TestGateway.now, locationConstraint: "fi", zones: ["zone-f"], backendBucket: "x",
                tenant: "acme"))
    }

    // MARK: buckets

    func testBucketsOfEveryTenantAreListedWithTheirOwnersAndPlacement() throws {
        createBucket("photos", "se")
        try createAcmeBucket("photos")
        let all = call("GET", "buckets")
        XCTAssertEqual(all.status, 200, all.text)
        let rows = all.items.map { "\($0["tenant"]!)/\($0["name"]!)" }
        XCTAssertEqual(Set(rows), ["default/photos", "acme/photos"])
        let mine = try XCTUnwrap(all.items.first { $0["tenant"] as? String == "default" })
        XCTAssertEqual(mine["owner"] as? String, gw.rootID)
        XCTAssertEqual(mine["owner_user"] as? String, IdentityBootstrap.rootUser)
        XCTAssertEqual(mine["location_constraint"] as? String, "se")
        XCTAssertEqual(mine["zones"] as? [String], ["zone-a", "zone-b"])
        XCTAssertEqual(mine["primary_zone"] as? String, "zone-a")
        XCTAssertEqual(mine["replica_count"] as? Int, 1)
        XCTAssertEqual(mine["created_at"] as? String, "2023-11-14T22:13:20.000Z")
        let theirs = try XCTUnwrap(all.items.first { $0["tenant"] as? String == "acme" })
        XCTAssertEqual(theirs["owner_user"] as? String, "alice")

        let acme = call("GET", "buckets", query: ["tenant": "acme"])
        XCTAssertEqual(acme.items.map { $0["tenant"] as? String }, ["acme"])
        XCTAssertEqual(call("GET", "buckets", query: ["tenant": "nobody"]).status, 404)

        // One per page: the marker leads to the other one, then the end.
        let first = call("GET", "buckets", query: ["limit": "1"])
        XCTAssertEqual(first.items.count, 1)
        let marker = try XCTUnwrap(first.json["next_marker"] as? String)
        let second = call("GET", "buckets", query: ["limit": "1", "marker": marker])
        XCTAssertEqual(second.items.count, 1)
        XCTAssertNil(second.json["next_marker"])
        XCTAssertNotEqual(first.items[0]["tenant"] as? String, second.items[0]["tenant"] as? String)
        XCTAssertEqual(call("GET", "buckets", query: ["limit": "0"]).status, 400)
    }

    func testGatewayWideRoutesAreDeniedToATenantAdministrator() {
        for (method, path, body) in [
            ("GET", "buckets", nil), ("GET", "zones", nil), ("GET", "zones/zone-a", nil),
            ("POST", "zones/zone-a/probe", nil), ("POST", "providers/import", #"{"providers": []}"#),
            ("GET", "replication", nil), ("GET", "replication/jobs", nil),
            ("POST", "replication/retry", #"{"all_dead": true}"#), ("DELETE", "replication/jobs/1", nil),
            ("GET", "agents", nil), ("GET", "workers", nil),
            ("POST", "failover/promote", #"{"bucket": "b", "zone": "zone-a"}"#),
            ("POST", "placement/resolve", "{}"), ("POST", "zones/sweep-uploads", "{}"),
            ("POST", "audit/residency", "{}"), ("GET", "zones/zone-a/backend-buckets", nil),
            ("GET", "zones/zone-a/backend-buckets/b/blobs", nil),
        ] as [(String, String, String?)] {
            let a = call(method, path, body: body, as: acmeAdmin)
            XCTAssertEqual(a.status, 403, "\(method) \(path)")
            XCTAssertEqual(a.code, "AccessDenied", "\(method) \(path)")
        }
    }

    func testABucketsDetailShowsItsPlacementBackendNamesAndObjects() throws {
        createBucket("photos", "se")
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: Array(repeating: 1, count: 10)).status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/b", body: Array(repeating: 2, count: 5)).status, 200)
        let a = call("GET", "tenants/default/buckets/photos")
        XCTAssertEqual(a.status, 200, a.text)
        XCTAssertEqual((a.json["bucket"] as? [String: Any])?["name"] as? String, "photos")
        XCTAssertEqual(a.json["objects"] as? Int, 2)
        XCTAssertEqual(a.json["bytes"] as? Int, 15)
        let placement = try XCTUnwrap(a.json["placement"] as? [[String: Any]])
        XCTAssertEqual(placement.map { $0["zone"] as? String }, ["zone-a", "zone-b"])
        XCTAssertEqual(placement.map { $0["role"] as? String }, ["primary", "allowed"])
        XCTAssertEqual(placement.map { $0["location"] as? String }, ["/srv/a", "/srv/b"])
        let b = try XCTUnwrap(try gw.metadata.bucket(named: "photos"))
        XCTAssertEqual(
            placement.map { $0["backend_bucket"] as? String },
            b.zones.map {
                BackendBucketName.derive(
                    secret: gw.context.installationSecret, tenant: b.namingKey, bucket: b.name, zone: $0)
            })
        XCTAssertEqual(placement[0]["backend_bucket"] as? String, b.backendBucket)
        XCTAssertNil(a.json["objects_queued"])

        let missing = call("GET", "tenants/default/buckets/nothing")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.code, "NotFound")
        XCTAssertEqual(call("GET", "tenants/nobody/buckets/photos").status, 404)
    }

    func testATenantAdministratorSeesItsOwnBucketsOnly() throws {
        createBucket("photos", "se")
        try createAcmeBucket("photos")
        let own = call("GET", "tenants/acme/buckets/photos", as: acmeAdmin)
        XCTAssertEqual(own.status, 200, own.text)
        XCTAssertEqual((own.json["bucket"] as? [String: Any])?["owner_user"] as? String, "alice")
        XCTAssertEqual(call("GET", "tenants/default/buckets/photos", as: acmeAdmin).code, "AccessDenied")
        // The store's name for acme's bucket, "acme/photos" (one path segment, %2F-encoded), is
        // not a name inside the default tenant.
        let r = AdminRequest(
            method: "GET", path: ["tenants", "default", "buckets", "acme/photos"], principal: root, now: TestGateway.now
        )
        XCTAssertEqual(AdminAPI.dispatch(r, gw.context).status, 404)
    }

    func testPatchingABucketSetsItsOwnerAndReplicaCount() throws {
        createBucket("photos", "se")
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: [1, 2, 3]).status, 200)
        XCTAssertTrue(try gw.metadata.jobs(bucket: "photos", key: nil, limit: 10).isEmpty)
        let a = call("PATCH", "tenants/default/buckets/photos", body: #"{"replica_count": 2}"#)
        XCTAssertEqual(a.status, 200, a.text)
        XCTAssertEqual((a.json["bucket"] as? [String: Any])?["replica_count"] as? Int, 2)
        XCTAssertEqual(a.json["objects_queued"] as? Int, 1)
        XCTAssertEqual(
            (a.json["placement"] as? [[String: Any]])?.map { $0["role"] as? String }, ["primary", "replica"])
        let jobs = try gw.metadata.jobs(bucket: "photos", key: nil, limit: 10)
        XCTAssertEqual(jobs.map(\.zone), ["zone-b"])
        XCTAssertEqual(jobs.map(\.kind), [.replicate])

        // Three copies over two zones is refused as the S3 path refuses it; nothing changes.
        let tooMany = call("PATCH", "tenants/default/buckets/photos", body: #"{"replica_count": 3, "owner": "root"}"#)
        XCTAssertEqual(tooMany.status, 409, "the placement, not the request, cannot hold them")
        XCTAssertEqual(tooMany.code, "InvalidArgument")
        XCTAssertTrue((tooMany.json["message"] as? String ?? "").contains("exceeds the 2 location(s)"), tooMany.text)
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.replicaCount, 2)
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.owner, gw.rootID)
        XCTAssertEqual(call("PATCH", "tenants/default/buckets/photos", body: #"{"replica_count": 0}"#).status, 400)
        XCTAssertEqual(call("PATCH", "tenants/default/buckets/photos", body: #"{"replica_count": 1001}"#).status, 400)

        let u = UserRecord(
            tenant: "default", name: "carol", id: CanonicalID.make(), permissions: PermissionSet(),
            createdAt: TestGateway.now)
        try gw.identityStore.createUser(u)
        let owned = call("PATCH", "tenants/default/buckets/photos", body: #"{"owner": "carol"}"#)
        XCTAssertEqual(owned.status, 200, owned.text)
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.owner, u.id)
        XCTAssertEqual((owned.json["bucket"] as? [String: Any])?["owner_user"] as? String, "carol")
        // A user of another tenant is no owner for it.
        let alien = call("PATCH", "tenants/default/buckets/photos", body: #"{"owner": "alice"}"#)
        XCTAssertEqual(alien.status, 404)
        XCTAssertEqual(alien.code, "NotFound")
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.owner, u.id)

        // Nothing named, nothing changed: the bucket as it is.
        let nothing = call("PATCH", "tenants/default/buckets/photos", body: #"{"owner": null}"#)
        XCTAssertEqual(nothing.status, 200, nothing.text)
        XCTAssertEqual((nothing.json["bucket"] as? [String: Any])?["owner_user"] as? String, "carol")
        XCTAssertNil(nothing.json["objects_queued"])
        let bad = call("PATCH", "tenants/default/buckets/photos", body: "{not json")
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.code, "InvalidRequest")
        XCTAssertEqual(call("PATCH", "tenants/default/buckets/photos", body: #"{"replica_count": "2"}"#).status, 400)
        XCTAssertEqual(call("PATCH", "tenants/default/buckets/none", body: #"{"replica_count": 1}"#).status, 404)
        XCTAssertEqual(call("PUT", "tenants/default/buckets/photos", body: "{}").status, 405)
    }

    // MARK: zones

    func testZonesAreListedWithTheirHealth() throws {
        try gw.metadata.recordZoneHealth(
            ZoneHealth(
                zone: "zone-b", state: .down, lastError: "connection refused", latency: 0,
                checkedAt: TestGateway.now - 30, consecutiveFailures: 3))
        let a = call("GET", "zones")
        XCTAssertEqual(a.status, 200, a.text)
        XCTAssertEqual(a.items.map { $0["name"] as? String }, ["zone-a", "zone-b", "zone-f"])
        XCTAssertEqual(a.items.map { $0["is_default"] as? Bool }, [true, false, false])
        XCTAssertEqual(a.items.map { $0["state"] as? String }, ["unknown", "down", "unknown"])
        XCTAssertEqual(a.items[1]["last_error"] as? String, "connection refused")
        XCTAssertEqual(a.items[1]["checked_at"] as? String, "2023-11-14T22:12:50.000Z")
        XCTAssertNil(a.items[0]["checked_at"])
        XCTAssertEqual(a.items[2]["kind"] as? String, "s3")
        XCTAssertEqual(a.items[2]["location"] as? String, "https://fi.example")
        let page = call("GET", "zones", query: ["limit": "2"])
        XCTAssertEqual(page.items.count, 2)
        XCTAssertEqual(page.json["next_marker"] as? String, "zone-b")
        XCTAssertEqual(
            call("GET", "zones", query: ["limit": "2", "marker": "zone-b"]).items.map { $0["name"] as? String },
            ["zone-f"])

        let one = call("GET", "zones/zone-b")
        XCTAssertEqual(one.json["country"] as? String, "se")
        XCTAssertEqual(one.json["consecutive_failures"] as? Int, 3)
        XCTAssertEqual(call("GET", "zones/nowhere").status, 404)
    }

    func testAProbeRunsNowAndRecordsWhatItFound() throws {
        let ok = call("POST", "zones/zone-a/probe")
        XCTAssertEqual(ok.status, 200, ok.text)
        XCTAssertEqual(ok.json["ok"] as? Bool, true)
        XCTAssertEqual(ok.json["error"] as? String, "")
        XCTAssertEqual((ok.json["zone"] as? [String: Any])?["state"] as? String, "healthy")
        XCTAssertEqual(try gw.metadata.zoneHealth().map(\.zone), ["zone-a"], "only the zone asked about is probed")

        gw.zones["zone-b"]!.failing = true
        let failed = call("POST", "zones/zone-b/probe")
        XCTAssertEqual(failed.status, 200)
        XCTAssertEqual(failed.json["ok"] as? Bool, false)
        XCTAssertFalse((failed.json["error"] as? String ?? "").isEmpty)
        XCTAssertEqual(failed.json["latency"] as? Double, 0)
        XCTAssertEqual((failed.json["zone"] as? [String: Any])?["consecutive_failures"] as? Int, 1)
        XCTAssertEqual(try gw.metadata.zoneHealth().first { $0.zone == "zone-b" }?.state, .degraded)

        XCTAssertEqual(call("POST", "zones/nowhere/probe").status, 404)
        XCTAssertEqual(call("GET", "zones/zone-a/probe").status, 405)
    }

    // MARK: providers import

    func context(configPath: String?) -> GatewayContext {
        let c = gw.context
        return GatewayContext(
            metadata: c.metadata, zones: c.zones, catalog: c.catalog, identities: c.identities, clock: c.clock,
            installationSecret: c.installationSecret, logger: c.logger, replication: c.replication,
            admin: AdminSettings(configPath: configPath))
    }

    func testProvidersImportIsADryRunUnlessAppliedAndNeverShowsSecrets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("admin-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("s3gw.toml").path
        let original = """
            [storage]
            default_zone = "local-1"

            [[zones]]
            name = "local-1"
            country = "se"
            region = "se-sto"
            kind = "filesystem"
            path = "\(dir.path)/zones"

            """
        try original.write(toFile: config, atomically: true, encoding: .utf8)
        chmod(config, 0o600)
        let ctx = context(configPath: config)
        let body = """
            {"providers": [{"name": "fi-1", "country": "fi", "region": "fi-hel", "endpoint": "https://s3.fi.example",
              "access_key": "AKIDPROVIDER", "secret_key": "provider-secret-xyz", "path_style": false}]}
            """
        let dry = call("POST", "providers/import", body: body, ctx: ctx)
        XCTAssertEqual(dry.status, 200, dry.text)
        XCTAssertEqual(dry.json["applied"] as? Bool, false)
        let zones = try XCTUnwrap(dry.json["zones"] as? [[String: Any]])
        XCTAssertEqual(zones.map { $0["name"] as? String }, ["fi-1"])
        XCTAssertEqual(zones[0]["endpoint"] as? String, "https://s3.fi.example")
        XCTAssertEqual(zones[0]["path_style"] as? Bool, false)
        XCTAssertEqual(zones[0]["verify_tls"] as? Bool, true)
        XCTAssertFalse(dry.text.contains("provider-secret-xyz"))
        XCTAssertFalse(dry.text.contains("AKIDPROVIDER"))
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), original, "a dry run writes nothing")

        let applied = call(
            "POST", "providers/import",
            body: body.replacingOccurrences(of: "{\"providers\"", with: "{\"apply\": true, \"providers\""),
            ctx: ctx)
        XCTAssertEqual(applied.status, 200, applied.text)
        XCTAssertEqual(applied.json["applied"] as? Bool, true)
        XCTAssertEqual(applied.json["reload_required"] as? Bool, true)
        XCTAssertFalse(applied.text.contains("provider-secret-xyz"))
        let written = try GatewayConfig.load(path: config)
        XCTAssertEqual(written.zones.map(\.name), ["local-1", "fi-1"])
        XCTAssertEqual(written.zones[1].secretKey, "provider-secret-xyz")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as? Int, 0o600)

        let before = try String(contentsOfFile: config, encoding: .utf8)
        // A zone that exists conflicts with the configuration; a row lacking a field, an unknown
        // field, an endpoint with a path or credentials, a number for a string: malformed.
        let again = call("POST", "providers/import", body: body, ctx: ctx)
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.code, "Conflict")
        XCTAssertTrue(again.text.contains("fi-1"), again.text)
        let row = #""name": "se-2", "country": "se", "region": "se-sto", "access_key": "AK", "secret_key": "SK-secret""#
        for (bad, why) in [
            (#"{"providers": [{"name": "x"}]}"#, "missing"),
            (#"{"providers": [{\#(row), "endpoint": "https://se.example", "colour_name": "red"}]}"#, "colour_name"),
            (#"{"providers": [{\#(row), "endpoint": "https://se.example/bucket"}]}"#, "endpoint"),
            (#"{"providers": [{\#(row), "endpoint": "https://ak:sk@se.example"}]}"#, "endpoint"),
            (#"{"providers": [{\#(row), "endpoint": "https://se.example", "verify_tls": "maybe"}]}"#, "verify_tls"),
            (#"{"providers": [{\#(row), "endpoint": 7}]}"#, "wrong type"),
            (#"{"providers": []}"#, "no providers"),
            ("{}", "providers"),
        ] {
            let a = call("POST", "providers/import", body: bad, ctx: ctx)
            XCTAssertEqual(a.status, 400, bad)
            XCTAssertEqual(a.code, "InvalidRequest", bad)
            XCTAssertTrue(a.text.contains(why), a.text)
            XCTAssertFalse(a.text.contains("SK-secret"), a.text)
        }
        let twice = call(
            "POST", "providers/import",
            body:
                #"{"providers": [{\#(row), "endpoint": "http://se.example:9000/"}, {\#(row), "endpoint": "https://x"}]}"#,
            ctx: ctx)
        XCTAssertEqual(twice.status, 409, twice.text)
        let switches = call(
            "POST", "providers/import",
            body:
                #"{"providers": [{\#(row), "endpoint": "http://se.example:9000/", "verify_tls": "FALSE", "storage_class": null}]}"#,
            ctx: ctx)
        XCTAssertEqual(switches.status, 200, switches.text)
        XCTAssertEqual((switches.json["zones"] as? [[String: Any]])?.first?["verify_tls"] as? Bool, false)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), before)

        // Without a configuration file there is nothing to import into.
        XCTAssertEqual(call("POST", "providers/import", body: body).status, 409)
    }

    // MARK: replication

    /// Two objects with a replica each queued (zone-b), one job then dead-lettered and one held.
    func queueJobs() throws -> (dead: ReplicationJob, running: ReplicationJob) {
        createBucket("photos", "se")
        XCTAssertEqual(call("PATCH", "tenants/default/buckets/photos", body: #"{"replica_count": 2}"#).status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: [1]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/b", body: [2]).status, 200)
        let claimed = try gw.metadata.claimJobs(owner: "host-1:42:0", now: TestGateway.now, lease: 60, limit: 2)
        XCTAssertEqual(claimed.count, 2)
        try gw.metadata.failJob(
            id: claimed[0].id, owner: "host-1:42:0", error: "zone-b refused", retryAt: nil, now: TestGateway.now)
        return (claimed[0], claimed[1])
    }

    func testReplicationStatusAndJobsAnswerAsTheCLIShowsThem() throws {
        let (dead, running) = try queueJobs()
        let status = call("GET", "replication")
        XCTAssertEqual(status.status, 200, status.text)
        let queue = try XCTUnwrap(status.json["queue"] as? [String: Any])
        XCTAssertEqual(queue["dead"] as? Int, 1)
        XCTAssertEqual(queue["running"] as? Int, 1)
        XCTAssertEqual(queue["pending"] as? Int, 0)
        XCTAssertEqual(queue["rate_window_minutes"] as? Int, QueueStats.window)
        XCTAssertEqual((status.json["objects"] as? [[String: Any]])?.count, 0)

        let one = call("GET", "replication", query: ["bucket": "photos", "key": "a"])
        let objects = try XCTUnwrap(one.json["objects"] as? [[String: Any]])
        XCTAssertEqual(objects.map { $0["key"] as? String }, ["a"])
        XCTAssertEqual(objects[0]["tenant"] as? String, "default")
        XCTAssertEqual(
            (objects[0]["copies"] as? [[String: Any]])?.map { "\($0["zone"]!)=\($0["state"]!)" },
            ["zone-a=primary", "zone-b=\(dead.key == "a" ? "failed" : "pending")"])
        XCTAssertEqual((call("GET", "replication", query: ["key": "a"]).json["objects"] as? [Any])?.count, 0)
        XCTAssertEqual(call("GET", "replication", query: ["bucket": "none"]).status, 404)
        XCTAssertEqual(call("GET", "replication", query: ["tenant": "nobody"]).status, 404)

        let all = call("GET", "replication/jobs")
        XCTAssertEqual(all.items.map { $0["id"] as? Int }, [Int(dead.id), Int(running.id)])
        let deadOnly = call("GET", "replication/jobs", query: ["state": "dead"])
        XCTAssertEqual(deadOnly.items.map { $0["id"] as? Int }, [Int(dead.id)])
        XCTAssertEqual(deadOnly.items[0]["last_error"] as? String, "zone-b refused")
        XCTAssertEqual(deadOnly.items[0]["lease_owner"] as? String, "")
        let runningOnly = call("GET", "replication/jobs", query: ["state": "running"])
        XCTAssertEqual(runningOnly.items[0]["lease_owner"] as? String, "host-1:42:0")
        XCTAssertEqual(
            call("GET", "replication/jobs", query: ["bucket": "photos", "key": running.key]).items.map {
                $0["id"] as? Int
            }, [Int(running.id)])
        let paged = call("GET", "replication/jobs", query: ["limit": "1"])
        XCTAssertEqual(paged.json["next_marker"] as? String, String(dead.id))
        XCTAssertEqual(
            call("GET", "replication/jobs", query: ["limit": "1", "marker": String(dead.id)]).items.map {
                $0["id"] as? Int
            }, [Int(running.id)])
        // A key in any bucket; a tenant's buckets.
        XCTAssertEqual(
            call("GET", "replication/jobs", query: ["key": running.key]).items.map { $0["id"] as? Int },
            [Int(running.id)])
        XCTAssertEqual(call("GET", "replication/jobs", query: ["tenant": "default"]).items.count, 2)
        XCTAssertEqual(call("GET", "replication/jobs", query: ["tenant": "acme"]).items.count, 0)
        XCTAssertEqual(call("GET", "replication/jobs", query: ["state": "lost"]).status, 400)
        for marker in ["x", "-1", "1234567890123456789"] {
            XCTAssertEqual(call("GET", "replication/jobs", query: ["marker": marker]).status, 400, marker)
        }
    }

    func testDeadJobsAreRetriedAndJobsNotRunningCancelled() throws {
        let (dead, running) = try queueJobs()
        XCTAssertEqual(call("POST", "replication/retry", body: "{}").status, 400, "neither ids nor all_dead")
        XCTAssertEqual(call("POST", "replication/retry", body: #"{"ids": []}"#).status, 400)
        XCTAssertEqual(
            call("POST", "replication/retry", body: #"{"ids": [\#(dead.id)], "all_dead": true}"#).status, 400,
            "both")
        let none = call("POST", "replication/retry", body: #"{"ids": [\#(running.id)]}"#)
        XCTAssertEqual(none.json["retried"] as? Int, 0, "only dead jobs are retried")
        let retried = call("POST", "replication/retry", body: #"{"ids": [\#(dead.id)]}"#)
        XCTAssertEqual(retried.status, 200, retried.text)
        XCTAssertEqual(retried.json["retried"] as? Int, 1)
        XCTAssertEqual(try gw.metadata.queueStats(now: TestGateway.now).dead, 0)
        XCTAssertEqual(call("POST", "replication/retry", body: #"{"all_dead": true}"#).json["retried"] as? Int, 0)

        let busy = call("DELETE", "replication/jobs/\(running.id)")
        XCTAssertEqual(busy.status, 409)
        XCTAssertEqual(busy.code, "Conflict")
        XCTAssertEqual(call("DELETE", "replication/jobs/\(dead.id)").status, 204)
        XCTAssertEqual(call("DELETE", "replication/jobs/\(dead.id)").status, 404)
        XCTAssertEqual(call("DELETE", "replication/jobs/nine").status, 404)
        XCTAssertEqual(try gw.metadata.jobs(bucket: nil, key: nil, limit: 10).map(\.id), [running.id])
    }

    func testTheRemovalOfALockedVersionsCopyCannotBeCancelled() throws {
        // A copy dropped by a replica-count lowering while its version was unlocked, then a hold:
        // the replicator defers the removal; cancelled, the copy would be left to the orphan sweep.
        createBucket("vault", "se")
        try gw.metadata.setVersioning(bucket: "vault", .enabled)
        try gw.metadata.setObjectLock(bucket: "vault", ObjectLockConfig())
        XCTAssertEqual(call("PATCH", "tenants/default/buckets/vault", body: #"{"replica_count": 2}"#).status, 200)
        XCTAssertEqual(gw.send("PUT", "/vault/a", body: [1]).status, 200)
        let copy = try XCTUnwrap(
            try gw.metadata.claimJobs(owner: "host-1:42:0", now: TestGateway.now, lease: 60, limit: 1).first)
        XCTAssertTrue(
            try gw.metadata.completeReplica(
                bucket: copy.bucket, key: "a", generation: copy.generation, zone: copy.zone, blob: "copy-1"))
        try gw.metadata.finishJob(id: copy.id, owner: "host-1:42:0", now: TestGateway.now)
        XCTAssertEqual(call("PATCH", "tenants/default/buckets/vault", body: #"{"replica_count": 1}"#).status, 200)
        let removal = try XCTUnwrap(
            try gw.metadata.jobs(bucket: copy.bucket, key: "a", limit: 10).first { $0.kind == .removeBlob })
        XCTAssertEqual(removal.blob, "copy-1")
        _ = try gw.metadata.changeLock(
            bucket: copy.bucket, key: "a", versionId: nil, .legalHold(true), bypassGovernance: false,
            now: TestGateway.now)

        let refused = call("DELETE", "replication/jobs/\(removal.id)")
        XCTAssertEqual(refused.status, 409, refused.text)
        XCTAssertTrue(refused.text.contains("locked"), refused.text)
        XCTAssertEqual(try gw.metadata.jobs(bucket: copy.bucket, key: "a", limit: 10).map(\.id), [removal.id])
        // Released, the removal may be cancelled (its copy then is an orphan like any other).
        _ = try gw.metadata.changeLock(
            bucket: copy.bucket, key: "a", versionId: nil, .legalHold(false), bypassGovernance: false,
            now: TestGateway.now)
        XCTAssertEqual(call("DELETE", "replication/jobs/\(removal.id)").status, 204)
    }

    // MARK: agents and workers

    func testAgentsAndWorkersAreAliveWhileTheirBeatsAreRecent() throws {
        let (_, running) = try queueJobs()
        try Heartbeat(
            role: .agent, host: "host-1", pid: 42, startedAt: TestGateway.now - 100, beatAt: TestGateway.now - 2,
            tasks: [Heartbeat.Task(name: "scrub", since: TestGateway.now - 1)]
        ).record(gw.metadata)
        try Heartbeat(role: .agent, host: "host-2", pid: 7, startedAt: 0, beatAt: TestGateway.now - 60).record(
            gw.metadata)
        try Heartbeat(
            role: .worker, host: "host-1", pid: 43, startedAt: TestGateway.now - 100, beatAt: TestGateway.now - 1,
            requestsServed: 120, requestsPerSecond: 2.5, inFlight: 1
        ).record(gw.metadata)

        let agents = call("GET", "agents")
        XCTAssertEqual(agents.status, 200, agents.text)
        XCTAssertEqual(agents.items.map { "\($0["host"]!):\($0["pid"]!)" }, ["host-1:42", "host-2:7"])
        XCTAssertEqual(agents.items.map { $0["alive"] as? Bool }, [true, false])
        XCTAssertEqual((agents.items[0]["tasks"] as? [[String: Any]])?.map { $0["name"] as? String }, ["scrub"])
        XCTAssertEqual((agents.items[0]["jobs"] as? [[String: Any]])?.map { $0["id"] as? Int }, [Int(running.id)])
        XCTAssertEqual((agents.items[1]["jobs"] as? [[String: Any]])?.count, 0)
        XCTAssertEqual((agents.json["queue"] as? [String: Any])?["running"] as? Int, 1)
        XCTAssertEqual(call("GET", "agents", query: ["limit": "1"]).json["next_marker"] as? String, "host-1:42")

        let workers = call("GET", "workers")
        XCTAssertEqual(workers.items.count, 1)
        XCTAssertEqual(workers.items[0]["alive"] as? Bool, true)
        XCTAssertEqual(workers.items[0]["requests_served"] as? Int, 120)
        XCTAssertEqual(workers.items[0]["requests_per_second"] as? Double, 2.5)
        XCTAssertEqual(workers.items[0]["in_flight"] as? Int, 1)
    }

    func testAHeartbeatWriterRecordsItsRateAndRemovesItsRowWhenStopped() throws {
        final class Clock: GatewayCore.Clock, @unchecked Sendable {
            var t = TestGateway.now
            func now() -> Double { t }
        }
        let clock = Clock()
        let served = Counter()
        let writer = HeartbeatWriter(role: .worker, metadata: gw.metadata, clock: clock) {
            HeartbeatWriter.Snapshot(served: served.value)
        }
        writer.beat()
        served.value = 50
        clock.t += 5
        let h = writer.beat()
        XCTAssertEqual(h.requestsServed, 50)
        XCTAssertEqual(h.requestsPerSecond, 10)
        XCTAssertEqual(try Heartbeat.all(.worker, gw.metadata), [h])
        writer.stop()
        XCTAssertEqual(try Heartbeat.all(.worker, gw.metadata), [])
        writer.beat()
        XCTAssertEqual(try Heartbeat.all(.worker, gw.metadata), [], "no beat after stop")
    }

    final class Counter: @unchecked Sendable {
        var value = 0
    }

    // MARK: failover and placement

    func testPromotingAZoneOfThePlacementMovesThePrimary() throws {
        createBucket("photos", "se")
        let a = call("POST", "failover/promote", body: #"{"bucket": "photos", "zone": "zone-b"}"#)
        XCTAssertEqual(a.status, 200, a.text)
        XCTAssertEqual(a.json["primary_zone"] as? String, "zone-b")
        XCTAssertEqual(a.json["previous_primary_zone"] as? String, "zone-a")
        XCTAssertEqual(a.json["changed"] as? Bool, true)
        XCTAssertEqual(a.json["zones"] as? [String], ["zone-b", "zone-a"])
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.primaryZone, "zone-b")
        let same = call(
            "POST", "failover/promote", body: #"{"tenant": "default", "bucket": "photos", "zone": "zone-b"}"#)
        XCTAssertEqual(same.json["changed"] as? Bool, false)

        // Finland is outside the bucket's constraint: refused with the CLI's reason.
        let outside = call("POST", "failover/promote", body: #"{"bucket": "photos", "zone": "zone-f"}"#)
        XCTAssertEqual(outside.status, 409)
        XCTAssertTrue((outside.json["message"] as? String ?? "").contains("not in bucket photos's placement"))
        XCTAssertEqual(try gw.metadata.bucket(named: "photos")?.zones, ["zone-b", "zone-a"])

        try gw.metadata.recordZoneHealth(
            ZoneHealth(
                zone: "zone-a", state: .down, lastError: "gone", latency: 0, checkedAt: TestGateway.now,
                consecutiveFailures: 3))
        // A fresh context: the health cache of the fixed clock's one did not expire.
        let later = context(configPath: nil)
        let down = call("POST", "failover/promote", body: #"{"bucket": "photos", "zone": "zone-a"}"#, ctx: later)
        XCTAssertEqual(down.status, 409)
        XCTAssertTrue((down.json["message"] as? String ?? "").contains("marked down"), down.text)
        XCTAssertEqual(
            call(
                "POST", "failover/promote", body: #"{"bucket": "photos", "zone": "zone-a", "force": true}"#, ctx: later
            )
            .json["primary_zone"] as? String, "zone-a")

        XCTAssertEqual(call("POST", "failover/promote", body: #"{"bucket": "none", "zone": "zone-a"}"#).status, 404)
        XCTAssertEqual(
            call("POST", "failover/promote", body: #"{"tenant": "acme", "bucket": "photos", "zone": "zone-a"}"#).status,
            404)
        XCTAssertEqual(call("POST", "failover/promote", body: #"{"bucket": "photos"}"#).status, 400)
    }

    func testPlacementIsResolvedAsCreateBucketWouldWithoutCreatingAnything() throws {
        let a = call("POST", "placement/resolve", body: #"{"location_constraint": "se,fi", "replica_count": 2}"#)
        XCTAssertEqual(a.status, 200, a.text)
        XCTAssertEqual(a.json["zones"] as? [String], ["zone-a", "zone-f", "zone-b"])
        XCTAssertEqual(a.json["primary_zone"] as? String, "zone-a")
        XCTAssertEqual(a.json["replica_zones"] as? [String], ["zone-f"])
        XCTAssertEqual(a.json["replica_count"] as? Int, 2)
        XCTAssertEqual(a.json["countries"] as? [String], ["fi", "se"])

        // Healthy zones come first, as at CreateBucket.
        try gw.metadata.recordZoneHealth(
            ZoneHealth(
                zone: "zone-a", state: .down, lastError: "gone", latency: 0, checkedAt: TestGateway.now,
                consecutiveFailures: 3))
        XCTAssertEqual(
            call("POST", "placement/resolve", body: #"{"location_constraint": "se"}"#).json["zones"] as? [String],
            ["zone-b", "zone-a"])
        let none = call("POST", "placement/resolve", body: "{}")
        XCTAssertEqual(none.json["zones"] as? [String], ["zone-a"])
        XCTAssertEqual(none.json["replica_count"] as? Int, 1)

        let bad = call("POST", "placement/resolve", body: #"{"location_constraint": "se,mars"}"#)
        XCTAssertEqual(bad.status, 409)
        XCTAssertEqual(bad.code, "InvalidLocationConstraint")
        let s3 = gw.send(
            "PUT", "/never",
            body: Array(
                "<CreateBucketConfiguration><LocationConstraint>se,mars</LocationConstraint></CreateBucketConfiguration>"
                    .utf8))
        XCTAssertEqual(s3.errorCode, "InvalidLocationConstraint")
        XCTAssertTrue(s3.text.contains(bad.json["message"] as? String ?? "?"), "the same reason as CreateBucket")
        let tooMany = call("POST", "placement/resolve", body: #"{"location_constraint": "fi", "replica_count": 2}"#)
        XCTAssertEqual(tooMany.status, 409)
        XCTAssertEqual(tooMany.code, "InvalidArgument")
        XCTAssertEqual(call("POST", "placement/resolve", body: #"{"replica_count": 0}"#).status, 400)
        XCTAssertEqual(call("POST", "placement/resolve", body: #"{"location_constraint": 5}"#).status, 400)

        XCTAssertTrue(try gw.metadata.allBuckets(after: "", limit: 10).isEmpty)
        XCTAssertTrue(gw.zones.values.allSatisfy { (try? $0.listBackendBuckets())?.isEmpty ?? false })
    }

    // MARK: maintenance

    func testARepairReportsWhatItFoundInTheZones() throws {
        createBucket("photos", "se")
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: [1, 2, 3]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/b", body: [4]).status, 200)
        let a = try XCTUnwrap(try gw.metadata.object(bucket: "photos", key: "a"))
        try gw.zones["zone-a"]!.deleteBlob(backendBucket: "", blob: a.blob)
        let r = call("POST", "tenants/default/buckets/photos/repair", body: "{}")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.json["checked"] as? Int, 2)
        XCTAssertEqual(r.json["lost"] as? Int, 1)
        let objects = try XCTUnwrap(r.json["objects"] as? [[String: Any]])
        XCTAssertEqual(objects.map { $0["key"] as? String }, ["a"], "only what has something to report")
        XCTAssertEqual(objects[0]["lost"] as? Bool, true)
        XCTAssertFalse((objects[0]["notes"] as? [String] ?? []).isEmpty)
        XCTAssertEqual(
            call("POST", "tenants/default/buckets/photos/repair", body: #"{"key": "b"}"#).json["checked"] as? Int, 1)
        XCTAssertEqual(call("POST", "tenants/default/buckets/photos/repair", body: #"{"key": "zz"}"#).status, 404)
        XCTAssertEqual(call("POST", "tenants/default/buckets/none/repair", body: "{}").status, 404)
        XCTAssertEqual(
            call("POST", "tenants/default/buckets/photos/repair", body: "{}", as: acmeAdmin).code, "AccessDenied")
    }

    func testTheSweepAndTheAuditRunOnRequest() throws {
        createBucket("photos", "se")
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: [1, 2, 3]).status, 200)
        let swept = call("POST", "zones/sweep-uploads", body: #"{"older_than": 0}"#)
        XCTAssertEqual(swept.status, 200, swept.text)
        XCTAssertEqual(swept.json["aborted"] as? Int, 0)
        XCTAssertEqual(call("POST", "zones/sweep-uploads", body: #"{"older_than": -1}"#).status, 400)
        // A concrete path is matched before a templated one (as OpenAPI matches them): this is
        // the sweep, whose only method is POST, not a zone called so.
        XCTAssertEqual(call("GET", "zones/sweep-uploads").status, 405)

        let b = try XCTUnwrap(try gw.metadata.bucket(named: "photos"))
        gw.zones["zone-a"]!.plant([9, 9], backendBucket: b.backendBucket, at: TestGateway.now - 200_000)
        let audit = call("POST", "audit/residency", body: "{}")
        XCTAssertEqual(audit.status, 200, audit.text)
        XCTAssertEqual(audit.json["format"] as? String, "s3gw-residency-audit/1")
        let summary = try XCTUnwrap(audit.json["summary"] as? [String: Any])
        XCTAssertEqual(summary["buckets"] as? Int, 1)
        XCTAssertEqual(summary["orphans"] as? Int, 1)
        XCTAssertEqual(summary["orphans_removed"] as? Int, 0)
        XCTAssertEqual(call("POST", "audit/residency", body: #"{"older_than": -5}"#).status, 400)
    }

    func testWhatAZoneHoldsIsListedFromTheZoneItself() throws {
        createBucket("photos", "se")
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: [1, 2, 3]).status, 200)
        let b = try XCTUnwrap(try gw.metadata.bucket(named: "photos"))
        let buckets = call("GET", "zones/zone-a/backend-buckets")
        XCTAssertEqual(buckets.status, 200, buckets.text)
        XCTAssertEqual(buckets.items.map { $0["name"] as? String }, [b.backendBucket])
        let blobs = call("GET", "zones/zone-a/backend-buckets/\(b.backendBucket)/blobs")
        XCTAssertEqual(blobs.status, 200, blobs.text)
        let o = try XCTUnwrap(try gw.metadata.object(bucket: "photos", key: "a"))
        XCTAssertEqual(blobs.items.map { $0["id"] as? String }, [o.blob])
        XCTAssertEqual(blobs.items.map { $0["size"] as? Int }, [3])
        // Only names the gateway could have given are looked up: no path out of the zone.
        let r = AdminRequest(
            method: "GET", path: ["zones", "zone-a", "backend-buckets", "../../etc", "blobs"], principal: root,
            now: TestGateway.now)
        XCTAssertEqual(AdminAPI.dispatch(r, gw.context).status, 404)
        XCTAssertEqual(call("GET", "zones/nowhere/backend-buckets").status, 404)
        gw.zones["zone-b"]!.failing = true
        XCTAssertEqual(call("GET", "zones/zone-b/backend-buckets").status, 503)
    }
}
