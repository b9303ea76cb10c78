import Foundation
import GatewayCore

/// Discovery: `/api/discovery/jobs…` and `/api/discovery/snapshots…` (docs/DISCOVERY.md). Every
/// route acts on the caller's tenant (`?tenant=` for a default-tenant administrator); a job or
/// snapshot of another tenant is not found.
extension WebAPI {
    /// A job as the API shows it; `error`, `finished_at` and `snapshot_id` are null when none.
    public struct JobView: Encodable, Sendable {
        var job: DiscoveryJob

        enum Keys: String, CodingKey {
            case id, state
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case finishedAt = "finished_at"
            case endpointHost = "endpoint_host"
            case region, sanitization
            case prefixDepth = "prefix_depth"
            case bucketsTotal = "buckets_total"
            case bucketsDone = "buckets_done"
            case objects, bytes
            case currentBucket = "current_bucket"
            case error
            case snapshotId = "snapshot_id"
            case cancelRequested = "cancel_requested"
        }

        public func encode(to encoder: any Encoder) throws {
            // Keys are spelt out here: the shared encoder's snake_case conversion must not touch
            // them, and nil values are written as null so every job has the same keys.
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(job.id, forKey: .id)
            try c.encode(job.state.rawValue, forKey: .state)
            try c.encode(HTTPDate.iso8601(job.createdAt), forKey: .createdAt)
            try c.encode(HTTPDate.iso8601(job.updatedAt), forKey: .updatedAt)
            try c.encode(job.finishedAt.map(HTTPDate.iso8601), forKey: .finishedAt)
            try c.encode(job.endpointHost, forKey: .endpointHost)
            try c.encode(job.region, forKey: .region)
            try c.encode(job.sanitization, forKey: .sanitization)
            try c.encode(job.prefixDepth, forKey: .prefixDepth)
            try c.encode(job.bucketsTotal, forKey: .bucketsTotal)
            try c.encode(job.bucketsDone, forKey: .bucketsDone)
            try c.encode(job.objects, forKey: .objects)
            try c.encode(job.bytes, forKey: .bytes)
            try c.encode(job.currentBucket.isEmpty ? nil : job.currentBucket, forKey: .currentBucket)
            try c.encode(job.error.isEmpty ? nil : job.error, forKey: .error)
            try c.encode(job.hasSnapshot ? job.id : nil, forKey: .snapshotId)
            try c.encode(job.cancelRequested, forKey: .cancelRequested)
        }
    }

    /// `GET /api/discovery/jobs`: a page of jobs and, unless it is the last, `next_marker`.
    struct JobList: Encodable {
        var jobs: [JobView]
        var nextMarker: String?
    }

    /// The body of `POST /api/discovery/jobs`. Printing one (a log line, `dump`, a debugger)
    /// shows neither the secret, nor the token, nor the endpoint as typed (it may hold either).
    struct StartDiscovery: Decodable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        var endpoint: String?
        var region: String?
        var accessKeyId: String?
        var secretAccessKey: String?
        var sessionToken: String?
        var sanitization: String?
        var prefixDepth: Int?

