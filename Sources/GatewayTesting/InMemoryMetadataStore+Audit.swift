import GatewayCore
import SigV4
import Synchronization

/// The audit chain in memory: the same records as the SQLite store's, appended while the
/// change's own lock is held (so a failed change leaves none).
struct AuditState {
    var records: [AuditRecord] = []
    var digests: [AuditDigest] = []
    var exported: Set<Int64> = []
    var keys: [AuditKey] = []
}

extension InMemoryMetadataStore: AuditStore {
    /// Appends `entry`'s record (actor from the thread's trace). Called by the store's and the
    /// identity store's mutating methods after their change succeeded.
    @discardableResult
    public func audit(_ entry: AuditEntry) -> AuditRecord {
        auditState.withLock { a in
            let last = a.records.last
            let record = AuditRecord(
                seq: (last?.seq ?? 0) + 1, time: Int64((SystemClock().now() * 1000).rounded(.down)), actor: .current,
                entry: entry, prevHash: last?.hash ?? AuditRecord.genesisHash, sha256Hex: sha256Hex)
            a.records.append(record)
            return record
        }
    }

    /// Tests tamper with the chain through this.
    public func withAuditRecords<T>(_ body: (inout [AuditRecord]) -> T) -> T {
        auditState.withLock { body(&$0.records) }
    }

    public func auditRecords(_ q: AuditQuery) throws(StoreError) -> [AuditRecord] {
        auditState.withLock { a in
            let matching = a.records.filter(q.matches)
            return Array(q.newest ? matching.suffix(q.limit) : matching.prefix(q.limit))
        }
    }

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) throws(StoreError) -> AuditRecord { audit(entry) }

    public func auditDigests(after: Int64, limit: Int, newest: Bool) throws(StoreError) -> [AuditDigest] {
        auditState.withLock { a in
            let matching = a.digests.filter { $0.id > after }
            return Array(newest ? matching.suffix(limit) : matching.prefix(limit))
        }
    }

    public func pendingAuditDigests() throws(StoreError) -> [AuditDigest] {
        auditState.withLock { a in a.digests.filter { !a.exported.contains($0.id) } }
    }

    public func addAuditDigest(
        periodEnd: Int64, _ make: (AuditDigest?, AuditRecord?) throws(StoreError) -> AuditDigest
    ) throws(StoreError) -> AuditDigest? {
        try auditState.withLock { a throws(StoreError) -> AuditDigest? in
            if let previous = a.digests.last, previous.periodEnd >= periodEnd { return nil }
            var d = try make(a.digests.last, a.records.last)
            d.id = (a.digests.last?.id ?? 0) + 1
            a.digests.append(d)
            return d
        }
    }

    public func markAuditDigestExported(id: Int64) throws(StoreError) {
        _ = auditState.withLock { $0.exported.insert(id) }
    }

    public func auditKeys() throws(StoreError) -> [AuditKey] { auditState.withLock { $0.keys } }

    public func addAuditKey(_ key: AuditKey) throws(StoreError) {
        auditState.withLock { a in
            if !a.keys.contains(where: { $0.fingerprint == key.fingerprint }) { a.keys.append(key) }
        }
    }
}
