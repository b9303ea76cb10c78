import Foundation
import GatewayCore

/// Migration: `/api/migration/plans…` and `/api/migration/runs…` (docs/DISCOVERY.md,
/// docs/MIGRATION.md). Plans and runs act as the caller — the plan looks at the buckets the
/// caller owns, the run copies with the caller's permissions — so both are for the caller's own
/// tenant; a plan or run of another tenant is not found.
extension WebAPI {
    /// The body of `POST /api/migration/plans`.
    struct MakePlan: Decodable {
        var snapshotId: String?
        var constraint: String?
        var replicas: Int?
        var bucketPrefix: String?
        var bucketConstraints: [MigrationPlanV1.BucketConstraint]?
    }

    /// The body of `POST /api/migration/runs`.
    struct StartRun: Decodable {
        var planId: String?
        var accessKeyId: String?
        var secretAccessKey: String?
        var sessionToken: String?
        var readThrough: Bool?
        /// `http(s)://host[:port]` on the plan's host; by default https there (or http where only
        /// that is allowed).
        var endpoint: String?
        var parallel: Int?
    }

    static let migrationRoutes: [Route] = [
        Route("POST", "migration/plans", "migration:PlanMigration", .callerTenant) { r, p, ctx throws(AdminError) in
            let stateDir = try ownTenant(r, p, ctx)
            let b = try r.decode(MakePlan.self)
            guard let id = b.snapshotId, SnapshotFiles.isValidID(id) else {
                throw .invalid("snapshot_id must name a snapshot")
            }
            let files = SnapshotFiles(stateDir: stateDir)
            let full = files.snapshot(tenant: r.principal.tenant, id: id)
            guard FileManager.default.fileExists(atPath: full.path) else {
                throw .notFound("snapshot \(id) does not exist")
            }
            // The summary holds all the planner reads (each bucket's numbers and statuses) and not
            // the object entries, which can be millions: only a snapshot that has none (a file
            // put there by hand) is read whole.
            let summary = files.summary(tenant: r.principal.tenant, id: id)
            let snapshot: SnapshotV1
            do {
                snapshot = try SnapshotReader.read(
                    contentsOf: FileManager.default.fileExists(atPath: summary.path) ? summary : full)
            } catch {
                throw .invalid("snapshot \(id) cannot be read: \(error)")
            }
            let options = MigrationPlanV1.Options(
                constraint: b.constraint ?? "", replicas: b.replicas ?? 1, bucketPrefix: b.bucketPrefix ?? "",
                bucketConstraints: b.bucketConstraints ?? [])
            let plan = try migration {
                let plan = try ctx.migrationPlan(
                    for: snapshot, options: options, by: r.principal, now: Date(timeIntervalSince1970: r.now))
                _ = try MigrationFiles.save(plan, stateDir: stateDir)
                return plan
            }
            return try document(MigrationPlanFile.encode(plan), status: 201)
        },
        Route("GET", "migration/plans/{id}", "migration:PlanMigration", .callerTenant) { r, p, ctx throws(AdminError) in
            let stateDir = try ownTenant(r, p, ctx)
            let id = p["id"] ?? ""
            let path = MigrationFiles.planPath(stateDir: stateDir, tenant: r.principal.tenant, id: id)
            guard MigrationFiles.isValidID(id), let bytes = FileManager.default.contents(atPath: path) else {
                throw .notFound("plan \(id) does not exist")
            }
            return AdminResponse(body: Array(bytes))
        },
        Route("POST", "migration/runs", "migration:StartMigration", .callerTenant) { r, p, ctx throws(AdminError) in
            let stateDir = try ownTenant(r, p, ctx)
            let b = try r.decode(StartRun.self)
            guard let id = b.planId, MigrationFiles.isValidID(id) else { throw .invalid("plan_id must name a plan") }
            guard let accessKey = b.accessKeyId, !accessKey.isEmpty, let secret = b.secretAccessKey, !secret.isEmpty
            else { throw .invalid("access_key_id and secret_access_key are required") }
            guard accessKey.utf8.count <= 128, secret.utf8.count <= 256, (b.sessionToken ?? "").utf8.count <= 16384
            else { throw .invalid("access_key_id, secret_access_key or session_token is too long") }
            let parallel = b.parallel ?? 4
            guard (1...16).contains(parallel) else { throw .invalid("parallel must be 1 to 16") }
            if let e = b.endpoint, (try? EndpointURL.parse(e)) == nil {
                // Not echoed: user info or a query may hold a secret.
                throw AdminError(
                    status: 400, code: "EndpointNotAllowed",
                    message: "the endpoint must be http(s)://host[:port], without user info, path or query")
            }
            let path = MigrationFiles.planPath(stateDir: stateDir, tenant: r.principal.tenant, id: id)
            guard FileManager.default.fileExists(atPath: path) else { throw .notFound("plan \(id) does not exist") }
            let status: MigrationRunStatus
            do throws(AdminError) {
                status = try migration {
                    let plan = try MigrationFiles.loadPlan(path, stateDir: nil, tenant: r.principal.tenant)
                    return try ctx.migration.runs.start(
                        plan,
                        .init(
                            credentials: SourceCredentials(
                                accessKey: accessKey, secretKey: secret, sessionToken: b.sessionToken),
                            endpoint: b.endpoint, readThrough: b.readThrough ?? false, parallel: parallel,
                            callerSessionToken: r.sessionToken),
                        by: r.principal, ctx, logger: ctx.logger)
                }
            } catch  where error.code == "SlowDown" {
                // As discovery's: the process is busy for as long as a run lasts, not for ever.
                return AdminResponse(status: error.status, body: errorBody(error), headers: [("Retry-After", "30")])
            }
            AuditAfter.append(.migrationStart(run: status.id, readThrough: status.readThrough), ctx)
            return try document(MigrationJSON.encoder().encode(status), status: 202)
        },
        Route("GET", "migration/runs", "migration:GetMigration", .callerTenant) { r, p, ctx throws(AdminError) in
            _ = try ownTenant(r, p, ctx)
            let rows = try AdminAPI.store { () throws(StoreError) in
                try ctx.metadata.migrationRuns(tenant: r.principal.tenant)
            }
            let runs = rows.compactMap { MigrationRunStatus(row: $0, now: r.now) }
            return try document(MigrationJSON.encoder().encode(["runs": runs]))
        },
        Route("GET", "migration/runs/{id}", "migration:GetMigration", .callerTenant) { r, p, ctx throws(AdminError) in
            _ = try ownTenant(r, p, ctx)
            let status = try run(p["id"] ?? "", r, ctx)
            return try document(MigrationJSON.encoder().encode(status))
        },
        Route("POST", "migration/runs/{id}/cancel", "migration:StartMigration", .callerTenant) {
            r, p, ctx throws(AdminError) in
            _ = try ownTenant(r, p, ctx)
            let current = try run(p["id"] ?? "", r, ctx)
            if current.state == .running {
                try migration { try MigrationRunner.requestCancel(current.id, ctx) }
                AuditAfter.append(.migrationCancel(run: current.id), ctx)
            }
            return try document(MigrationJSON.encoder().encode(current), status: 202)
        },
    ]

