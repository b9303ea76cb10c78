/// Every record a store's change appends, in one place: the SQLite store and the in-memory
/// double both build their entries here, so the two cannot drift apart (a parity test drives
/// both). Details hold names, counts and ids, never contents, metadata values or secrets.
extension AuditEntry {
    /// At most this many ids are listed in a detail (the count says how many there were).
    public static let maxListedIds = 100

    // MARK: buckets

    public static func bucketCreate(_ b: BucketRecord) -> AuditEntry {
        var detail: [(String, AuditValue)] = [
            ("location_constraint", .string(b.locationConstraint)), ("zones", .strings(b.zones)),
            ("replica_count", .int(Int64(b.replicaCount))), ("owner", .string(b.owner)),
        ]
        // Created with Object Lock (and so versioning) on.
        if b.versioning != .unversioned { detail.append(("versioning", .string(b.versioning.rawValue))) }
        if b.objectLock != nil { detail.append(("object_lock", .bool(true))) }
        // What access it was created with (rows of older writers leave them out).
        if !b.ownership.isEmpty { detail.append(("object_ownership", .string(b.ownership))) }
        if !b.publicAccessBlock.isEmpty { detail.append(("public_access_block", .string(b.publicAccessBlock))) }
        if !b.acl.isEmpty { detail.append(("grants", .string(b.acl))) }
        return AuditEntry("bucket.create", bucket: b.name, detail: detail)
    }

    /// The bucket, and the unfinished uploads that went with it (the first ids in order, and
    /// how many).
    public static func bucketDelete(_ name: String, uploads: [String] = []) -> AuditEntry {
        AuditEntry(
            "bucket.delete", bucket: name,
            detail: uploads.isEmpty
                ? [] : [("uploads", .strings(listed(uploads))), ("upload_count", .int(Int64(uploads.count)))])
    }

    static func listed(_ ids: [String]) -> [String] { Array(ids.sorted().prefix(maxListedIds)) }

    public static func bucketOwner(bucket: String, owner: String) -> AuditEntry {
        AuditEntry("bucket.owner", bucket: bucket, detail: [("owner", .string(owner))])
    }

    /// A user's buckets handed to another owner (the user was deleted).
    public static func bucketsReassigned(to owner: String, count: Int) -> AuditEntry {
        AuditEntry("bucket.owner", detail: [("owner", .string(owner)), ("buckets", .int(Int64(count)))])
    }

    public static func bucketReplicas(bucket: String, count: Int) -> AuditEntry {
        AuditEntry("bucket.replicas", bucket: bucket, detail: [("count", .int(Int64(count)))])
    }

    public static func bucketZones(bucket: String, from: [String], to zones: [String]) -> AuditEntry {
        AuditEntry("bucket.zones", bucket: bucket, detail: [("from", .strings(from)), ("zones", .strings(zones))])
    }

    public static func readThrough(bucket: String, run: String) -> AuditEntry {
        AuditEntry("bucket.read-through", bucket: bucket, detail: [("run", .string(run))])
    }

    public static func readThroughEnd(bucket: String, run: String) -> AuditEntry {
        AuditEntry("bucket.read-through-end", bucket: bucket, detail: [("run", .string(run))])
    }

    public static func bucketVersioning(bucket: String, _ status: Versioning) -> AuditEntry {
        AuditEntry("bucket.versioning", bucket: bucket, detail: [("status", .string(status.rawValue))])
    }

    /// Object Lock enabled, or its default retention changed.
    public static func bucketObjectLock(bucket: String, _ c: ObjectLockConfig) -> AuditEntry {
        var detail: [(String, AuditValue)] = []
        if let d = c.defaultRetention {
            detail.append(("mode", .string(d.mode.rawValue)))
            if let days = d.days { detail.append(("days", .int(Int64(days)))) }
            if let years = d.years { detail.append(("years", .int(Int64(years)))) }
        }
        return AuditEntry("bucket.object-lock", bucket: bucket, detail: detail)
    }

