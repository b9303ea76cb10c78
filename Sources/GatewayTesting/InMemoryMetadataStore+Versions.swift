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
        let latest = state.withLock { s in s.objects[bucket]?[key] ?? s.versions[bucket]?[key]?.last }
        if let hook = afterLatestRead.withLock({ h in
            defer { h = nil }
            return h
        }) {
            hook(bucket, key)
        }
        return latest
    }

    /// Calls `hook` (bucket, key) once, right after the next `latestVersion` read and before its
    /// caller sees the answer: a write that lands between a check and the change it guards.
    public func onceAfterLatestVersionRead(_ hook: @escaping @Sendable (String, String) -> Void) {
        afterLatestRead.withLock { $0 = hook }
    }

    public func putVersion(_ object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> PutOutcome {
        try state.withLock { s throws(StoreError) -> PutOutcome in
            let outcome = try s.writeVersion(object, condition: condition)
            auditReplaced(outcome, s)
            audit(AuditEntry.object("object.put", outcome.stored))
            return outcome
        }
    }

    public func completeUploadVersion(_ uploadId: String, object o: ObjectRecord, condition: WriteCondition?)
        throws(StoreError) -> (outcome: PutOutcome, parts: [PartRecord])
    {
        try state.withLock { s throws(StoreError) -> (outcome: PutOutcome, parts: [PartRecord]) in
            guard s.uploads[uploadId] != nil else { throw .noSuchUpload }
            let parts = (s.parts[uploadId] ?? [:]).values.sorted { $0.partNumber < $1.partNumber }
            let current = Set(parts.map(\.blob))
            guard o.parts.allSatisfy({ current.contains($0.blob) }) else { throw .conflict }
            let outcome = try s.writeVersion(o, condition: condition)
            auditReplaced(outcome, s)
            s.uploads[uploadId] = nil
            s.parts[uploadId] = nil
            audit(AuditEntry.uploadComplete(outcome.stored, uploadId: uploadId))
            return (outcome, parts)
        }
    }

    /// A null version a write in a versioned bucket replaced: its removal is audited too.
    func auditReplaced(_ outcome: PutOutcome, _ s: State) {
        guard let removed = outcome.removed, (s.buckets[removed.bucket]?.versioning ?? .unversioned) != .unversioned
        else { return }
        audit(AuditEntry.objectDelete(removed, versioned: true))
    }

    public func deleteVersion(
        bucket: String, key: String, versionId: String?, bypassGovernance: Bool, now: Double,
        condition: DeleteCondition?
    ) throws(StoreError) -> DeleteOutcome {
        let (ifLatestSeq, judged): (String?, JudgedVersion?) =
            switch condition {
            case .latestSeq(let seq): (seq, nil)
            case .judged(let j): (nil, j)
            case nil: (nil, nil)
            }
        // The lifecycle runner's removals never bypass a GOVERNANCE retention.
        let bypassGovernance = judged == nil && bypassGovernance
        return try state.withLock { s throws(StoreError) -> DeleteOutcome in
            if let judged {
                let latest = s.objects[bucket]?[key] ?? s.versions[bucket]?[key]?.last
                let named = versionId.map { s.version(bucket, key, $0) } ?? latest
                guard judged.holds(named: named, latest: latest) else { throw .preconditionFailed }
            }
            let versioning = s.buckets[bucket]?.versioning ?? .unversioned
            if let ifLatestSeq,
                (s.objects[bucket]?[key] ?? s.versions[bucket]?[key]?.last)?.versionSeq != ifLatestSeq
            {
                throw .preconditionFailed
            }
            guard versionId == nil && versioning != .unversioned else {
                // One version for good: the one named, or the null one (unversioned DELETE).
                guard let v = s.version(bucket, key, versionId ?? VersionId.null) else {
                    return DeleteOutcome(removed: nil, marker: nil)
                }
                let bypassed = try ObjectLock.requireRemovable(v, now: now, bypassGovernance: bypassGovernance)
                s.remove(v, now: now)
                audit(AuditEntry.objectDelete(v, bypassGovernance: bypassed, versioned: versioning != .unversioned))
                return DeleteOutcome(removed: v, marker: nil)
            }
            // Suspended: the null version makes way for the null marker.
            var removed: ObjectRecord?
            var marker = ObjectRecord.deleteMarker(bucket: bucket, key: key, at: now)
            marker.versionSeq = VersionId.make(after: s.newestSeq(bucket, key), now: now)
            marker.versionId = versioning == .enabled ? marker.versionSeq : VersionId.null
            var demote = true
            if versioning == .suspended, let v = s.version(bucket, key, VersionId.null) {
                let bypassed = try ObjectLock.requireRemovable(v, now: now, bypassGovernance: bypassGovernance)
                demote = !s.drop(v)
                s.queueJobs(replacing: v, with: nil, now: now)
                audit(AuditEntry.objectDelete(v, bypassGovernance: bypassed, versioned: true))
                removed = v
            }
            if demote { s.demoteLatest(bucket, key, now: now) }
            s.versions[bucket, default: [:]][key, default: []].append(marker)
            audit(AuditEntry.objectDeleteMarker(marker))
            return DeleteOutcome(removed: removed, marker: marker)
        }
    }

    public func storedBytesPerZone() throws(StoreError) -> [String: Int64] {
        state.withLock { s in
            var zones: [String: Int64] = [:]
            let all = s.objects.values.flatMap(\.values) + s.versions.values.flatMap(\.values).flatMap { $0 }
            for o in all { o.addStoredBytes(to: &zones) }
            return zones
        }
    }

    public func listVersions(bucket: String, query: VersionListQuery) throws(StoreError) -> VersionPage {
        let all = try state.withLock { s throws(StoreError) -> (entries: [ObjectRecord], markerSeq: String?) in
            var markerSeq: String?
            if !query.versionIdMarker.isEmpty {
                if let v = s.version(bucket, query.keyMarker, query.versionIdMarker) {
                    markerSeq = v.versionSeq
                } else {
                    guard let seq = VersionLister.markerSeq(forMissing: query.versionIdMarker) else {
                        throw .noSuchVersion
                    }
                    markerSeq = seq
                }
            }
            let rows = Array((s.objects[bucket] ?? [:]).values) + (s.versions[bucket] ?? [:]).values.joined()
            return (rows.sorted(by: VersionLister.inOrder), markerSeq)
        }
        var lister = VersionLister(query: query, markerSeq: all.markerSeq)
        var seek: String?
        for v in all.entries {
            if lister.done { break }
            if let k = seek, VersionLister.precedes(v.key, k) { continue }
            seek = lister.offer(v) ?? seek
        }
        return lister.result
    }

    public func setVersionTags(bucket: String, key: String, versionId: String?, tags: [Header]) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard var v = versionId.map({ s.version(bucket, key, $0) }) ?? s.objects[bucket]?[key] else {
                throw versionId == nil ? .noSuchKey : .noSuchVersion
            }
            v.tags = tags
            s.replace(v)
            audit(AuditEntry.objectTags(bucket: bucket, key: key, versionId: v.versionId, tags))
        }
    }

    public func changeLock(
        bucket: String, key: String, versionId: String?, _ change: LockChange, bypassGovernance: Bool, now: Double
    ) throws(StoreError) -> ObjectRecord {
        try state.withLock { s throws(StoreError) -> ObjectRecord in
            guard let b = s.buckets[bucket] else { throw .noSuchBucket }
            guard b.objectLock != nil else {
                throw .invalidRequest("Bucket is missing Object Lock Configuration")
            }
            guard var v = versionId.map({ s.version(bucket, key, $0) }) ?? s.objects[bucket]?[key] else {
                throw versionId == nil ? .noSuchKey : .noSuchVersion
            }
            guard !v.isDeleteMarker else { throw .noSuchVersion }
            let entry = try ObjectLock.apply(change, to: &v, now: now, bypassGovernance: bypassGovernance)
            s.replace(v)
            audit(entry)
            return v
        }
    }
}

