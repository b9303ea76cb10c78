/// Object Lock retention modes.
public enum ObjectLockMode: String, Sendable, Equatable {
    /// Removable before its date only with `x-amz-bypass-governance-retention` and the
    /// `s3:BypassGovernanceRetention` permission.
    case governance = "GOVERNANCE"
    /// Nobody removes or shortens it before its date.
    case compliance = "COMPLIANCE"
}

/// A version's retention: mode and the time (seconds since 1970) until which it holds.
public struct Retention: Sendable, Equatable {
    public var mode: ObjectLockMode
    public var until: Double
    public init(mode: ObjectLockMode, until: Double) {
        self.mode = mode
        self.until = until
    }
}

/// A bucket's Object Lock configuration (present only on buckets with Object Lock enabled,
/// which can never be disabled).
public struct ObjectLockConfig: Sendable, Equatable {
    /// The retention new versions get when the request names none.
    public var defaultRetention: DefaultRetention?
    public init(defaultRetention: DefaultRetention? = nil) { self.defaultRetention = defaultRetention }

    public struct DefaultRetention: Sendable, Equatable {
        public var mode: ObjectLockMode
        /// Exactly one of days and years is set (positive).
        public var days: Int?
        public var years: Int?
        public init(mode: ObjectLockMode, days: Int? = nil, years: Int? = nil) {
            self.mode = mode
            self.days = days
            self.years = years
        }

        /// The retention of a version written at `time`: `days` × 86400 s, or `years` × 365 days
        /// (AWS counts a year as 365 days for default retention).
        public func retention(from time: Double) -> Retention {
            let days = self.days ?? (self.years ?? 0) * 365
            return Retention(mode: mode, until: time + Double(days) * 86_400)
        }
    }
}

/// The lock settings a write asks for (headers of PUT, copy, CreateMultipartUpload, POST
/// fields), kept on a multipart upload until it completes.
public struct LockSettings: Sendable, Equatable {
    public var retention: Retention?
    public var legalHold: Bool
    public init(retention: Retention? = nil, legalHold: Bool = false) {
        self.retention = retention
        self.legalHold = legalHold
    }
}

/// The one decision whether a version may go (DESIGN: one policy decision in one function that
/// every path calls). Every store transaction that removes a version or drops a copy of it
/// asks here first, so no caller — request, lifecycle, replica-count lowering, repair, orphan
/// sweep, admin tool — can remove a locked version's bytes.
public enum ObjectLock {
    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused; the text is for logs and the S3 error message.
        case denied(String)
    }

    /// Whether `version` may be removed at `now`. `bypassGovernance` is true only when the
    /// request carried `x-amz-bypass-governance-retention: true` and the caller holds
    /// `s3:BypassGovernanceRetention`; agent paths always pass false.
    public static func decide(_ version: ObjectRecord, now: Double, bypassGovernance: Bool) -> Decision {
        if version.legalHold { return .denied("Object is under a legal hold") }
        guard let r = version.retention, r.until > max(now, 0) else { return .allowed }
        switch r.mode {
        case .compliance: return .denied("Object is locked in COMPLIANCE mode until its retain-until date")
        case .governance:
            return bypassGovernance
                ? .allowed : .denied("Object is locked in GOVERNANCE mode until its retain-until date")
        }
    }

    /// Whether PutObjectRetention may replace `old` with `new` (nil: remove) at `now`. Extending
    /// (same or stronger mode, later or equal date) is always allowed; once the old retention
    /// has passed anything goes; otherwise COMPLIANCE can never be shortened, removed or
    /// weakened, GOVERNANCE only with the bypass.
    public static func retentionChange(from old: Retention?, to new: Retention?, now: Double, bypassGovernance: Bool)
        -> Decision
    {
        guard let old, old.until > now else { return .allowed }
        if let new, new.until >= old.until, new.mode == old.mode || new.mode == .compliance { return .allowed }
        switch old.mode {
        case .compliance: return .denied("A COMPLIANCE retention cannot be shortened or removed")
        case .governance:
            return bypassGovernance ? .allowed : .denied("A GOVERNANCE retention can be shortened only with the bypass")
        }
    }

    /// `decide` as every store transaction that removes a version applies it: `.objectLocked`
    /// when denied; true when only the governance bypass let the version go (the audit says so).
    public static func requireRemovable(_ version: ObjectRecord, now: Double, bypassGovernance: Bool)
        throws(StoreError) -> Bool
    {
        if case .denied(let why) = decide(version, now: now, bypassGovernance: bypassGovernance) {
            throw .objectLocked(why)
        }
        return bypassGovernance && decide(version, now: now, bypassGovernance: false) != .allowed
    }

    /// PutObjectRetention / PutObjectLegalHold as the stores apply them: changes `version` as
    /// `retentionChange` allows (`.objectLocked` otherwise) and returns the audit entry to
    /// append in the same transaction.
    public static func apply(_ change: LockChange, to version: inout ObjectRecord, now: Double, bypassGovernance: Bool)
        throws(StoreError) -> AuditEntry
    {
        switch change {
        case .retention(let r):
            if case .denied(let why) = retentionChange(
                from: version.retention, to: r, now: now, bypassGovernance: bypassGovernance)
            {
                throw .objectLocked(why)
            }
            let bypassed =
                bypassGovernance
                && retentionChange(from: version.retention, to: r, now: now, bypassGovernance: false) != .allowed
            version.retention = r
            return AuditEntry.objectRetention(version, bypassGovernance: bypassed)
        case .legalHold(let on):
            version.legalHold = on
            return AuditEntry.objectLegalHold(version)
        }
    }
}
