import GatewayCore

/// Where buckets live: `POST /admin/failover/promote` (as `s3gw failover promote`) and
/// `POST /admin/placement/resolve` (which zones a LocationConstraint and replica-count would
/// get at CreateBucket now; creates nothing).
extension AdminAPI {
    public struct Promote: Codable, Sendable {
        public var tenant: String?
        public var bucket: String
        public var zone: String
        /// Promote a zone the health checker marks down.
        public var force: Bool?
    }

    public struct PromotedView: Codable, Sendable {
        public var tenant: String
        public var bucket: String
        public var primaryZone: String
        public var previousPrimaryZone: String
        /// False when the zone already was the primary.
        public var changed: Bool
        public var zones: [String]
    }

    public struct ResolvePlacement: Codable, Sendable {
        public var locationConstraint: String?
        public var replicaCount: Int?
    }

    public struct PlacementView: Codable, Sendable {
        public var locationConstraint: String
        /// Every zone the constraint allows, in placement order.
        public var zones: [String]
        public var primaryZone: String
        /// The zones after the primary that hold a copy at this replica-count.
        public var replicaZones: [String]
        public var replicaCount: Int
        /// The countries the bytes may live in.
        public var countries: [String]
    }

    static let placementRoutes: [Route] = [
        Route("POST", "failover/promote", "admin:PromoteZone", .gateway) { r, _, ctx throws(AdminError) in
            let body = try r.decode(Promote.self)
            let tenant = body.tenant ?? TenantRecord.defaultID
            _ = try existingTenant(["tenant": tenant], ctx)
            let before = try bucket(tenant: tenant, name: body.bucket, ctx)
            let after: BucketRecord
            do {
                after = try Failover.promote(bucket: before.name, to: body.zone, force: body.force ?? false, ctx)
            } catch let refusal as Failover.Refusal {
                throw .conflict(refusal.description)
            } catch let e as StoreError {
                throw .from(e)
            } catch {
                ctx.logger.error("failover promote of \(before.name) to \(body.zone) failed: \(error)")
                throw .internalError
            }
            return .json(
                PromotedView(
                    tenant: tenant, bucket: before.displayName, primaryZone: after.primaryZone,
                    previousPrimaryZone: before.primaryZone, changed: after.primaryZone != before.primaryZone,
                    zones: after.zones))
        },
        Route("POST", "placement/resolve", "admin:ResolvePlacement", .gateway) { r, _, ctx throws(AdminError) in
            let body = try r.decode(ResolvePlacement.self)
            let constraint = body.locationConstraint ?? ""
            let placement = try AdminError.satisfying { try ctx.resolvePlacement(constraint) }
            let count = body.replicaCount ?? ctx.defaultReplicaCount(for: placement)
            guard (1...maxReplicaCount).contains(count) else {
                throw .invalid("replica_count is 1 to \(maxReplicaCount)")
            }
            do throws(S3Error) {
                try Replication.checkLimit(
                    count, locations: placement.zones.count, of: "LocationConstraint '\(constraint)'")
            } catch {
                throw .unsatisfiable(error)
            }
            return .json(
                PlacementView(
                    locationConstraint: constraint, zones: placement.zones, primaryZone: placement.zones[0],
                    replicaZones: Array(placement.zones.dropFirst().prefix(count - 1)), replicaCount: count,
                    countries: placement.countries.sorted()))
        },
    ]
}