    /// The lifecycle configuration set (its rule ids) or, with none, removed.
    public static func bucketLifecycle(bucket: String, ruleIds: [String]?) -> AuditEntry {
        guard let ruleIds else { return AuditEntry("bucket.lifecycle-delete", bucket: bucket) }
        return AuditEntry(
            "bucket.lifecycle", bucket: bucket,
            detail: [("rule_ids", .strings(listed(ruleIds))), ("rules", .int(Int64(ruleIds.count)))])
    }

    // MARK: objects and uploads

    /// The object's copies as they now are.
    public static func objectReplicas(_ o: ObjectRecord) -> AuditEntry {
        AuditEntry(
            "object.replicas", bucket: o.bucket, key: o.key,
            detail: [("zones", .strings([o.zone] + o.replicas.map(\.zone)))])
    }

    public static func objectRepair(_ repaired: ObjectRecord, restored: some Collection<String>) -> AuditEntry {
        AuditEntry(
            "object.repair", bucket: repaired.bucket, key: repaired.key,
            detail: [
                ("zones", .strings([repaired.zone] + repaired.replicas.map(\.zone))),
                ("restored", .strings(restored.sorted())),
            ])
    }

    public static func uploadCreate(_ u: UploadRecord) -> AuditEntry {
        AuditEntry(
            "upload.create", bucket: u.bucket, key: u.key,
            detail: [("upload_id", .string(u.uploadId)), ("zone", .string(u.zone))])
    }

    public static func uploadComplete(_ o: ObjectRecord, uploadId: String) -> AuditEntry {
        var detail: [(String, AuditValue)] = [
            ("upload_id", .string(uploadId)), ("etag", .string(o.etag)), ("size", .int(o.size)),
            ("parts", .int(Int64(o.parts.count))), ("zone", .string(o.zone)),
        ]
        if o.versionId != VersionId.null { detail.append(("version_id", .string(o.versionId))) }
        detail += accessDetail(o)
        return AuditEntry("upload.complete", bucket: o.bucket, key: o.key, detail: detail)
    }

    // MARK: versions

    /// A version (or delete marker) removed for good, or an unversioned object deleted.
    /// `bypassGovernance`: the removal needed the bypass of a GOVERNANCE retention. `versioned`:
    /// the bucket is (or was) versioned, so a null version names its id "null" too (an
    /// unversioned bucket's records stay as they were).
    public static func objectDelete(_ v: ObjectRecord, bypassGovernance: Bool = false, versioned: Bool = false)
        -> AuditEntry
    {
        var detail = objectDetail(v)
        if versioned && !v.isDeleteMarker && v.versionId == VersionId.null {
            detail.insert(("version_id", .string(v.versionId)), at: 0)
        }
        if bypassGovernance { detail.append(("bypass_governance", .bool(true))) }
        return AuditEntry("object.delete", bucket: v.bucket, key: v.key, detail: detail)
    }

    /// A delete marker added (DELETE without a version id in a versioned bucket).
    public static func objectDeleteMarker(_ m: ObjectRecord) -> AuditEntry {
        AuditEntry("object.delete-marker", bucket: m.bucket, key: m.key, detail: [("version_id", .string(m.versionId))])
    }

    /// A version's tag set replaced: the keys only, and the version when it is not the null one.
    public static func objectTags(bucket: String, key: String, versionId: String, _ tags: [Header]) -> AuditEntry {
        var detail: [(String, AuditValue)] = [("tag_keys", .strings(tags.map(\.name)))]
        if versionId != VersionId.null { detail.append(("version_id", .string(versionId))) }
        return AuditEntry("object.tags", bucket: bucket, key: key, detail: detail)
    }

    /// A version's retention set or removed (mode "" and retain_until 0); `bypassGovernance`:
    /// the change needed the bypass of a GOVERNANCE retention.
    public static func objectRetention(_ v: ObjectRecord, bypassGovernance: Bool) -> AuditEntry {
        AuditEntry(
            "object.retention", bucket: v.bucket, key: v.key,
            detail: [
                ("version_id", .string(v.versionId)), ("mode", .string(v.retention?.mode.rawValue ?? "")),
                ("retain_until", .int(Int64(v.retention?.until ?? 0))), ("bypass_governance", .bool(bypassGovernance)),
            ])
    }