/// The version bookkeeping, with the SQLite store's rules (docs/VERSIONING.md, "Storage model").
extension InMemoryMetadataStore.State {
    func version(_ bucket: String, _ key: String, _ versionId: String) -> ObjectRecord? {
        if let o = objects[bucket]?[key], o.versionId == versionId { return o }
        return versions[bucket]?[key]?.first { $0.versionId == versionId }
    }

    /// The key's greatest seq in either table ("" when it has none).
    func newestSeq(_ bucket: String, _ key: String) -> String {
        max(objects[bucket]?[key]?.versionSeq ?? "", versions[bucket]?[key]?.last?.versionSeq ?? "")
    }

    /// Writes `version` back where it is (same seq).
    mutating func replace(_ v: ObjectRecord) {
        if objects[v.bucket]?[v.key]?.versionSeq == v.versionSeq {
            objects[v.bucket]?[v.key] = v
        } else if let i = versions[v.bucket]?[v.key]?.firstIndex(where: { $0.versionSeq == v.versionSeq }) {
            versions[v.bucket]?[v.key]?[i] = v
        }
    }

    /// The latest entry stops being the latest at `now`: an object moves to the noncurrent
    /// versions, a latest delete marker gets its noncurrent time.
    mutating func demoteLatest(_ bucket: String, _ key: String, now: Double) {
        if var o = objects[bucket]?.removeValue(forKey: key) {
            o.noncurrentSince = now
            versions[bucket, default: [:]][key, default: []].append(o)
            versions[bucket]?[key]?.sort { $0.versionSeq < $1.versionSeq }
        } else if let last = versions[bucket]?[key]?.indices.last {
            versions[bucket]?[key]?[last].noncurrentSince = now
        }
    }