    /// Plans and runs are the caller's own tenant's (they act as the caller); the state
    /// directory they live in.
    static func ownTenant(_ r: AdminRequest, _ p: [String: String], _ ctx: GatewayContext) throws(AdminError)
        -> String
    {
        guard p["tenant"] == r.principal.tenant else {
            throw .invalid(
                "migration plans and runs act as the caller: use a credential of tenant \(p["tenant"] ?? "")")
        }
        guard let stateDir = ctx.migration.stateDir else {
            throw AdminError(
                status: 503, code: "ServiceUnavailable", message: "migration is not available in this process")
        }
        return stateDir
    }

    /// The tenant's run with this id.
    static func run(_ id: String, _ r: AdminRequest, _ ctx: GatewayContext) throws(AdminError) -> MigrationRunStatus {
        let row = try AdminAPI.store { () throws(StoreError) in try ctx.metadata.migrationRun(id: id) }
        guard let row, row.tenant == r.principal.tenant, let s = MigrationRunStatus(row: row, now: r.now) else {
            throw .notFound("migration run \(id) does not exist")
        }
        return s
    }

    /// A JSON document as it was encoded.
    static func document(_ data: @autoclosure () throws -> Data, status: Int = 200) throws(AdminError)
        -> AdminResponse
    {
        do {
            return AdminResponse(status: status, body: Array(try data()))
        } catch {
            throw AdminError.internalError
        }
    }

    /// Runs `body`, its failures as the API answers them.
    static func migration<T>(_ body: () throws -> T) throws(AdminError) -> T {
        do {
            return try body()
        } catch let e as MigrationError {
            switch e.code {
            case .invalidArgument: throw .invalid(e.message)
            case .notFound: throw .notFound(e.message)
            case .accessDenied: throw AdminError(status: 403, code: "AccessDenied", message: e.message)
            case .conflict: throw .conflict(e.message)
            case .busy: throw AdminError(status: 503, code: "SlowDown", message: e.message)
            case .endpointNotAllowed: throw AdminError(status: 400, code: "EndpointNotAllowed", message: e.message)
            case .sourceFailed: throw AdminError(status: 502, code: "SourceUnavailable", message: e.message)
            }
        } catch let e as StoreError {
            throw AdminError.from(e)
        } catch let e as MigrationPlanFile.Failure {
            throw .invalid("the plan cannot be read: \(e)")
        } catch {
            throw AdminError.internalError
        }
    }
}