    public static func objectLegalHold(_ v: ObjectRecord) -> AuditEntry {
        AuditEntry(
            "object.legal-hold", bucket: v.bucket, key: v.key,
            detail: [("version_id", .string(v.versionId)), ("status", .string(v.legalHold ? "ON" : "OFF"))])
    }

    public static func uploadAbort(bucket: String, key: String, uploadId: String, parts: Int) -> AuditEntry {
        AuditEntry(
            "upload.abort", bucket: bucket, key: key,
            detail: [("upload_id", .string(uploadId)), ("parts", .int(Int64(parts)))])
    }

    // MARK: changes outside the store, recorded after the fact

    /// Zones added to the configuration file by a provider import (served after a reload).
    public static func zonesImported(_ zones: [String]) -> AuditEntry {
        AuditEntry("config.zones-imported", detail: [("zones", .strings(zones))])
    }

    /// Unreferenced blobs of `bucket` removed from its zones (the residency audit).
    public static func orphansRemoved(bucket: String, count: Int, zones: [String]) -> AuditEntry {
        AuditEntry(
            "zone.orphans-removed", bucket: bucket,
            detail: [("count", .int(Int64(count))), ("zones", .strings(zones.sorted()))])
    }

    /// Zone-side multipart uploads no gateway upload owned, aborted.
    public static func uploadsSwept(count: Int, zones: [String]) -> AuditEntry {
        AuditEntry("zone.uploads-swept", detail: [("count", .int(Int64(count))), ("zones", .strings(zones.sorted()))])
    }

    public static func migrationStart(run: String, readThrough: Bool) -> AuditEntry {
        AuditEntry("migration.start", detail: [("run", .string(run)), ("read_through", .bool(readThrough))])
    }

    public static func migrationCancel(run: String) -> AuditEntry {
        AuditEntry("migration.cancel", detail: [("run", .string(run))])
    }

    public static func snapshotDelete(tenant: String, id: String) -> AuditEntry {
        AuditEntry("snapshot.delete", detail: [("tenant", .string(tenant)), ("snapshot", .string(id))])
    }

    // MARK: the replication queue

    /// Dead jobs put back in the queue: the first `maxListedIds` ids in order, and how many.
    public static func jobRetry(ids: [Int64]) -> AuditEntry {
        AuditEntry(
            "job.retry",
            detail: [
                ("jobs", .strings(ids.sorted().prefix(maxListedIds).map { String($0) })),
                ("count", .int(Int64(ids.count))),
            ])
    }

    public static func jobCancel(_ j: ReplicationJob) -> AuditEntry {
        AuditEntry(
            "job.cancel", bucket: j.bucket, key: j.key,
            detail: [("job", .int(j.id)), ("kind", .string(j.kind.rawValue)), ("zone", .string(j.zone))])
    }

    // MARK: identities (access key ids only: never a secret, its sealed form or a token)

    public static func tenantCreate(_ id: String) -> AuditEntry {
        AuditEntry("tenant.create", detail: [("tenant", .string(id))])
    }

    public static func tenantDelete(_ id: String) -> AuditEntry {
        AuditEntry("tenant.delete", detail: [("tenant", .string(id))])
    }

    public static func userCreate(_ u: UserRecord) -> AuditEntry {
        AuditEntry(
            "user.create", detail: [("tenant", .string(u.tenant)), ("user", .string(u.name)), ("id", .string(u.id))])
    }

    public static func userPermissions(tenant: String, user: String, _ permissions: PermissionSet) -> AuditEntry {
        AuditEntry(
            "user.permissions",
            detail: [
                ("tenant", .string(tenant)), ("user", .string(user)),
                ("actions", .strings(permissions.rules.keys.sorted())),
            ])
    }

