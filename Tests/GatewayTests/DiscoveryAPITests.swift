import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// The discovery API through S3Gateway.handle with signed requests: jobs run on their own thread
/// against an in-memory source account, progress and cancel go through the job rows, snapshots
/// are listed, shown, streamed and deleted, and the pasted credentials appear in no answer, no
/// row and no file.
final class DiscoveryAPITests: XCTestCase {
    static let endpoint = "http://127.0.0.1:9000"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYDISCOVERYSECRET"
    static let token = "FwoGZXIvYXdzEDISCOVERYSESSIONTOKEN/+=="

    var dir: URL!
    var source: GatedSource!
    var gw: STSGateway!
    /// Every connection the connector made (refused endpoints make none).
    let connections = Connections()

    final class Connections: Sendable {
        private let list = Mutex<[String]>([])
        func add(_ e: String) { list.withLock { $0.append(e) } }
        var all: [String] { list.withLock { $0 } }
    }
    /// Every answer the tests received, grepped for the secrets at the end.
    var answers: [String] = []

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("disc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        source = GatedSource(InventoryRunnerTests.account(pageSize: 50))
        try makeGateway(maxJobs: 2)
    }

    override func tearDownWithError() throws {
        source?.release()
        // Let job threads end before the directory goes.
        if let jobs = gw?.context.discovery { jobs.drain(timeout: 10) }
        try? FileManager.default.removeItem(at: dir)
    }

    func makeGateway(maxJobs: Int) throws {
        let source = self.source!
        let connections = self.connections
        let root = dir.appendingPathComponent("snapshots")
        gw = STSGateway { store, clock in
            DiscoveryJobs(
                store: store, files: SnapshotFiles(root: root),
                connector: { spec throws(SourceError) in
                    guard spec.endpoint == Self.endpoint else { throw .endpointNotAllowed(spec.endpoint) }
                    connections.add(spec.endpoint)
                    return source
                }, settings: DiscoverySettings(maxJobs: maxJobs), clock: clock, logger: .init(label: "test"))
        }
        try gw.tenant("acme")
    }

    /// A user of `tenant` with one permanent key.
    func user(_ name: String, tenant: String = "acme", _ permissions: [String: [String]]) throws -> STSGateway.Key {
        try gw.identityStore.createUser(
            UserRecord(
                tenant: tenant, name: name, id: CanonicalID.make(), permissions: PermissionSet(permissions),
                createdAt: TestGateway.now))
        let key = STSGateway.Key(accessKey: "AKID" + name.uppercased().filter(\.isLetter), secret: "secret-of-" + name)
        try gw.identityStore.createCredential(
            CredentialRecord(
                accessKey: key.accessKey, tenant: tenant, user: name,
                sealedSecret: TestGateway.box.seal(key.secret, context: key.accessKey), createdAt: TestGateway.now),
            maxKeysPerUser: 2)
        return key
    }

    static let discoverer: [String: [String]] = ["discovery:*": ["acme"], "sts:GetSessionToken": ["*"]]

