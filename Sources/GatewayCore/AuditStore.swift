/// The audit chain as the metadata store keeps it. Records of changes are appended by the
/// store's own mutating methods, inside their transactions; this protocol reads them, appends
/// the records that describe no stored change (authentication failures), and keeps the signed
/// digests and the public keys that check them.
public protocol AuditStore: Sendable {
    /// Records matching `query`, in seq order (the newest `limit` ones when `query.newest`).
    func auditRecords(_ query: AuditQuery) throws(StoreError) -> [AuditRecord]
    /// Appends a record in its own transaction, actor from the calling thread's trace.
    @discardableResult
    func appendAudit(_ entry: AuditEntry) throws(StoreError) -> AuditRecord
    /// Digests with ids greater than `after`, in id order (the newest `limit` when `newest`).
    func auditDigests(after: Int64, limit: Int, newest: Bool) throws(StoreError) -> [AuditDigest]
    /// Adds the digest of the period ending `periodEnd` unless one exists (several agents may
    /// race: one digest per period). `make` runs inside the transaction with the newest digest
    /// and the last record; returns the digest added, nil when the period already had one.
    func addAuditDigest(
        periodEnd: Int64, _ make: (_ previous: AuditDigest?, _ last: AuditRecord?) throws(StoreError) -> AuditDigest
    ) throws(StoreError) -> AuditDigest?
    /// Digests whose file is not yet in the digest zone, oldest first.
    func pendingAuditDigests() throws(StoreError) -> [AuditDigest]
    /// Notes that the digest's file is in the digest zone.
    func markAuditDigestExported(id: Int64) throws(StoreError)
    /// Public keys that signed digests, by fingerprint.
    func auditKeys() throws(StoreError) -> [AuditKey]
    /// Records a public key (no-op when its fingerprint is known).
    func addAuditKey(_ key: AuditKey) throws(StoreError)
}

public struct AuditQuery: Sendable, Equatable {
    /// Records with `time` at or after this (milliseconds since the epoch).
    public var since: Int64?
    public var bucket: String?
    public var tenant: String?
    public var operation: String?
    public var change: String?
    /// Records with seq greater than this.
    public var after: Int64 = 0
    public var limit = 1000
    /// The newest `limit` matching records (still returned oldest first).
    public var newest = false

    public init(
        since: Int64? = nil, bucket: String? = nil, tenant: String? = nil, operation: String? = nil,
        change: String? = nil, after: Int64 = 0, limit: Int = 1000, newest: Bool = false
    ) {
        self.since = since
        self.bucket = bucket
        self.tenant = tenant
        self.operation = operation
        self.change = change
        self.after = after
        self.limit = limit
        self.newest = newest
    }

    public func matches(_ r: AuditRecord) -> Bool {
        r.seq > after && (since.map { r.time >= $0 } ?? true) && (bucket.map { r.bucket == $0 } ?? true)
            && (tenant.map { r.tenant == $0 } ?? true) && (operation.map { r.operation == $0 } ?? true)
            && (change.map { r.change == $0 } ?? true)
    }
}

/// A public key that signs digests (Ed25519, raw 32 bytes as hex).
public struct AuditKey: Sendable, Equatable, Codable {
    /// Hex SHA-256 of the raw public key.
    public var fingerprint: String
    public var publicKey: String
    /// Seconds since the epoch.
    public var created: Double

    public init(fingerprint: String, publicKey: String, created: Double) {
        self.fingerprint = fingerprint
        self.publicKey = publicKey
        self.created = created
    }
}