    /// The user and the access keys (and sessions) removed with it: the first ids in order,
    /// and how many.
    public static func userDelete(tenant: String, user: String, accessKeys: [String] = []) -> AuditEntry {
        AuditEntry(
            "user.delete",
            detail: [
                ("tenant", .string(tenant)), ("user", .string(user)), ("access_key_ids", .strings(listed(accessKeys))),
                ("access_key_count", .int(Int64(accessKeys.count))),
            ])
    }

    public static func credentialCreate(_ c: CredentialRecord) -> AuditEntry {
        var detail: [(String, AuditValue)] = [
            ("tenant", .string(c.tenant)), ("user", .string(c.user)), ("access_key_id", .string(c.accessKey)),
        ]
        if let parent = c.parentKey { detail.append(("parent_key", .string(parent))) }
        return AuditEntry(c.isSession ? "session.create" : "credential.create", detail: detail)
    }

    public static func credentialStatus(accessKey: String, _ status: CredentialRecord.Status) -> AuditEntry {
        AuditEntry(
            "credential.status", detail: [("access_key_id", .string(accessKey)), ("status", .string(status.rawValue))])
    }

    public static func credentialRotate(accessKey: String) -> AuditEntry {
        AuditEntry("credential.rotate", detail: [("access_key_id", .string(accessKey))])
    }

    public static func credentialDelete(accessKey: String) -> AuditEntry {
        AuditEntry("credential.delete", detail: [("access_key_id", .string(accessKey))])
    }

    public static func sessionsDeleted(parentKey: String, count: Int) -> AuditEntry {
        AuditEntry("session.delete", detail: [("parent_key", .string(parentKey)), ("count", .int(Int64(count)))])
    }

    /// Every sealed secret re-sealed under a new master key.
    public static func credentialsResealed(count: Int) -> AuditEntry {
        AuditEntry("credential.reseal", detail: [("count", .int(Int64(count)))])
    }

    /// The chain was switched off (`[audit] enabled = false`): changes until it is back on
    /// have no record, and the chain says so.
    public static func auditDisabled() -> AuditEntry { AuditEntry("audit.disabled") }

    public static func sessionsExpired(count: Int) -> AuditEntry {
        AuditEntry("session.expire", detail: [("count", .int(Int64(count)))])
    }
}

// MARK: issue 13 cors

extension AuditEntry {
    /// PutBucketCors (`rules`: how many) or DeleteBucketCors (nil).
    public static func bucketCORS(bucket: String, rules: Int?) -> AuditEntry {
        guard let rules else { return AuditEntry("bucket.cors-delete", bucket: bucket) }
        return AuditEntry("bucket.cors", bucket: bucket, detail: [("rules", .int(Int64(rules)))])
    }
}

// MARK: issue 13 sse-core

extension AuditEntry {
    /// A KMS key made (an admin's SSE-KMS key, or a tenant's SSE-S3 key on first use); never
    /// key material.
    public static func kmsKeyCreate(_ k: KMSKeyRecord) -> AuditEntry {
        AuditEntry(
            "kms.key-create",
            detail: [
                ("id", .string(k.id)), ("tenant", .string(k.tenant)), ("alias", .string(k.alias)),
                ("kind", .string(k.kind)),
            ])
    }

    /// A new KEK version, current from now on.
    public static func kmsKeyRotate(id: String, version: Int) -> AuditEntry {
        AuditEntry("kms.key-rotate", detail: [("id", .string(id)), ("version", .int(Int64(version)))])
    }
}

// MARK: issue 13 policy
extension AuditEntry {
    /// A bucket policy set: the SHA-256 (hex) of the document as stored and whether it is public
    /// (the document itself may name principals and addresses: never in the chain).
    public static func bucketPolicy(bucket: String, sha256: String, isPublic: Bool) -> AuditEntry {
        AuditEntry("bucket.policy", bucket: bucket, detail: [("sha256", .string(sha256)), ("public", .bool(isPublic))])
    }