        var description: String { "StartDiscovery(\(accessKeyId ?? "-"), secret withheld)" }
        var debugDescription: String { description }
        var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "accessKeyId": accessKeyId as Any, "region": region as Any, "sanitization": sanitization as Any,
                    "prefixDepth": prefixDepth as Any,
                ])
        }
    }

    static let defaultEndpoint = "https://s3.amazonaws.com"
    static let defaultRegion = "us-east-1"

    static let discoveryRoutes: [Route] = [
        Route("POST", "discovery/jobs", "discovery:StartDiscovery", .callerTenant) { r, p, ctx throws(AdminError) in
            let jobs = try discovery(ctx)
            let (spec, request) = try startRequest(r, tenant: p["tenant"] ?? "")
            do throws(DiscoveryJobs.Refusal) {
                return .json(JobView(job: try jobs.start(spec, request)), status: 202)
            } catch {
                let e = refusal(error, maxJobs: jobs.settings.maxJobs)
                guard error == .busy else { throw e }
                return AdminResponse(status: e.status, body: errorBody(e), headers: [("Retry-After", "30")])
            }
        },
        Route("GET", "discovery/jobs", "discovery:GetDiscovery", .callerTenant) { r, p, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let after = marker.isEmpty ? nil : DiscoveryJob.Marker(marker)
            guard marker.isEmpty || after != nil else { throw .invalid("marker is not a next_marker of this list") }
            let jobs = try discovery(ctx)
            let found = try AdminAPI.store { () throws(StoreError) in
                try jobs.store.discoveryJobs(tenant: p["tenant"] ?? "", after: after, limit: limit + 1)
            }
            let page = AdminPage(found.map { JobView(job: $0.observed(at: r.now)) }, limit: limit) {
                DiscoveryJob.Marker(after: $0.job).text
            }
            return .json(JobList(jobs: page.items, nextMarker: page.nextMarker))
        },
        Route("GET", "discovery/jobs/{id}", "discovery:GetDiscovery", .callerTenant) { r, p, ctx throws(AdminError) in
            .json(JobView(job: try job(p, ctx).observed(at: r.now)))
        },
        Route("POST", "discovery/jobs/{id}/cancel", "discovery:CancelDiscovery", .callerTenant) {
            r, p, ctx throws(AdminError) in
            let id = try job(p, ctx).id
            let jobs = try discovery(ctx)
            guard
                let j = try AdminAPI.store({ () throws(StoreError) in
                    try jobs.store.requestDiscoveryCancel(id: id, now: r.now)
                })?.observed(at: r.now)
            else { throw .notFound("discovery job \(id) does not exist") }
            guard j.state == .running else {
                throw AdminError(
                    status: 409, code: "JobNotRunning", message: "discovery \(id) has ended (\(j.state.rawValue))")
            }
            return .json(JobView(job: j), status: 202)
        },
        Route("GET", "discovery/snapshots", "discovery:GetDiscovery", .callerTenant) { _, p, ctx throws(AdminError) in
            let jobs = try discovery(ctx)
            let listed = jobs.files.list(tenant: p["tenant"] ?? "") { try? jobs.store.discoveryJob(id: $0) }
            return .json(["snapshots": listed])
        },
        Route("GET", "discovery/snapshots/{id}", "discovery:GetDiscovery", .callerTenant) {
            _, p, ctx throws(AdminError) in
            let (tenant, id) = try snapshot(p, ctx)
            // Bounded by the bucket count, but a count without bound: streamed like a download.
            var answer = AdminResponse(body: [], headers: [("Content-Type", "application/json")])
            answer.file = .init(path: try discovery(ctx).files.summary(tenant: tenant, id: id).path, gzip: false)
            return answer
        },
        Route("GET", "discovery/snapshots/{id}/download", "discovery:GetDiscovery", .callerTenant, presigned: true) {
            r, p, ctx throws(AdminError) in
            let (tenant, id) = try snapshot(p, ctx)
            let format = r.query["format"] ?? "json"
            guard format == "json" || format == "json.gz" else { throw .invalid("format must be json or json.gz") }
            let gzip = format == "json.gz"
            var answer = AdminResponse(
                body: [],
                headers: [
                    ("Content-Type", gzip ? "application/gzip" : "application/json"),
                    ("Content-Disposition", "attachment; filename=\"snapshot-\(id).\(format)\""),
                ])
            answer.file = .init(path: try discovery(ctx).files.snapshot(tenant: tenant, id: id).path, gzip: gzip)
            return answer
        },
        Route("DELETE", "discovery/snapshots/{id}", "discovery:DeleteSnapshot", .callerTenant) {
            r, p, ctx throws(AdminError) in
            let jobs = try discovery(ctx)
            let tenant = p["tenant"] ?? ""
            let id = p["id"] ?? ""
            guard SnapshotFiles.isValidID(id) else { throw .notFound("snapshot \(id) does not exist") }
            let row = try AdminAPI.store { () throws(StoreError) in try jobs.store.discoveryJob(id: id) }
            if let row, row.tenant == tenant, row.observed(at: r.now).state == .running {
                throw .conflict("discovery \(id) is still running; cancel it first")
            }
            let removed = jobs.files.delete(tenant: tenant, id: id)
            var forgot = false
            if let row, row.tenant == tenant {
                forgot = try AdminAPI.store { () throws(StoreError) in try jobs.store.deleteDiscoveryJob(id: id) }
            }
            guard removed || forgot else { throw .notFound("snapshot \(id) does not exist") }
            AuditAfter.append(.snapshotDelete(tenant: tenant, id: id), ctx)
            return .noContent
        },
    ]

    static func discovery(_ ctx: GatewayContext) throws(AdminError) -> DiscoveryJobs {
        guard let d = ctx.discovery else {
            throw AdminError(
                status: 503, code: "ServiceUnavailable", message: "discovery is not available in this process")
        }
        return d
    }

    /// The tenant's job the path names.
    static func job(_ p: [String: String], _ ctx: GatewayContext) throws(AdminError) -> DiscoveryJob {
        let id = p["id"] ?? ""
        let jobs = try discovery(ctx)
        let found = try AdminAPI.store { () throws(StoreError) in try jobs.store.discoveryJob(id: id) }
        guard let found, found.tenant == p["tenant"] else { throw .notFound("discovery job \(id) does not exist") }
        return found
    }

    /// The tenant and id of a snapshot that exists.
    static func snapshot(_ p: [String: String], _ ctx: GatewayContext) throws(AdminError) -> (String, String) {
        let tenant = p["tenant"] ?? ""
        let id = p["id"] ?? ""
        let files = try discovery(ctx).files
        guard SnapshotFiles.isValidID(id),
            FileManager.default.fileExists(atPath: files.snapshot(tenant: tenant, id: id).path)
        else { throw .notFound("snapshot \(id) does not exist") }
        return (tenant, id)
    }

    /// The body of a start, checked. No message quotes a credential: what was wrong is named,
    /// never what was sent.
    static func startRequest(_ r: AdminRequest, tenant: String) throws(AdminError) -> (
        SourceSpec, DiscoveryJobs.Request
    ) {
        let b = try r.decode(StartDiscovery.self)
        guard let accessKey = b.accessKeyId, !accessKey.isEmpty, let secret = b.secretAccessKey, !secret.isEmpty else {
            throw .invalid("access_key_id and secret_access_key are required")
        }
        guard accessKey.utf8.count <= 128, accessKey.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalid("access_key_id is not an access key id")
        }
        guard secret.utf8.count <= 256, (b.sessionToken ?? "").utf8.count <= 16384 else {
            throw .invalid("secret_access_key or session_token is too long")
        }
        // An empty field is the default, as a field left out is; the endpoint is checked by the
        // allow-list when the job starts, and never echoed unless it is a plain URL.
        let endpoint = b.endpoint.flatMap { $0.isEmpty ? nil : $0 } ?? defaultEndpoint
        let region = b.region.flatMap { $0.isEmpty ? nil : $0 } ?? defaultRegion
        guard region.utf8.count <= 64,
            region.utf8.allSatisfy({
                $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0)
            })
        else { throw .invalid("region must be a region name such as eu-west-1") }
        guard let level = SanitizationLevel(rawValue: b.sanitization ?? SanitizationLevel.hashed.rawValue) else {
            throw .invalid("sanitization must be full, hashed or prefixes")
        }
        let depth = b.prefixDepth ?? 2
        guard (1...8).contains(depth) else { throw .invalid("prefix_depth must be 1 to 8") }
        return (
            SourceSpec(
                endpoint: endpoint, region: region,
                credentials: SourceCredentials(accessKey: accessKey, secretKey: secret, sessionToken: b.sessionToken)),
            DiscoveryJobs.Request(
                tenant: tenant, user: r.principal.user.name, sanitization: level, prefixDepth: depth)
        )
    }

    static func refusal(_ e: DiscoveryJobs.Refusal, maxJobs: Int) -> AdminError {
        switch e {
        case .busy:
            return AdminError(
                status: 503, code: "SlowDown",
                message: "this gateway process already runs \(maxJobs) discoveries; try again when one has finished")
        case .source(let source):
            if case .endpointNotAllowed = source {
                return AdminError(status: 400, code: "EndpointNotAllowed", message: source.message)
            }
            return AdminError(status: 502, code: "SourceUnavailable", message: source.message)
        case .store(let s):
            return AdminError.from(s)
        case .files:
            return AdminError.internalError
        }
    }
}
