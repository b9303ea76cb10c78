import GatewayCore

/// Access control, CORS and encryption settings and the key-encryption keys, as the SQLite store.
extension InMemoryMetadataStore {
    public func setBucketSetting(bucket: String, _ setting: BucketSetting, _ value: String, audit: AuditEntry)
        throws(StoreError)
    {
        try state.withLock { s throws(StoreError) in
            guard var b = s.buckets[bucket] else { throw .noSuchBucket }
            switch setting {
            case .policy: b.policy = value
            case .acl: b.acl = value
            case .ownership: b.ownership = value
            case .publicAccessBlock: b.publicAccessBlock = value
            case .cors: b.cors = value
            case .encryption: b.encryption = value
            }
            s.buckets[bucket] = b
            self.audit(audit)
        }
    }

    public func setObjectACL(
        bucket: String, key: String, versionId: String?, owner: String?, acl: String, audit: AuditEntry
    ) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard var v = versionId.map({ s.version(bucket, key, $0) }) ?? s.objects[bucket]?[key], !v.isDeleteMarker
            else {
                throw versionId == nil ? .noSuchKey : .noSuchVersion
            }
            v.acl = acl
            if let owner { v.owner = owner }
            s.replace(v)
            self.audit(audit)
        }
    }

    public func replaceSSE(bucket: String, key: String, versionSeq: String, from: String, to: String)
        throws(StoreError) -> Bool
    {
        state.withLock { s in
            let current =
                s.objects[bucket]?[key].flatMap { $0.versionSeq == versionSeq ? $0 : nil }
                ?? s.versions[bucket]?[key]?.first { $0.versionSeq == versionSeq }
            guard var v = current, v.sse == from else { return false }
            v.sse = to
            s.replace(v)
            return true
        }
    }

    public func putKMSKey(_ k: KMSKeyRecord, audit: AuditEntry) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            try Self.checkUnique(k, s)
            s.kmsKeys[k.id] = k
            self.audit(audit)
        }
    }

    public func replaceKMSKey(_ new: KMSKeyRecord, expecting old: KMSKeyRecord, audit: AuditEntry)
        throws(StoreError) -> Bool
    {
        guard new.id == old.id else { throw .internalFailure("a key row is replaced by one of the same id") }
        return try state.withLock { s throws(StoreError) -> Bool in
            guard s.kmsKeys[old.id] == old else { return false }
            try Self.checkUnique(new, s)
            s.kmsKeys[new.id] = new
            self.audit(audit)
            return true
        }
    }

    private static func checkUnique(_ k: KMSKeyRecord, _ s: State) throws(StoreError) {
        let others = s.kmsKeys.values.filter { $0.tenant == k.tenant && $0.id != k.id }
        if !k.alias.isEmpty, others.contains(where: { $0.alias == k.alias }) {
            throw .entityExists("alias \(k.alias) of tenant \(k.tenant)")
        }
        if k.kind == "sse-s3", others.contains(where: { $0.kind == "sse-s3" }) {
            throw .entityExists("the SSE-S3 key of tenant \(k.tenant)")
        }
    }

    public func rewrapSSE(_ changes: [EnvelopeChange], keyId: String, version: Int) throws(StoreError) -> Int {
        state.withLock { s in
            var applied = 0
            for c in changes {
                switch c.target {
                case .version(let bucket, let key, let seq):
                    let current =
                        s.objects[bucket]?[key].flatMap { $0.versionSeq == seq ? $0 : nil }
                        ?? s.versions[bucket]?[key]?.first { $0.versionSeq == seq }
                    guard var v = current, v.sse == c.from else { continue }
                    v.sse = c.to
                    s.replace(v)
                    applied += 1
                case .upload(let id):
                    guard var u = s.uploads[id], u.sse == c.from else { continue }
                    u.sse = c.to
                    s.uploads[id] = u
                    applied += 1
                }
            }
            if applied > 0 { self.audit(.keysRewrap(count: applied, keyId: keyId, version: version)) }
            return applied
        }
    }

    public func kmsKey(id: String) throws(StoreError) -> KMSKeyRecord? {
        state.withLock { $0.kmsKeys[id] }
    }

    public func kmsKeys(tenant: String?) throws(StoreError) -> [KMSKeyRecord] {
        state.withLock { s in
            s.kmsKeys.values.filter { tenant == nil || $0.tenant == tenant }
                .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }
}
