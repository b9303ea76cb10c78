/// What a write did to its key's versions.
public struct PutOutcome: Sendable, Equatable {
    /// The version as stored, with its `versionId` and `versionSeq` assigned: the key's latest.
    public var stored: ObjectRecord
    /// The version it replaced and removed for good (unversioned and Suspended buckets: the
    /// previous null version), nil when none (always nil in an Enabled bucket, where the
    /// previous latest stays as a noncurrent version). Its replicas are queued for removal in
    /// the same transaction; its primary blobs are the caller's to remove.
    public var removed: ObjectRecord?

    public init(stored: ObjectRecord, removed: ObjectRecord?) {
        self.stored = stored
        self.removed = removed
    }
}

/// What a DELETE did.
public struct DeleteOutcome: Sendable, Equatable {
    /// The version (or delete marker) removed for good, nil when none was. Its replicas are
    /// queued for removal; its primary blobs are the caller's to remove.
    public var removed: ObjectRecord?
    /// The delete marker the DELETE added (versioned buckets, DELETE without a version id).
    public var marker: ObjectRecord?

    public init(removed: ObjectRecord?, marker: ObjectRecord?) {
        self.removed = removed
        self.marker = marker
    }
}

/// What a conditional `deleteVersion` expects of the key, checked in the delete's transaction
/// (`.preconditionFailed` otherwise, nothing changed).
public enum DeleteCondition: Sendable, Equatable {
    /// The key's latest entry still has this seq (a conditional DELETE: `If-Match` and friends
    /// were judged against that entry).
    case latestSeq(String)
    /// The version is still as the lifecycle runner judged it; never with the governance bypass.
    case judged(JudgedVersion)
}

/// The state the lifecycle runner judged a version in: a removal made on that judgement must
/// not reach a version that changed since (a client's write, a restored version).
public struct JudgedVersion: Sendable, Equatable {
    /// The version's seq (`ObjectRecord.versionSeq`; the null version's changes with each write).
    public var seq: String
    /// It was the key's latest entry; else a noncurrent one.
    public var latest: Bool

    public init(seq: String, latest: Bool) {
        self.seq = seq
        self.latest = latest
    }

    /// Whether the key's versions still are as judged: the version named (nil: the latest) has
    /// that seq, and is the latest exactly when it was.
    public func holds(named: ObjectRecord?, latest current: ObjectRecord?) -> Bool {
        guard let named, named.versionSeq == seq else { return false }
        return (current?.versionSeq == seq) == latest
    }
}

/// PutObjectRetention / PutObjectLegalHold.
public enum LockChange: Sendable, Equatable {
    /// Sets (or with nil removes) the version's retention, as `ObjectLock.retentionChange` allows.
    case retention(Retention?)
    case legalHold(Bool)
}

/// A ListObjectVersions page request. Entries come in key order (UTF-8 bytes), and within a
/// key newest first.
public struct VersionListQuery: Sendable, Equatable {
    public var prefix: String
    /// nil or "" means no delimiter.
    public var delimiter: String?
    /// Keys (and common prefixes) after this one; with `versionIdMarker`, the versions of this
    /// key older than that version come first.
    public var keyMarker: String
    /// A version id ("null" included) of `keyMarker`, "" for none. A version that is gone does
    /// not stop the listing (`VersionLister.markerSeq(forMissing:)`); `.noSuchVersion` only for
    /// an id no version can have.
    public var versionIdMarker: String
    public var maxKeys: Int

    public init(
        prefix: String = "", delimiter: String? = nil, keyMarker: String = "", versionIdMarker: String = "",
        maxKeys: Int = 1000
    ) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.keyMarker = keyMarker
        self.versionIdMarker = versionIdMarker
        self.maxKeys = maxKeys
    }
}

public struct VersionEntry: Sendable, Equatable {
    /// A version or a delete marker (`record.isDeleteMarker`).
    public var record: ObjectRecord
    /// The newest entry of its key.
    public var isLatest: Bool

    public init(record: ObjectRecord, isLatest: Bool) {
        self.record = record
        self.isLatest = isLatest
    }
}

public struct VersionPage: Sendable, Equatable {
    public var entries: [VersionEntry]
    public var commonPrefixes: [String]
    public var isTruncated: Bool
    /// Where the next page starts when truncated: the last entry's key and version id, or the
    /// last common prefix (then `nextVersionIdMarker` is nil).
    public var nextKeyMarker: String?
    public var nextVersionIdMarker: String?

    public init(
        entries: [VersionEntry], commonPrefixes: [String], isTruncated: Bool, nextKeyMarker: String?,
        nextVersionIdMarker: String?
    ) {
        self.entries = entries
        self.commonPrefixes = commonPrefixes
        self.isTruncated = isTruncated
        self.nextKeyMarker = nextKeyMarker
        self.nextVersionIdMarker = nextVersionIdMarker
    }
}
