import GatewayCore

extension GatewayContext {
    /// What CreateBucket resolves a LocationConstraint to now: the placement (healthy zones
    /// first, as the health checker last saw them), or the InvalidLocationConstraint it answers.
    /// The admin API's placement question asks the same function, so both always agree.
    public func resolvePlacement(_ constraint: String) throws -> Placement {
        let health = Dictionary(try metadata.zoneHealth().map { ($0.zone, $0.state) }) { a, _ in a }
        do {
            return try catalog.placement(for: constraint, health: health)
        } catch {
            throw S3Error(
                .invalidLocationConstraint, "The specified location-constraint is not valid: \(error).",
                extra: [("LocationConstraint", constraint)])
        }
    }

    /// The replica-count a new bucket with this placement gets.
    public func defaultReplicaCount(for placement: Placement) -> Int {
        min(replication.defaultReplicaCount, placement.zones.count)
    }
}
