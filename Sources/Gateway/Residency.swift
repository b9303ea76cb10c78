import GatewayCore

/// The cross-border rule, in the one function every copy of a bucket's bytes goes through
/// (client writes, copies, multipart, replication, failover, repair): a zone may hold the
/// bucket's bytes only if its LocationConstraint allows it — a zone of its placement, in one of
/// the countries it names. So a copy leaves the primary's country only when the constraint
/// names more than one.
enum Residency {
    static func check(zone: String, for b: BucketRecord, catalog: ZoneCatalog) throws(StoreError) {
        guard b.zones.contains(zone), let z = catalog.zone(named: zone),
            let placement = try? catalog.placement(for: b.locationConstraint), placement.countries.contains(z.country)
        else {
            // A bug or a configuration change, never a client's doing: logged, not explained.
            throw .internalFailure(
                "residency: zone \(zone) is outside what bucket \(b.name)'s constraint '\(b.locationConstraint)' allows"
            )
        }
    }
}

extension GatewayContext {
    /// Where a client write of `b` goes: its primary zone, once the residency rule admits it.
    /// Failover makes another allowed zone the primary (`Failover`); until then a primary the
    /// health checker marks down is refused at once (503), never tried, and never replaced by
    /// a zone the bucket did not choose.
    func writeZone(for b: BucketRecord) throws(StoreError) -> (name: String, zone: any StorageZone) {
        try writeZone(named: b.primaryZone, for: b)
    }

    /// The same admission for a write into a given zone: a multipart upload's parts go where
    /// the upload began.
    func writeZone(named name: String, for b: BucketRecord) throws(StoreError) -> (name: String, zone: any StorageZone)
    {
        try Residency.check(zone: name, for: b, catalog: catalog)
        // The cached view may be a few seconds old: a refusal is confirmed with the checker's
        // latest record, so a zone it has seen come back takes writes at once.
        if zoneHealth.isDown(name), try metadata.zoneHealth().contains(where: { $0.zone == name && $0.state == .down })
        {
            throw .zoneUnavailable("zone \(name), written to for bucket \(b.name), is marked down")
        }
        return (name, try zone(name))
    }
}
