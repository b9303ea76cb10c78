import GatewayCore

/// Versioning, Object Lock and lifecycle settings and version reads, as the SQLite store.
extension InMemoryMetadataStore {
    public func setVersioning(bucket: String, _ status: Versioning) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard let b = s.buckets[bucket] else { throw .noSuchBucket }
            if b.objectLock != nil && status != .enabled {
                throw .invalidBucketState(
                    "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
                )
            }
            s.buckets[bucket]?.versioning = status
            audit(AuditEntry.bucketVersioning(bucket: bucket, status))
        }
    }

    public func setObjectLock(bucket: String, _ config: ObjectLockConfig) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard let b = s.buckets[bucket] else { throw .noSuchBucket }
            guard b.versioning == .enabled else {
                throw .invalidBucketState(
                    "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
            }
            s.buckets[bucket]?.objectLock = config
            audit(AuditEntry.bucketObjectLock(bucket: bucket, config))
        }
    }

    public func setLifecycle(bucket: String, _ configuration: String) throws(StoreError) {
        try setLifecycle(bucket: bucket, configuration, ruleIds: nil)
    }

    public func setLifecycle(bucket: String, _ configuration: String, ruleIds: [String]?) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.buckets[bucket] != nil else { throw .noSuchBucket }
            s.buckets[bucket]?.lifecycle = configuration
            audit(AuditEntry.bucketLifecycle(bucket: bucket, ruleIds: configuration.isEmpty ? nil : ruleIds ?? []))
        }
    }

    public func version(bucket: String, key: String, versionId: String) throws(StoreError) -> ObjectRecord? {
        state.withLock { s in
            if let o = s.objects[bucket]?[key], o.versionId == versionId { return o }
            return s.versions[bucket]?[key]?.first { $0.versionId == versionId }
        }
    }

    public func version(bucket: String, key: String, generation: String) throws(StoreError) -> ObjectRecord? {
        guard !generation.isEmpty else { return nil }
        return state.withLock { s in
            if let o = s.objects[bucket]?[key], o.generation == generation { return o }
            return s.versions[bucket]?[key]?.first { !$0.isDeleteMarker && $0.generation == generation }
        }
    }

    public func latestVersion(bucket: String, key: String) throws(StoreError) -> ObjectRecord? {
        state.withLock { s in s.objects[bucket]?[key] ?? s.versions[bucket]?[key]?.last }
    }

    public func putVersion(_ object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> PutOutcome {
        throw .internalFailure("putVersion: not yet")
    }

    public func completeUploadVersion(_ uploadId: String, object: ObjectRecord, condition: WriteCondition?)
        throws(StoreError) -> (outcome: PutOutcome, parts: [PartRecord])
    {
        throw .internalFailure("completeUploadVersion: not yet")
    }

    public func deleteVersion(bucket: String, key: String, versionId: String?, bypassGovernance: Bool, now: Double)
        throws(StoreError) -> DeleteOutcome
    {
        throw .internalFailure("deleteVersion: not yet")
    }

    public func listVersions(bucket: String, query: VersionListQuery) throws(StoreError) -> VersionPage {
        throw .internalFailure("listVersions: not yet")
    }

    public func setVersionTags(bucket: String, key: String, versionId: String?, tags: [Header]) throws(StoreError) {
        throw .internalFailure("setVersionTags: not yet")
    }

    public func changeLock(
        bucket: String, key: String, versionId: String?, _ change: LockChange, bypassGovernance: Bool, now: Double
    ) throws(StoreError) -> ObjectRecord {
        throw .internalFailure("changeLock: not yet")
    }
}
