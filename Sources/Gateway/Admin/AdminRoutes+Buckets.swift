import GatewayCore

/// Buckets of every tenant: `GET /admin/buckets?tenant=`, and one tenant's bucket by the name
/// its clients use: `GET/PATCH /admin/tenants/{tenant}/buckets/{bucket}` (owner, replica-count).
extension AdminAPI {
    public struct BucketView: Codable, Sendable {
        public var tenant: String
        /// The name the tenant's clients use.
        public var name: String
        /// The owner's canonical id, and the name of the user holding it (absent when no user
        /// of the tenant has it any more).
        public var owner: String
        public var ownerUser: String?
        public var locationConstraint: String
        /// The placement: the primary zone first, then the replica targets in order.
        public var zones: [String]
        public var primaryZone: String
        public var replicaCount: Int
        public var createdAt: String

        init(_ b: BucketRecord, ownerUser: String?) {
            tenant = b.tenant
            name = b.displayName
            owner = b.owner
            self.ownerUser = ownerUser
            locationConstraint = b.locationConstraint
            zones = b.zones
            primaryZone = b.primaryZone
            replicaCount = b.replicaCount
            createdAt = HTTPDate.iso8601(b.createdAt)
        }
    }

    public struct BucketLocationView: Codable, Sendable {
        public var zone: String
        /// primary, replica (holds a copy at the bucket's replica-count) or allowed.
        public var role: String
        /// The zone's endpoint or directory; absent when the configuration lacks the zone.
        public var location: String?
        public var backendBucket: String

        init(_ l: BucketLocation) {
            zone = l.zone
            role = l.role.rawValue
            location = l.location
            backendBucket = l.backendBucket
        }
    }

    /// What `s3gw buckets show` prints, and the objects the bucket holds.
    public struct BucketDetailView: Codable, Sendable {
        public var bucket: BucketView
        public var placement: [BucketLocationView]
        public var objects: Int
        public var bytes: Int64
        /// PATCH with replica_count: how many versions had their copies changed (jobs queued),
        /// and how many kept their copies because Object Lock protects them.
        public var objectsQueued: Int?
        public var objectsKeptLocked: Int?
    }

    public struct UpdateBucket: Codable, Sendable {
        /// A user name of the bucket's tenant.
        public var owner: String?
        public var replicaCount: Int?
    }

    static let bucketRoutes: [Route] = [
        Route("GET", "buckets", "admin:ListBuckets", .gateway) { r, _, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let found: [BucketRecord]
            if let tenant = r.query["tenant"] {
                _ = try existingTenant(["tenant": tenant], ctx)
                found = Array(
                    try store { () throws(StoreError) in try ctx.metadata.listBuckets(tenant: tenant) }
                        .filter { $0.name > marker }.prefix(limit + 1))
            } else {
                found = try store { () throws(StoreError) in
                    try ctx.metadata.allBuckets(after: marker, limit: limit + 1)
                }
            }
            var names = OwnerNames(ctx)
            let views = try found.map { b throws(AdminError) in BucketView(b, ownerUser: try names.name(of: b.owner)) }
            return .json(
                AdminPage(views, limit: limit) { TenantRecord.qualifiedBucket(tenant: $0.tenant, name: $0.name) })
        },
        Route("GET", "tenants/{tenant}/buckets/{bucket}", "admin:GetBucket", .tenant) { r, p, ctx throws(AdminError) in
            .json(try bucketDetail(try existingBucket(p, ctx), ctx, for: r.principal))
        },
        Route("PATCH", "tenants/{tenant}/buckets/{bucket}", "admin:UpdateBucket", .tenant) {
            r, p, ctx throws(AdminError) in
            let b = try existingBucket(p, ctx)
            let body = try r.decode(UpdateBucket.self)
            // Both are checked before either is applied; a body naming neither changes nothing.
            var owner: UserRecord?
            if let name = body.owner {
                guard
                    let u = try store({ () throws(StoreError) in
                        try ctx.identities.store.user(tenant: b.tenant, name: name)
                    })
                else { throw .notFound("owner: tenant \(b.tenant) has no user \(name)") }
                owner = u
            }
            if let n = body.replicaCount {
                guard r.principal.maySetReplicaCount(ofTenant: b.tenant) else {
                    throw AdminError(
                        status: 403, code: "AccessDenied",
                        message: "A bucket's replica_count is set by the gateway's administrators.")
                }
                guard (1...maxReplicaCount).contains(n) else {
                    throw .invalid("replica_count is 1 to \(maxReplicaCount)")
                }
                do throws(S3Error) { try Replication.checkLimit(n, bucket: b) } catch { throw .unsatisfiable(error) }
            }
            if let owner {
                try store { () throws(StoreError) in try ctx.metadata.setBucketOwner(bucket: b.name, owner: owner.id) }
            }
            var result: ReplicaCount.Result?
            if let n = body.replicaCount {
                result = try AdminError.satisfying { try ReplicaCount.set(bucket: b.name, count: n, ctx) }
            }
            guard let now = try store({ () throws(StoreError) in try ctx.metadata.bucket(named: b.name) }) else {
                throw .notFound("bucket \(b.displayName) of tenant \(b.tenant) does not exist")
            }
            var detail = try bucketDetail(now, ctx, for: r.principal)
            detail.objectsQueued = result?.changed
            detail.objectsKeptLocked = result?.keptLocked
            return .json(detail)
        },
    ]