    @discardableResult
    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil, as key: STSGateway.Key)
        -> TestGateway.Response
    {
        let bytes = body.map { Array(try! JSONSerialization.data(withJSONObject: $0)) } ?? []
        let r = gw.send(method, "/api/" + path, body: bytes, key: key)
        answers.append(r.text + r.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n"))
        return r
    }

    func json(_ r: TestGateway.Response) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
    }

    func errorCode(_ r: TestGateway.Response) -> String? {
        (json(r)["error"] as? [String: Any])?["code"] as? String
    }

    var startBody: [String: Any] {
        [
            "endpoint": Self.endpoint, "region": "us-east-1", "access_key_id": "AKIASOURCEACCOUNT",
            "secret_access_key": Self.secret, "session_token": Self.token, "sanitization": "full", "prefix_depth": 2,
        ]
    }

    func start(as key: STSGateway.Key, _ body: [String: Any]? = nil) throws -> String {
        let r = call("POST", "discovery/jobs", body ?? startBody, as: key)
        XCTAssertEqual(r.status, 202, r.text)
        return try XCTUnwrap(json(r)["id"] as? String, r.text)
    }

    /// Polls the job until `predicate` holds (a deadline, never a fixed sleep).
    @discardableResult
    func waitFor(
        _ id: String, as key: STSGateway.Key, timeout: Double = 20, _ predicate: ([String: Any]) -> Bool
    ) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = json(call("GET", "discovery/jobs/\(id)", as: key))
            if predicate(last) { return last }
            usleep(20_000)
        }
        XCTFail("job \(id) never reached the state awaited; last: \(last)")
        return last
    }

    /// Every file under the test's directory, as text.
    func everyFile() throws -> [(String, String)] {
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
        var out: [(String, String)] = []
        for case let url as URL in e where !url.hasDirectoryPath {
            out.append((url.path, String(decoding: try Data(contentsOf: url), as: UTF8.self)))
        }
        return out
    }

    func assertNoSecretAnywhere(file: StaticString = #filePath, line: UInt = #line) throws {
        var places = try everyFile()
        places += answers.map { ("an answer", $0) }
        let rows = try gw.metadata.discoveryJobs(tenant: "acme", limit: 1000)
        places += rows.map { ("row \($0.id)", String(describing: $0)) }
        for (place, text) in places {
            for s in [Self.secret, Self.token] {
                XCTAssertFalse(text.contains(s), "\(place) holds a pasted credential", file: file, line: line)
            }
        }
    }

    // MARK: - The whole path

    func testAJobRunsToASnapshotThatIsListedShownDownloadedAndDeleted() throws {
        let alice = try user("alice", Self.discoverer)
        let id = try start(as: alice)
        let done = try waitFor(id, as: alice) { $0["state"] as? String == "done" }
        XCTAssertEqual(done["buckets_total"] as? Int, 3)
        XCTAssertEqual(done["buckets_done"] as? Int, 3)
        XCTAssertEqual(done["objects"] as? Int, 2505)
        XCTAssertEqual(done["snapshot_id"] as? String, id)
        XCTAssertEqual(done["endpoint_host"] as? String, "127.0.0.1:9000")
        XCTAssertTrue(done["error"] is NSNull)
        XCTAssertTrue(done["current_bucket"] is NSNull)
        XCTAssertNotNil(done["finished_at"] as? String)

        let jobs = json(call("GET", "discovery/jobs", as: alice))["jobs"] as? [[String: Any]]
        XCTAssertEqual(jobs?.map { $0["id"] as? String }, [id])

        let list = json(call("GET", "discovery/snapshots", as: alice))["snapshots"] as? [[String: Any]]
        XCTAssertEqual(list?.count, 1)
        let listed = try XCTUnwrap(list?.first)
        XCTAssertEqual(listed["id"] as? String, id)
        XCTAssertEqual(listed["buckets"] as? Int, 3)
        XCTAssertEqual(listed["objects"] as? Int, 2505)
        XCTAssertEqual(listed["sanitization"] as? String, "full")
        let file = dir.appendingPathComponent("snapshots/acme/\(id).json")
        let bytes = try Data(contentsOf: file)
        XCTAssertEqual(listed["file_bytes"] as? Int, bytes.count)

        let shown = call("GET", "discovery/snapshots/\(id)", as: alice)
        XCTAssertEqual(shown.status, 200)
        let summary = try SnapshotReader.read(Data(shown.body))
        XCTAssertEqual(summary.buckets.map(\.name), ["alpha", "denied", "versioned"])
        XCTAssertEqual(summary.buckets.map(\.listing), [.complete, .accessDenied, .complete])
        XCTAssertNil(summary.buckets[0].objects, "the summary has no object entries")
        XCTAssertLessThan(shown.body.count, bytes.count / 10)

        let download = call("GET", "discovery/snapshots/\(id)/download?format=json", as: alice)
        XCTAssertEqual(download.status, 200)
        XCTAssertEqual(Data(download.body), bytes)
        XCTAssertEqual(download.header("Content-Length"), String(bytes.count))
        XCTAssertEqual(download.header("Content-Disposition"), "attachment; filename=\"snapshot-\(id).json\"")
        XCTAssertEqual(try SnapshotReader.read(Data(download.body)).buckets[0].objects?.count, 2500)

        // The directories and files are the gateway user's alone.
        for (path, mode) in [
            (dir.appendingPathComponent("snapshots").path, 0o700),
            (dir.appendingPathComponent("snapshots/acme").path, 0o700), (file.path, 0o600),
        ] {
            let m = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
            XCTAssertEqual(m?.intValue, mode, path)
        }

        XCTAssertEqual(call("DELETE", "discovery/snapshots/\(id)", as: alice).status, 204)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path), [])
        XCTAssertEqual(call("GET", "discovery/snapshots/\(id)", as: alice).status, 404)
        XCTAssertEqual(call("DELETE", "discovery/snapshots/\(id)", as: alice).status, 404)
        XCTAssertEqual(call("GET", "discovery/jobs/\(id)", as: alice).status, 404)
        XCTAssertEqual(connections.all, [Self.endpoint])
        try assertNoSecretAnywhere()
    }

    func testProgressMovesAndACancelStopsWithinAPageKeepingWhatWasListed() throws {
        let alice = try user("alice", Self.discoverer)
        source.hold(afterPages: 4)
        let id = try start(as: alice)
        let running = try waitFor(id, as: alice) { ($0["objects"] as? Int ?? 0) >= 150 }
        XCTAssertEqual(running["state"] as? String, "running")
        XCTAssertEqual(running["current_bucket"] as? String, "alpha")
        XCTAssertEqual(running["buckets_total"] as? Int, 3)
        let cancel = call("POST", "discovery/jobs/\(id)/cancel", as: alice)
        XCTAssertEqual(cancel.status, 202, cancel.text)
        XCTAssertEqual(json(cancel)["cancel_requested"] as? Bool, true)
        source.release()
        let ended = try waitFor(id, as: alice) { $0["state"] as? String != "running" }
        XCTAssertEqual(ended["state"] as? String, "cancelled")
        XCTAssertEqual(ended["snapshot_id"] as? String, id)
        let objects = try XCTUnwrap(ended["objects"] as? Int)
        XCTAssertTrue((150...300).contains(objects), "stopped within a page of the cancel: \(objects)")
        let s = try SnapshotReader.read(contentsOf: dir.appendingPathComponent("snapshots/acme/\(id).json"))
        XCTAssertEqual(s.buckets.map(\.listing), [.incomplete, .incomplete, .incomplete])
        XCTAssertEqual(s.buckets[0].summary.objectCount, Int64(objects))
        // A job that ended cannot be cancelled: a conflict with what it is, not a success.
        let again = call("POST", "discovery/jobs/\(id)/cancel", as: alice)
        XCTAssertEqual(again.status, 409, again.text)
        XCTAssertEqual(errorCode(again), "JobNotRunning")
        XCTAssertEqual(json(call("GET", "discovery/jobs/\(id)", as: alice))["state"] as? String, "cancelled")
        try assertNoSecretAnywhere()
    }

    func testAWorkerRunsAtMostItsJobsAndDeletingARunningJobIsRefused() throws {
        try makeGateway(maxJobs: 1)
        let alice = try user("alice", Self.discoverer)
        source.hold(afterPages: 1)
        let id = try start(as: alice)
        let busy = call("POST", "discovery/jobs", startBody, as: alice)
        XCTAssertEqual(busy.status, 503, busy.text)
        XCTAssertEqual(errorCode(busy), "SlowDown")
        XCTAssertEqual(busy.header("Retry-After"), "30")
        let delete = call("DELETE", "discovery/snapshots/\(id)", as: alice)
        XCTAssertEqual(delete.status, 409, delete.text)
        source.release()
        try waitFor(id, as: alice) { $0["state"] as? String == "done" }
        XCTAssertEqual(call("POST", "discovery/jobs", startBody, as: alice).status, 202, "a slot is free again")
    }

    func testADrainWaitsThenInterruptsKeepingTheSnapshot() throws {
        let alice = try user("alice", Self.discoverer)
        source.hold(afterPages: 3)
        let id = try start(as: alice)
        try waitFor(id, as: alice) { ($0["objects"] as? Int ?? 0) >= 100 }
        let began = Date()
        // The held page returns once the drain asks the job to stop: it is let go after a moment.
        let held = source!
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { held.release() }
        gw.context.discovery!.drain(timeout: 0.2)
        XCTAssertLessThan(Date().timeIntervalSince(began), 6, "a drain is bounded")
        XCTAssertEqual(gw.context.discovery!.runningIDs, [])
        let j = json(call("GET", "discovery/jobs/\(id)", as: alice))
        XCTAssertEqual(j["state"] as? String, "interrupted")
        XCTAssertEqual(j["snapshot_id"] as? String, id)
        XCTAssertTrue((j["error"] as? String ?? "").contains("stopped"))
    }

    func testALiveJobWaitingOnASlowPageKeepsBeating() throws {
        let alice = try user("alice", Self.discoverer)
        source.hold(afterPages: 1)
        let id = try start(as: alice)
        try waitFor(id, as: alice) { ($0["objects"] as? Int ?? 0) >= 50 }
        gw.clock.advance(DiscoveryJob.staleAfter - 5)
        gw.context.discovery!.heartbeat()
        gw.clock.advance(DiscoveryJob.staleAfter - 5)
        XCTAssertEqual(json(call("GET", "discovery/jobs/\(id)", as: alice))["state"] as? String, "running")
        gw.clock.advance(10)
        XCTAssertEqual(
            json(call("GET", "discovery/jobs/\(id)", as: alice))["state"] as? String, "interrupted",
            "without beats it would read as dead")
        source.release()
    }

    func testAJobWhoseProcessDiedReadsAsInterrupted() throws {
        let alice = try user("alice", Self.discoverer)
        // A row left by a process that is gone: running, last beat long ago.
        var row = DiscoveryJob(
            id: "0123456789abcdef0123456789abcdef", tenant: "acme", user: "alice", createdAt: gw.clock.now(),
            endpointHost: "s3.amazonaws.com", region: "us-east-1", sanitization: "hashed", prefixDepth: 2,
            owner: "elsewhere:1")
        row.heartbeatAt = gw.clock.now()
        try gw.metadata.createDiscoveryJob(row)
        XCTAssertEqual(json(call("GET", "discovery/jobs/\(row.id)", as: alice))["state"] as? String, "running")
        gw.clock.advance(DiscoveryJob.staleAfter + 1)
        XCTAssertEqual(json(call("GET", "discovery/jobs/\(row.id)", as: alice))["state"] as? String, "interrupted")
        // Not running any more, so it may go.
        XCTAssertEqual(call("DELETE", "discovery/snapshots/\(row.id)", as: alice).status, 204)
    }

    // MARK: - What a start accepts

    func testAStartIsValidatedWithoutEchoingACredential() throws {
        let alice = try user("alice", Self.discoverer)
        func refused(_ change: [String: Any?], _ code: String, _ status: Int = 400, line: UInt = #line) {
            var body = startBody
            for (k, v) in change { body[k] = v }
            let r = call("POST", "discovery/jobs", body.compactMapValues { $0 }, as: alice)
            XCTAssertEqual(r.status, status, r.text, line: line)
            XCTAssertEqual(errorCode(r), code, r.text, line: line)
        }
        refused(["secret_access_key": nil], "InvalidRequest")
        refused(["access_key_id": ""], "InvalidRequest")
        refused(["sanitization": "everything"], "InvalidRequest")
        refused(["prefix_depth": 0], "InvalidRequest")
        refused(["prefix_depth": 9], "InvalidRequest")
        refused(["prefix_depth": "two"], "InvalidRequest")
        refused(["region": "us east"], "InvalidRequest")
        refused(["endpoint": "http://AKIASOURCEACCOUNT:\(Self.secret)@127.0.0.1:9000"], "EndpointNotAllowed")
        refused(["endpoint": "http://127.0.0.1:9000/\(Self.secret)"], "EndpointNotAllowed")
        refused(["endpoint": "http://127.0.0.1:9000/?X-Amz-Security-Token=\(Self.token)"], "EndpointNotAllowed")
        refused(["endpoint": "ftp://127.0.0.1"], "EndpointNotAllowed")
        // Well-formed, but not on the allow-list: refused before any connection.
        refused(["endpoint": "http://169.254.169.254"], "EndpointNotAllowed")
        refused(["endpoint": "https://127.0.0.1:9000"], "EndpointNotAllowed")
        let garbage = gw.send(
            "POST", "/api/discovery/jobs", body: Array("{\"secret_access_key\": \"\(Self.secret)".utf8), key: alice)
        answers.append(garbage.text)
        XCTAssertEqual(garbage.status, 400)
        XCTAssertEqual(connections.all, [])
        XCTAssertEqual(try gw.metadata.discoveryJobs(tenant: "acme", limit: 10).count, 0)
        // What is not an endpoint URL is not repeated, not even its host.
        for typed in ["http://user:pw@127.0.0.1:9000", "http://127.0.0.1:9000/path", "127.0.0.1:9000"] {
            var body = startBody
            body["endpoint"] = typed
            let r = call("POST", "discovery/jobs", body, as: alice)
            XCTAssertEqual(errorCode(r), "EndpointNotAllowed", typed)
            XCTAssertFalse(r.text.contains("127.0.0.1"), r.text)
        }
        // Defaults: endpoint AWS (not on this test's allow-list), region us-east-1, hashed, depth 2.
        var minimal = startBody
        minimal["endpoint"] = nil
        let r = call("POST", "discovery/jobs", minimal, as: alice)
        XCTAssertEqual(errorCode(r), "EndpointNotAllowed")
        XCTAssertTrue(r.text.contains("https://s3.amazonaws.com"), r.text)
        // An empty field is the default too (a form sends its empty field).
        minimal["endpoint"] = ""
        let empty = call("POST", "discovery/jobs", minimal, as: alice)
        XCTAssertEqual(errorCode(empty), "EndpointNotAllowed")
        XCTAssertTrue(empty.text.contains("https://s3.amazonaws.com"), empty.text)
        minimal = startBody
        for k in ["region", "sanitization", "prefix_depth", "session_token"] { minimal[k] = nil }
        let started = json(call("POST", "discovery/jobs", minimal, as: alice))
        XCTAssertEqual(started["sanitization"] as? String, "hashed")
        XCTAssertEqual(started["region"] as? String, "us-east-1")
        XCTAssertEqual(started["prefix_depth"] as? Int, 2)
        try assertNoSecretAnywhere()
    }

    /// The body of a start, printed or dumped anywhere, shows no secret, token or endpoint text.
    func testAStartBodyPrintsWithoutItsSecrets() throws {
        var body = startBody
        body["endpoint"] = "http://AKIASOURCEACCOUNT:\(Self.secret)@127.0.0.1:9000"
        let decoded = try AdminJSON.decoder.decode(
            WebAPI.StartDiscovery.self, from: try JSONSerialization.data(withJSONObject: body))
        XCTAssertEqual(decoded.secretAccessKey, Self.secret)
        var dumped = ""
        dump(decoded, to: &dumped)
        for text in [String(describing: decoded), String(reflecting: decoded), "\(decoded)", dumped] {
            XCTAssertFalse(text.contains(Self.secret), text)
            XCTAssertFalse(text.contains(Self.token), text)
            XCTAssertTrue(text.contains("AKIASOURCEACCOUNT"), text)
        }
    }

    // MARK: - Lists

    /// Jobs come in pages newest first: `limit`, then `next_marker` as `marker` until it is absent.
    func testJobsArePagedWithMarkers() throws {
        let alice = try user("alice", Self.discoverer)
        var ids: [String] = []
        for i in 0..<5 {
            let id = String(format: "%032x", i + 1)
            ids.append(id)
            var row = DiscoveryJob(
                id: id, tenant: "acme", user: "alice", createdAt: gw.clock.now() - Double(i / 2),
                endpointHost: "s3.amazonaws.com", region: "us-east-1", sanitization: "hashed", prefixDepth: 2,
                owner: "elsewhere:1")
            row.state = .done
            try gw.metadata.createDiscoveryJob(row)
        }
        var seen: [String] = []
        var marker: String?
        var pages = 0
        repeat {
            let page = json(
                call("GET", "discovery/jobs?limit=2" + (marker.map { "&marker=\($0)" } ?? ""), as: alice))
            seen += (page["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            marker = page["next_marker"] as? String
            pages += 1
        } while marker != nil && pages < 10
        XCTAssertEqual(seen, ids, "newest first, ties by id, each once")
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(call("GET", "discovery/jobs?marker=nonsense", as: alice).status, 400)
    }

    /// The list of snapshots reads the job rows, not the files: a summary that cannot be parsed
    /// (or a huge one) costs a list nothing, and what a snapshot holds is still shown.
    func testSnapshotsAreListedFromTheirRowsAndTheSummaryStreams() throws {
        let alice = try user("alice", Self.discoverer)
        let id = try start(as: alice)
        try waitFor(id, as: alice) { $0["state"] as? String == "done" }
        let summary = dir.appendingPathComponent("snapshots/acme/\(id).summary.json")
        let written = try Data(contentsOf: summary)
        try Data("{\"not\": \"a summary\"}".utf8).write(to: summary)
        let listed = (json(call("GET", "discovery/snapshots", as: alice))["snapshots"] as? [[String: Any]])?.first
        XCTAssertEqual(listed?["buckets"] as? Int, 3)
        XCTAssertEqual(listed?["objects"] as? Int, 2505)
        XCTAssertEqual(listed?["endpoint_host"] as? String, "127.0.0.1:9000")
        XCTAssertEqual(listed?["sanitization"] as? String, "full")
        try written.write(to: summary)
        let shown = call("GET", "discovery/snapshots/\(id)", as: alice)
        XCTAssertEqual(shown.status, 200)
        XCTAssertEqual(Data(shown.body), written)
        XCTAssertEqual(shown.header("Content-Length"), String(written.count))
        XCTAssertEqual(shown.header("Content-Type"), "application/json")
    }

    // MARK: - Files of jobs that died

    /// Before a job starts, what jobs whose process died left is cleared — and nothing a live
    /// job may still be writing: rows of dead jobs end as interrupted, their old `.partial`
    /// files go; a live job's files, fresh files and files the store cannot account for stay.
    func testTheSweepRemovesOnlyWhatDeadJobsLeft() throws {
        let jobs = try XCTUnwrap(gw.context.discovery)
        let folder = dir.appendingPathComponent("snapshots/acme")
        try jobs.files.prepare(tenant: "acme")
        func row(_ id: String, beat: Double) throws {
            var r = DiscoveryJob(
                id: id, tenant: "acme", user: "alice", createdAt: gw.clock.now() - 100, endpointHost: "h",
                region: "us-east-1", sanitization: "hashed", prefixDepth: 2, owner: "elsewhere:1")
            r.heartbeatAt = beat
            try gw.metadata.createDiscoveryJob(r)
        }
        let now = gw.clock.now()
        try row("live", beat: now - 2)
        try row("dead", beat: now - DiscoveryJob.staleAfter - 60)
        let old = Date().addingTimeInterval(-DiscoveryJob.staleAfter - 60)
        let files: [String: Date] = [
            "live.json.partial": old, "live.summary.json.partial": old, "dead.json.partial": old,
            "dead.summary.json.partial": old, "orphan.json.partial": old, "fresh.json.partial": Date(),
        ]
        for (name, modified) in files {
            let url = folder.appendingPathComponent(name)
            try Data("{".utf8).write(to: url)
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: url.path)
        }
        jobs.sweep(tenant: "acme", now: now)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        XCTAssertEqual(left, ["live.json.partial", "live.summary.json.partial", "fresh.json.partial"])
        let dead = try XCTUnwrap(gw.metadata.discoveryJob(id: "dead"))
        XCTAssertEqual(dead.state, .interrupted, "the row itself ends, not only how it reads")
        XCTAssertEqual(dead.error, DiscoveryJob.diedMessage)
        XCTAssertEqual(try gw.metadata.discoveryJob(id: "live")?.state, .running)
    }

    /// Buckets named `api` from before the web API reserved the name are found for the
    /// agent's warning, in every tenant.
    func testBucketsShadowedByTheAPIPathAreFound() throws {
        XCTAssertEqual(try WebAPI.shadowedBuckets(gw.context), [])
        for (tenant, name) in [("default", "api"), ("acme", "acme/api"), ("acme", "acme/apis")] {
            _ = try gw.metadata.createBucket(
                BucketRecord(
                    name: name, owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: name,
                    tenant: tenant))
        }
        XCTAssertEqual(try WebAPI.shadowedBuckets(gw.context), ["api", "acme/api"])
    }

    // MARK: - Who may

    func testPermissionsDecideAndTenantsAreIsolated() throws {
        let alice = try user("alice", Self.discoverer)
        let reader = try user("reader", ["discovery:GetDiscovery": ["acme"]])
        let other = try user("mallory", tenant: "default", ["discovery:*": ["default"]])
        let id = try start(as: alice)
        try waitFor(id, as: alice) { $0["state"] as? String == "done" }

        // Holding everything else is not holding discovery.
        let admin = try user("admin", ["admin:*": ["acme"], "s3:*": ["*"], "sts:*": ["*"]])
        XCTAssertEqual(errorCode(call("GET", "discovery/jobs", as: admin)), "AccessDenied")
        // The root user holds every family, for every tenant.
        XCTAssertEqual(call("GET", "discovery/jobs?tenant=acme", as: STSGateway.root).status, 200)
        XCTAssertEqual(errorCode(call("POST", "discovery/jobs", startBody, as: reader)), "AccessDenied")
        XCTAssertEqual(errorCode(call("POST", "discovery/jobs/\(id)/cancel", as: reader)), "AccessDenied")
        XCTAssertEqual(errorCode(call("DELETE", "discovery/snapshots/\(id)", as: reader)), "AccessDenied")
        XCTAssertEqual(call("GET", "discovery/snapshots/\(id)", as: reader).status, 200)
        XCTAssertEqual(call("GET", "discovery/snapshots/\(id)/download", as: reader).status, 200)

        // Another tenant's user sees nothing of acme's, and may not name acme.
        XCTAssertEqual(call("GET", "discovery/jobs/\(id)", as: other).status, 404)
        XCTAssertEqual(call("GET", "discovery/snapshots/\(id)/download", as: other).status, 404)
        XCTAssertEqual((json(call("GET", "discovery/snapshots", as: other))["snapshots"] as? [Any])?.count, 0)
        XCTAssertEqual(errorCode(call("GET", "discovery/snapshots?tenant=acme", as: other)), "AccessDenied")
        XCTAssertEqual(call("DELETE", "discovery/snapshots/\(id)", as: other).status, 404)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("snapshots/acme/\(id).json").path))

        // A default-tenant administrator of discovery names the tenant.
        let ops = try user("ops", tenant: "default", ["discovery:GetDiscovery": ["*"]])
        let listed = json(call("GET", "discovery/snapshots?tenant=acme", as: ops))["snapshots"] as? [[String: Any]]
        XCTAssertEqual(listed?.first?["id"] as? String, id)

        XCTAssertEqual(call("GET", "discovery/nothing", as: alice).status, 404)
        let wrongMethod = call("PUT", "discovery/jobs", as: alice)
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.header("Allow"), "GET, POST")
        XCTAssertEqual(errorCode(call("GET", "discovery/snapshots/..%2F..%2Fetc/download", as: alice)), "NotFound")
    }

    func testTemporaryCredentialsWorkAndPresignedURLsOnlyDownload() throws {
        let alice = try user("alice", Self.discoverer)
        let session = try XCTUnwrap(gw.sts(["Action": "GetSessionToken"], key: alice).session)
        let id = try start(as: session.key)
        try waitFor(id, as: session.key) { $0["state"] as? String == "done" }

        func presigned(_ path: String, _ query: String = "", key: STSGateway.Key) -> TestGateway.Response {
            var q = query
            if let token = key.token {
                q += (q.isEmpty ? "" : "&") + "X-Amz-Security-Token=" + uriEncode(token, encodeSlash: true)
            }
            let url = Signer.presign(
                method: "GET", rawPath: "/api/" + path, rawQuery: q, host: gw.host, accessKey: key.accessKey,
                secretKey: key.secret, region: "us-east-1", amzDate: gw.amzDate, expires: 600)
            let r = gw.raw("GET", url)
            answers.append(r.text)
            return r
        }
        let bytes = try Data(contentsOf: dir.appendingPathComponent("snapshots/acme/\(id).json"))
        let link = presigned("discovery/snapshots/\(id)/download", "format=json", key: alice)
        XCTAssertEqual(link.status, 200, link.text)
        XCTAssertEqual(Data(link.body), bytes)
        XCTAssertEqual(Data(presigned("discovery/snapshots/\(id)/download", key: session.key).body), bytes)
        // A presigned URL reads nothing else, and changes nothing.
        XCTAssertEqual(presigned("discovery/jobs", key: alice).status, 403)
        XCTAssertEqual(presigned("discovery/snapshots/\(id)", key: alice).status, 403)
        let gz = presigned("discovery/snapshots/\(id)/download", "format=json.gz", key: alice)
        XCTAssertEqual(gz.status, 200, gz.text)
        XCTAssertEqual(gz.header("Content-Type"), "application/gzip")
        XCTAssertEqual(gz.header("Content-Disposition"), "attachment; filename=\"snapshot-\(id).json.gz\"")
        XCTAssertNil(gz.header("Content-Length"), "the length is known only at the end")
        XCTAssertEqual(Array(gz.body.prefix(2)), [0x1F, 0x8B])
        XCTAssertLessThan(gz.body.count, bytes.count / 3)
        XCTAssertEqual(try gunzip(gz.body), bytes)
        XCTAssertEqual(
            errorCode(call("GET", "discovery/snapshots/\(id)/download?format=xml", as: alice)), "InvalidRequest")
        XCTAssertEqual(errorCode(gw.raw("GET", "/api/discovery/jobs")), "AccessDenied", "unsigned")
    }

    func testTheWebAPIsActionsCanBeGrantedAndTheNameApiIsReserved() throws {
        XCTAssertNil(PermissionSet(["discovery:StartDiscovery": ["acme"]]).problem(knownActions: KnownActions.all))
        XCTAssertNil(PermissionSet(["migration:PlanMigration": ["*"]]).problem(knownActions: KnownActions.all))
        XCTAssertNotNil(PermissionSet(["discovery:Everything": ["*"]]).problem(knownActions: KnownActions.all))
        XCTAssertNotNil(PermissionSet(["nope:StartDiscovery": ["*"]]).problem(knownActions: KnownActions.all))
        for action in [
            "discovery:StartDiscovery", "discovery:GetDiscovery", "discovery:CancelDiscovery",
            "discovery:DeleteSnapshot", "migration:PlanMigration", "migration:StartMigration",
            "migration:GetMigration",
        ] {
            XCTAssertTrue(KnownActions.all.contains(action), action)
        }
        let create = gw.send("PUT", "/api")
        XCTAssertEqual(create.status, 404, "the path is the API's, not a bucket's")
        XCTAssertEqual(errorCode(create), "NotFound")
        let s3 = TestGateway()
        XCTAssertEqual(s3.send("PUT", "/", host: "api.s3.example.test").errorCode, "InvalidBucketName")
    }
}

