import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import Gateway

/// What the migration tests share: a snapshot of an in-memory source account as a discovery
/// would write it, stored where the API finds it; users beside the root; signed `/api/` calls
/// and a run followed to its end.
enum MigrationFixtures {
    /// The source's address in the API tests (the connector they configure answers for it).
    static let localSource = "http://127.0.0.1:9000"

    /// What `source` holds now, as a discovery at level `full` would write it: every bucket
    /// listed page by page, one it cannot list `access_denied`.
    static func snapshot(
        of source: any SourceAccount, id: String = "snap", endpoint: String = "https://s3.amazonaws.com"
    ) throws -> SnapshotV1 {
        var buckets: [SnapshotV1.Bucket] = []
        for b in try source.listBuckets() {
            var objects: [SourceObject] = []
            var next: String?
            var listing = SnapshotV1.Listing.complete
            repeat {
                do {
                    let page = try source.listObjects(bucket: b.name, region: "eu-west-1", continuation: next)
                    objects += page.objects
                    next = page.next
                } catch {
                    listing = .accessDenied
                    next = nil
                }
            } while next != nil
            var classes: [String: (Int64, Int64)] = [:]
            for o in objects {
                classes[o.storageClass ?? "STANDARD", default: (0, 0)].0 += 1
                classes[o.storageClass ?? "STANDARD", default: (0, 0)].1 += o.size
            }
            buckets.append(
                SnapshotV1.Bucket(
                    name: b.name, region: "eu-west-1", objects: nil, listing: listing, statuses: .init(),
                    summary: .init(
                        objectCount: Int64(objects.count), totalBytes: objects.reduce(0) { $0 + $1.size },
                        storageClasses: classes.map {
                            .init(storageClass: $0.key, objects: $0.value.0, bytes: $0.value.1)
                        },
                        sizeHistogram: [], lastModified: [], topPrefixes: [])))
        }
        return SnapshotV1(
            schemaVersion: 1,
            snapshot: .init(
                id: id, createdAt: Date(), source: .init(endpoint: endpoint, region: "us-east-1")!,
                sanitization: .full, prefixDepth: 2),
            buckets: buckets)
    }

    /// Writes `snapshot` where the API and `s3gw migrate plan` find it by id.
    static func store(_ snapshot: SnapshotV1, stateDir: String, tenant: String = TenantRecord.defaultID) throws {
        let path = SnapshotFiles(stateDir: stateDir).snapshot(tenant: tenant, id: snapshot.snapshot.id).path
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try SnapshotJSON.encoder().encode(snapshot).write(to: URL(fileURLWithPath: path))
    }

    /// A fresh state directory under the temporary one.
    static func stateDir(_ prefix: String) throws -> String {
        let dir = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

extension TestGateway {
    /// A user of `tenant` holding `permissions`, with one access key.
    func addUser(
        _ name: String, tenant: String = TenantRecord.defaultID, permissions: [String: [String]], accessKey: String,
        secret: String
    ) throws {
        try identityStore.createUser(
            UserRecord(
                tenant: tenant, name: name, id: CanonicalID.make(), permissions: PermissionSet(permissions),
                createdAt: TestGateway.now))
        try identityStore.createCredential(
            CredentialRecord(
                accessKey: accessKey, tenant: tenant, user: name,
                sealedSecret: TestGateway.box.seal(secret, context: accessKey), createdAt: TestGateway.now),
            maxKeysPerUser: 2)
    }

    /// A call to `/api/<path>` with a JSON body, signed by `accessKey`.
    func api(
        _ method: String, _ path: String, _ body: [String: Any]? = nil, accessKey: String = TestGateway.accessKey,
        secret: String = TestGateway.secretKey, headers: [(String, String)] = []
    ) -> Response {
        let bytes = body.map { Array(try! JSONSerialization.data(withJSONObject: $0)) } ?? []
        return send(method, "/api/" + path, body: bytes, headers: headers, accessKey: accessKey, secret: secret)
    }

    /// The run's document once it no longer runs (or after 20 s), as the root reads it.
    func endedRun(_ id: String) -> [String: Any] {
        let deadline = Date().addingTimeInterval(20)
        var run: [String: Any] = [:]
        repeat {
            run = api("GET", "migration/runs/\(id)").json
            if run["state"] as? String != "running" { break }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return run
    }
}

extension TestGateway.Response {
    /// The body as a JSON object (empty when it is none).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}