    /// Zone endpoints and directories are the operator's: a tenant's administrators see zones
    /// and roles only.
    static func bucketDetail(_ b: BucketRecord, _ ctx: GatewayContext, for principal: Principal) throws(AdminError)
        -> BucketDetailView
    {
        var names = OwnerNames(ctx)
        let usage = try store { () throws(StoreError) in try ctx.metadata.bucketUsage(bucket: b.name) }
        var placement = ctx.locations(of: b).map(BucketLocationView.init)
        if !principal.isGatewayTenant {
            for i in placement.indices { placement[i].location = nil }
        }
        return BucketDetailView(
            bucket: BucketView(b, ownerUser: try names.name(of: b.owner)), placement: placement,
            objects: usage.objects, bytes: usage.bytes)
    }

    /// The bucket the path names: `{tenant}` and the name the tenant's clients use, `{bucket}`.
    static func existingBucket(_ p: [String: String], _ ctx: GatewayContext) throws(AdminError) -> BucketRecord {
        try bucket(tenant: try existingTenant(p, ctx), name: p["bucket"] ?? "", ctx)
    }

    static func bucket(tenant: String, name: String, _ ctx: GatewayContext) throws(AdminError) -> BucketRecord {
        let qualified = TenantRecord.qualifiedBucket(tenant: tenant, name: name)
        // A name holding "/" would address another tenant's bucket from the default tenant.
        guard !name.isEmpty, !name.contains("/"),
            let b = try store({ () throws(StoreError) in try ctx.metadata.bucket(named: qualified) })
        else { throw .notFound("bucket \(name) of tenant \(tenant) does not exist") }
        return b
    }

    /// The tenant and the tenant's own name of a bucket the metadata store names `stored`.
    static func tenantAndName(_ stored: String) -> (tenant: String, name: String) {
        guard let slash = stored.firstIndex(of: "/") else { return (TenantRecord.defaultID, stored) }
        return (String(stored[..<slash]), String(stored[stored.index(after: slash)...]))
    }

    /// Canonical ids to user names, each looked up once per answer.
    struct OwnerNames {
        let ctx: GatewayContext
        var known: [String: String?] = [:]
        init(_ ctx: GatewayContext) { self.ctx = ctx }

        mutating func name(of id: String) throws(AdminError) -> String? {
            if let n = known[id] { return n }
            let n = try store { () throws(StoreError) in try ctx.identities.store.user(id: id)?.name }
            known[id] = n
            return n
        }
    }
}

extension AdminAPI {
    /// Copies per object an admin request may ask for; the zones of a placement bound it lower.
    static let maxReplicaCount = 1000
}

extension AdminError {
    /// A well-formed request the gateway's zones or a bucket's placement cannot satisfy (a
    /// replica-count beyond its locations, a LocationConstraint naming no zone here): 409 with
    /// the code and message the S3 path gives, as it depends on the configuration, not the request.
    public static func unsatisfiable(_ e: S3Error) -> AdminError {
        AdminError(status: 409, code: e.code.code, message: e.message)
    }

    /// Runs what the S3 path also runs (placement, replica-count): its S3 refusals become 409s
    /// with the same code, store failures the usual admin errors.
    static func satisfying<T>(_ body: () throws -> T) throws(AdminError) -> T {
        do {
            return try body()
        } catch let e as S3Error {
            throw .unsatisfiable(e)
        } catch let e as StoreError {
            throw .from(e)
        } catch {
            throw .internalError
        }
    }
}
