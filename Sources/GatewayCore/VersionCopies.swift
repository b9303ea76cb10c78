/// Object Lock over a version's copies, the same for every store: a locked version keeps every
/// copy it has stored (the agent never bypasses governance), except a copy found damaged or
/// missing, which a repair replaces.
public enum VersionCopies {
    /// The completed copies of `old` that `replicas` no longer records (their blobs would be
    /// removed).
    public static func droppedCopies(of old: ObjectRecord, keeping replicas: [Replica]) -> [Replica] {
        let kept = Set(replicas.map(\.blob).filter { !$0.isEmpty })
        return old.replicas.filter { $0.state == .completed && !$0.blob.isEmpty && !kept.contains($0.blob) }
    }

    /// `.objectLocked` when replacing `old`'s replicas with `replicas` drops a completed copy of
    /// a version Object Lock protects at `now`.
    public static func checkReplicaChange(_ old: ObjectRecord, to replicas: [Replica], now: Double)
        throws(StoreError)
    {
        guard !droppedCopies(of: old, keeping: replicas).isEmpty else { return }
        if case .denied(let why) = ObjectLock.decide(old, now: now, bypassGovernance: false) {
            throw .objectLocked(why)
        }
    }

    /// `.objectLocked` when `repair` drops a copy of a locked version other than by replacing
    /// it: every copy it stops recording must come back as a pending copy in its zone (it was
    /// found damaged or missing and is made again), or have become the primary copy. `version`
    /// is the version as stored now (its lock as it is now).
    public static func checkRepair(_ repair: CopyRepair, version: ObjectRecord, now: Double) throws(StoreError) {
        guard case .denied(let why) = ObjectLock.decide(version, now: now, bypassGovernance: false) else {
            return
        }
        let r = repair.repaired
        func remade(_ zone: String) -> Bool { r.replicas.contains { $0.zone == zone && $0.blob.isEmpty } }
        let primaryKept = r.zone == repair.found.zone && r.blobs == repair.found.blobs
        if !primaryKept && !remade(repair.found.zone) { throw .objectLocked(why) }
        for c in droppedCopies(of: repair.found, keeping: r.replicas) where c.blob != r.blob && !remade(c.zone) {
            throw .objectLocked(why)
        }
    }
}
