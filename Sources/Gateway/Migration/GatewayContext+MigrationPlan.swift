import Foundation
import GatewayCore

extension GatewayContext {
    /// The plan `p` makes of `snapshot`: the planner over this gateway's catalog, the health
    /// checker's last view and the buckets `p`'s tenant already has. The one function the CLI
    /// and the API call.
    public func migrationPlan(
        for snapshot: SnapshotV1, options: MigrationPlanV1.Options, by p: Principal, id: String = RandomID.make(),
        now: Date = Date()
    ) throws -> MigrationPlanV1 {
        guard (1...16).contains(options.replicas) else {
            throw MigrationError(.invalidArgument, "replicas must be between 1 and 16")
        }
        guard options.bucketPrefix.utf8.count <= 60 else {
            throw MigrationError(.invalidArgument, "the bucket prefix is longer than a bucket name may be")
        }
        guard !options.constraint.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw MigrationError(.invalidArgument, "a constraint is needed (countries, regions or zones, like fi,de)")
        }
        var existing: [String: MigrationPlanner.ExistingBucket] = [:]
        for b in try metadata.listBuckets(tenant: p.tenant) {
            existing[b.displayName] = .init(ownedByPlanner: b.owner == p.user.id, constraint: b.locationConstraint)
        }
        let health = Dictionary(try metadata.zoneHealth().map { ($0.zone, $0.state) }) { a, _ in a }
        return MigrationPlanner.plan(
            snapshot, options: options,
            inputs: .init(
                catalog: catalog, health: health, prices: migration.prices,
                bandwidthMbps: migration.settings.bandwidthMbps, tenant: p.tenant, existing: existing),
            id: id, now: now)
    }
}
