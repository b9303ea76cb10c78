import GatewayCore
import Logging
import S3Protocol
import SigV4

/// Object Lock on the write path: the lock headers of PUT, CopyObject, CreateMultipartUpload
/// (POST: the same names as form fields), the bucket's default retention, S3's digest rule,
/// and the lock headers of GET/HEAD (the governance bypass: `governanceBypass`).
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html
enum LockHeaders {
    static let mode = "x-amz-object-lock-mode"
    static let retainUntil = "x-amz-object-lock-retain-until-date"
    static let legalHold = "x-amz-object-lock-legal-hold"
    static let bypass = "x-amz-bypass-governance-retention"

    /// The lock a write names itself (nil: it names no lock header at all), validated as S3
    /// does: mode and date both or neither, the date in the future, the hold ON or OFF.
    /// `pairs` are lowercased names (request headers or POST form fields); the values are S3's
    /// enums and as case-sensitive as there (`governance`, `on` are refused).
    static func explicit(_ pairs: [(name: String, value: String)], now: Double) throws(S3Error) -> LockSettings? {
        func value(_ name: String) -> String? {
            pairs.first { $0.name == name }?.value.trimmingCharacters(in: .whitespaces)
        }
        let mode = value(mode)
        let until = value(retainUntil)
        let hold = value(legalHold)
        if mode == nil && until == nil && hold == nil { return nil }
        var settings = LockSettings()
        switch (mode, until) {
        case (nil, nil): break
        case (let mode?, let until?):
            guard let m = ObjectLockMode(rawValue: mode) else {
                throw S3Error(.invalidArgument, "Unknown wormMode directive.")
            }
            guard let t = HTTPDate.parseISO8601(until) else {
                throw S3Error(.invalidArgument, "The retain until date must be provided in ISO 8601 format")
            }
            guard t > now else { throw S3Error(.invalidArgument, "The retain until date must be in the future!") }
            settings.retention = Retention(mode: m, until: t)
        default:
            throw S3Error(
                .invalidArgument,
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
        }
        if let hold {
            switch hold {
            case "ON": settings.legalHold = true
            case "OFF": settings.legalHold = false
            default: throw S3Error(.invalidArgument, "Legal Hold must be either of 'ON' or 'OFF'")
            }
        }
        return settings
    }

    /// What a version written at `now` gets: the explicit settings, with the bucket's default
    /// retention when they name no retention. Nothing on a bucket without Object Lock.
    static func effective(_ explicit: LockSettings?, bucket: BucketRecord, now: Double) -> LockSettings {
        guard let config = bucket.objectLock else { return LockSettings() }
        var s = explicit ?? LockSettings()
        if s.retention == nil, let d = config.defaultRetention { s.retention = d.retention(from: now) }
        return s
    }

    static let digestRequired =
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
}

extension Handlers {
    /// The lock a write of `key` into `bucket` at `now` gives its version (PUT, copy; POST passes
    /// its fields and its signer). Lock headers on a bucket without Object Lock were refused
    /// before (UnsupportedFeatures); here they are allowed, validated and the default applied.
    static func lockSettings(for r: S3Request, bucket: BucketRecord, key: String, now: Double) throws(S3Error)
        -> LockSettings
    {
        try lockSettings(fields: r.head.headers, bucket: bucket, key: key, caller: r, now: now)
    }

    /// `caller`: the request whose caller the lock permissions are decided for (a POST form's
    /// as its fields name it).
    static func lockSettings(
        fields: [(name: String, value: String)], bucket: BucketRecord, key: String, caller: S3Request, now: Double
    ) throws(S3Error) -> LockSettings {
        LockHeaders.effective(
            try explicitLock(fields: fields, bucket: bucket, key: key, caller: caller, now: now), bucket: bucket,
            now: now)
    }

    /// The lock a write names, once its principal may set it: S3 wants s3:PutObjectRetention for
    /// the mode and date and s3:PutObjectLegalHold for the hold, besides s3:PutObject (else anyone
    /// allowed to upload could pin a version for a century). The bucket's default retention needs
    /// neither: the bucket's owner chose it. Nil on a bucket without Object Lock.
    static func explicitLock(
        fields: [(name: String, value: String)], bucket: BucketRecord, key: String, caller: S3Request, now: Double
    ) throws(S3Error) -> LockSettings? {
        guard bucket.objectLock != nil else { return nil }
        if fields.contains(where: { $0.name == LockHeaders.mode || $0.name == LockHeaders.retainUntil }) {
            try Authorization.require(caller, "s3:PutObjectRetention", bucket: bucket, key: key)
        }
        if fields.contains(where: { $0.name == LockHeaders.legalHold }) {
            try Authorization.require(caller, "s3:PutObjectLegalHold", bucket: bucket, key: key)
        }
        return try LockHeaders.explicit(fields, now: now)
    }

    /// S3's rule for bodies written under Object Lock, one for PutObject and UploadPart: when the
    /// version will be locked — a retention (named, or the bucket's default) or a legal hold ON;
    /// for a part, the lock its upload was created with — the request must declare Content-MD5 or
    /// an x-amz-checksum-* (or a trailer). A hold OFF alone locks nothing and needs none. The
    /// lock configuration requests (PutObjectRetention, PutObjectLegalHold,
    /// PutObjectLockConfiguration) always need it. The gateway's own writes (a migration's,
    /// `S3Request.inProcess`) are exempt: their bytes cross no network, and the run checks them
    /// against the source (size, ETag or checksum where they are digests) before it commits.
    static func requireLockDigest(_ r: S3Request, when needed: Bool = true) throws(S3Error) {
        if needed && !r.inProcess && !VerifiedBody.declaresDigest(r.head) {
            throw S3Error(.invalidRequest, LockHeaders.digestRequired)
        }
    }

    /// The lock headers of a GET/HEAD answer: the retention to callers holding
    /// s3:GetObjectRetention, the legal hold (when on) to those holding s3:GetObjectLegalHold.
    static func lockHeaders(_ o: ObjectRecord, _ r: S3Request, bucket: BucketRecord) -> [Header] {
        guard bucket.objectLock != nil else { return [] }
        var headers: [Header] = []
        if let retention = o.retention, Authorization.allows(r, "s3:GetObjectRetention", bucket: bucket, key: o.key) {
            headers.append(Header(LockHeaders.mode, retention.mode.rawValue))
            headers.append(Header(LockHeaders.retainUntil, HTTPDate.iso8601(retention.until)))
        }
        if o.legalHold, Authorization.allows(r, "s3:GetObjectLegalHold", bucket: bucket, key: o.key) {
            headers.append(Header(LockHeaders.legalHold, "ON"))
        }
        return headers
    }
}

extension ObjectRecord {
    /// Gives this (new) version the lock settings its write asked for.
    mutating func lock(_ s: LockSettings) {
        retention = s.retention
        legalHold = s.legalHold
    }
}
