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
    /// `pairs` are lowercased names (request headers or POST form fields).
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
            guard let m = ObjectLockMode(rawValue: mode.uppercased()) else {
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
            switch hold.uppercased() {
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
    /// The lock a write of `r` into `bucket` at `now` gives its version (PUT, copy; POST passes
    /// its fields). Lock headers on a bucket without Object Lock were refused before
    /// (UnsupportedFeatures); here they are validated and the default retention applied.
    static func lockSettings(for r: S3Request, bucket: BucketRecord, now: Double) throws(S3Error) -> LockSettings {
        try lockSettings(fields: r.head.headers, bucket: bucket, now: now)
    }

    static func lockSettings(fields: [(name: String, value: String)], bucket: BucketRecord, now: Double)
        throws(S3Error) -> LockSettings
    {
        guard bucket.objectLock != nil else { return LockSettings() }
        return LockHeaders.effective(try LockHeaders.explicit(fields, now: now), bucket: bucket, now: now)
    }

    /// S3's rule for bodies written with Object Lock parameters (named, or from the bucket's
    /// default retention): the request must declare Content-MD5 or an x-amz-checksum-*.
    /// PutObject and UploadPart check it before reading the body, and so do the lock
    /// configuration requests (PutObjectRetention, PutObjectLegalHold, PutObjectLockConfiguration).
    static func requireLockDigest(_ r: S3Request, when needed: Bool = true) throws(S3Error) {
        if needed && !VerifiedBody.declaresDigest(r.head) {
            throw S3Error(.invalidRequest, LockHeaders.digestRequired)
        }
    }

    /// Whether a write's lock needs the digest: it named a lock header or got a retention.
    static func namesLock(_ r: S3Request, _ lock: LockSettings) -> Bool {
        lock != LockSettings()
            || r.head.headers.contains {
                [LockHeaders.mode, LockHeaders.retainUntil, LockHeaders.legalHold].contains($0.name)
            }
    }

    /// The lock headers of a GET/HEAD answer: the retention to callers holding
    /// s3:GetObjectRetention, the legal hold (when on) to those holding s3:GetObjectLegalHold.
    static func lockHeaders(_ o: ObjectRecord, _ r: S3Request, bucket: BucketRecord) -> [Header] {
        guard bucket.objectLock != nil, let p = r.principal else { return [] }
        let resource = PermissionSet.Resource.object(bucket: bucket.displayName, key: o.key)
        var headers: [Header] = []
        if let retention = o.retention, p.allows("s3:GetObjectRetention", on: resource) {
            headers.append(Header(LockHeaders.mode, retention.mode.rawValue))
            headers.append(Header(LockHeaders.retainUntil, HTTPDate.iso8601(retention.until)))
        }
        if o.legalHold, p.allows("s3:GetObjectLegalHold", on: resource) {
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