/// `gzip -dc`: what any reader of a `.json.gz` does with it.
func gunzip(_ bytes: [UInt8]) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-dc"]
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    // Written from another thread: gzip's output pipe must be read while it runs.
    let writer = Thread {
        input.fileHandleForWriting.write(Data(bytes))
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
    return out
}

/// A source account whose listing can be held after some pages, so a test can act while a job
/// is surely running.
final class GatedSource: SourceAccount, @unchecked Sendable {
    let inner: InMemorySourceAccount
    private let state = Mutex<(served: Int, allowed: Int)>((0, .max))

    init(_ inner: InMemorySourceAccount) { self.inner = inner }

    /// Pages after the first `n` wait until `release()`.
    func hold(afterPages n: Int) { state.withLock { $0 = (0, n) } }
    func release() { state.withLock { $0.allowed = .max } }

    func listBuckets() throws(SourceError) -> [SourceBucket] { try inner.listBuckets() }
    func region(of bucket: String) throws(SourceError) -> String { try inner.region(of: bucket) }
    func features(of bucket: String, region: String) -> SourceBucketFeatures {
        inner.features(of: bucket, region: region)
    }
    func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage {
        while state.withLock({ $0.served >= $0.allowed }) { usleep(5_000) }
        state.withLock { $0.served += 1 }
        return try inner.listObjects(bucket: bucket, region: region, continuation: continuation)
    }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        try inner.open(bucket: bucket, region: region, key: key)
    }
}

/// A root user made before the web API's families existed gets them once at the next start, and
/// an administrator's later removal sticks.
final class RootFamiliesTests: XCTestCase {
    func testAnOlderRootUserGainsTheNewFamiliesOnce() throws {
        let metadata = InMemoryMetadataStore()
        let store = InMemoryIdentityStore(metadata: metadata)
        let old = PermissionSet(["s3:*": ["*"], "sts:*": ["*"], "admin:*": ["*"]])
        try store.createUser(
            UserRecord(
                tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser, id: CanonicalID.make(),
                permissions: old, createdAt: 1))
        func start() throws -> PermissionSet {
            try IdentityBootstrap.ensureRoot(
                accessKey: "AKIDROOT", secret: "s", identities: store, metadata: metadata, box: TestGateway.box, now: 2)
            return try XCTUnwrap(store.user(tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser))
                .permissions
        }
        XCTAssertEqual(try start(), IdentityBootstrap.rootPermissions)
        var narrowed = IdentityBootstrap.rootPermissions
        narrowed.rules["migration:*"] = nil
        try store.setPermissions(tenant: TenantRecord.defaultID, user: IdentityBootstrap.rootUser, narrowed)
        XCTAssertEqual(try start(), narrowed, "a removal sticks")
    }
}
