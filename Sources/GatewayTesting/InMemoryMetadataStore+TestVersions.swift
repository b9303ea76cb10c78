import GatewayCore

/// Test shortcut for the background work's tests (replication, repair, audit): a version's Object
/// Lock set directly, whatever the bucket's lock configuration.
extension InMemoryMetadataStore {
    /// Replaces a version's Object Lock settings wherever it lives (by generation).
    public func setLockForTesting(
        bucket: String, key: String, generation: String, retention: Retention?, legalHold: Bool
    ) {
        state.withLock { s in
            if var o = s.objects[bucket]?[key], o.generation == generation {
                (o.retention, o.legalHold) = (retention, legalHold)
                s.objects[bucket]?[key] = o
            }
            if let i = s.versions[bucket]?[key]?.firstIndex(where: { $0.generation == generation }) {
                s.versions[bucket]?[key]?[i].retention = retention
                s.versions[bucket]?[key]?[i].legalHold = legalHold
            }
        }
    }
}