    public static func bucketPolicyDelete(bucket: String) -> AuditEntry {
        AuditEntry("bucket.policy-delete", bucket: bucket)
    }
}

// MARK: issue 13 acl

extension AuditEntry {
    /// A bucket ACL set (its grants as stored, `AccessControlList.encoded`: canonical ids and
    /// group names; "" is the owner's FULL_CONTROL alone).
    public static func bucketACL(bucket: String, grants: String) -> AuditEntry {
        AuditEntry("bucket.acl", bucket: bucket, detail: [("grants", .string(grants))])
    }

    /// An object version's ACL set (PutObjectAcl: the version's owner never changes with it).
    public static func objectACL(bucket: String, key: String, versionId: String, grants: String) -> AuditEntry {
        AuditEntry(
            "object.acl", bucket: bucket, key: key,
            detail: [("version_id", .string(versionId)), ("grants", .string(grants))])
    }

    /// Object Ownership set ("" : the configuration removed).
    public static func bucketOwnership(bucket: String, _ ownership: String) -> AuditEntry {
        ownership.isEmpty
            ? AuditEntry("bucket.ownership-delete", bucket: bucket)
            : AuditEntry("bucket.ownership", bucket: bucket, detail: [("object_ownership", .string(ownership))])
    }

    /// The public access block set (its four switches, by their XML names: BlockPublicAcls →
    /// block_public_acls) or, with nil, removed.
    public static func bucketPublicAccessBlock(bucket: String, _ settings: [(String, Bool)]?) -> AuditEntry {
        guard let settings else { return AuditEntry("bucket.public-access-block-delete", bucket: bucket) }
        func snake(_ name: String) -> String {
            name.enumerated().map { i, c in c.isUppercase ? (i > 0 ? "_" : "") + c.lowercased() : String(c) }
                .joined()
        }
        return AuditEntry(
            "bucket.public-access-block", bucket: bucket, detail: settings.map { (snake($0.0), .bool($0.1)) })
    }
}

// MARK: issue 13 sse

extension AuditEntry {
    /// The bucket's default encryption set (`key_id`: the KMS key's id, "" for none named).
    public static func bucketEncryption(bucket: String, _ d: DefaultEncryption) -> AuditEntry {
        AuditEntry(
            "bucket.encryption", bucket: bucket,
            detail: [
                ("algorithm", .string(d.algorithm.rawValue)), ("key_id", .string(d.kmsKeyId ?? "")),
                ("bucket_key", .bool(d.bucketKeyEnabled)),
            ])
    }

    public static func bucketEncryptionDelete(bucket: String) -> AuditEntry {
        AuditEntry("bucket.encryption-delete", bucket: bucket)
    }

    /// A KMS key enabled, disabled or renamed (its alias) through the admin API.
    public static func kmsKeyState(_ k: KMSKeyRecord) -> AuditEntry {
        AuditEntry(
            "kms.key-state",
            detail: [
                ("id", .string(k.id)), ("tenant", .string(k.tenant)), ("state", .string(k.state)),
                ("alias", .string(k.alias)),
            ])
    }
}

// MARK: issue 13 keyrot

extension AuditEntry {
    /// `s3gw keys rotate`: `count` KEK versions of key `keyId` re-sealed under the current master
    /// key (the key material is unchanged; never in the chain).
    public static func kekResealed(keyId: String, count: Int) -> AuditEntry {
        AuditEntry("keys.kek-resealed", detail: [("count", .int(Int64(count))), ("key_id", .string(keyId))])
    }

    /// `s3gw keys rewrap`: `count` data keys re-wrapped under version `version` of key `keyId`
    /// (envelopes only; no object byte changes).
    public static func keysRewrap(count: Int, keyId: String, version: Int) -> AuditEntry {
        AuditEntry(
            "keys.rewrap",
            detail: [("count", .int(Int64(count))), ("key_id", .string(keyId)), ("version", .int(Int64(version)))])
    }
}