    /// Takes `v` out of its table (nothing else); true when it was the key's latest.
    mutating func drop(_ v: ObjectRecord) -> Bool {
        if objects[v.bucket]?[v.key]?.versionSeq == v.versionSeq {
            objects[v.bucket]?[v.key] = nil
            return true
        }
        let wasLatest =
            objects[v.bucket]?[v.key] == nil && versions[v.bucket]?[v.key]?.last?.versionSeq == v.versionSeq
        versions[v.bucket]?[v.key]?.removeAll { $0.versionSeq == v.versionSeq }
        if versions[v.bucket]?[v.key]?.isEmpty == true { versions[v.bucket]?[v.key] = nil }
        return wasLatest
    }

    /// Removes `v` for good, its copies queued for removal; when it was the latest the next
    /// newest becomes the latest (into `objects` unless it is a delete marker).
    mutating func remove(_ v: ObjectRecord, now: Double) {
        if drop(v), var next = versions[v.bucket]?[v.key]?.popLast() {
            next.noncurrentSince = 0
            if next.isDeleteMarker {
                versions[v.bucket]?[v.key]?.append(next)
            } else {
                objects[v.bucket, default: [:]][v.key] = next
                if versions[v.bucket]?[v.key]?.isEmpty == true { versions[v.bucket]?[v.key] = nil }
            }
        }
        queueJobs(replacing: v, with: nil, now: now)
    }

    /// `putVersion`'s rules: `o` becomes the latest version; Enabled keeps the previous latest
    /// as noncurrent, otherwise the null version goes (lock-checked, never bypassed).
    mutating func writeVersion(_ o: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> PutOutcome {
        guard let b = buckets[o.bucket] else { throw .noSuchBucket }
        let now = o.lastModified
        if let condition, !condition.holds(for: objects[o.bucket]?[o.key]) { throw .preconditionFailed }
        var stored = o
        stored.versionSeq = VersionId.make(after: newestSeq(o.bucket, o.key), now: now)
        stored.versionId = b.versioning == .enabled ? stored.versionSeq : VersionId.null
        stored.noncurrentSince = 0
        var removed: ObjectRecord?
        var demote = true
        if b.versioning != .enabled, let v = version(o.bucket, o.key, VersionId.null) {
            _ = try ObjectLock.requireRemovable(v, now: now, bypassGovernance: false)
            removed = v
            // What is left was noncurrent already when the null version was the latest.
            demote = !drop(v)
        }
        // Whatever else is latest (a non-null version, or a marker) becomes noncurrent.
        if demote { demoteLatest(o.bucket, o.key, now: now) }
        objects[o.bucket, default: [:]][o.key] = stored
        queueJobs(replacing: removed, with: stored, now: now)
        return PutOutcome(stored: stored, removed: removed)
    }
}
