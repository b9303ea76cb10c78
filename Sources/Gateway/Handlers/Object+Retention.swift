import GatewayCore
import Logging
import S3Protocol

/// Put/GetObjectRetention and Put/GetObjectLegalHold, on the version `versionId` names (the
/// latest without it). The store decides a retention change (`ObjectLock.retentionChange`) in
/// the transaction that makes it.
extension Handlers {
    /// GET ?retention — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectRetention.html
    static func getObjectRetention(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (_, o) = try lockTarget(r, ctx)
        guard let retention = o.retention else { throw S3Error(.noSuchObjectLockConfiguration) }
        var x = XMLWriter()
        x.open("Retention", namespace: XMLWriter.s3Namespace)
        x.element("Mode", retention.mode.rawValue)
        x.element("RetainUntilDate", HTTPDate.iso8601(retention.until))
        x.close("Retention")
        return .xml(x.document)
    }

    /// PUT ?retention — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html
    /// Extending is always allowed; shortening or removing a GOVERNANCE retention needs
    /// `x-amz-bypass-governance-retention: true` and s3:BypassGovernanceRetention; a COMPLIANCE
    /// one cannot be shortened or removed before its date (AccessDenied).
    static func putObjectRetention(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try lockBucket(r, ctx)
        try requireLockDigest(r)
        guard let body = try verifiedBody(r).readAll(limit: 64 * 1024) else { throw S3Error(.malformedXML) }
        let retention = try RetentionXML.parse(body, now: r.now)
        let (_, o) = try lockTarget(r, ctx, bucket: b)
        let bypass = governanceBypass(r, key: o.key)
        _ = try ctx.metadata.changeLock(
            bucket: b.name, key: o.key, versionId: o.versionId, .retention(retention), bypassGovernance: bypass,
            now: r.now)
        return S3Response()
    }

    /// GET ?legal-hold — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLegalHold.html
    /// A version whose hold was never set answers OFF (the gateway does not tell never-set from OFF).
    static func getObjectLegalHold(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (_, o) = try lockTarget(r, ctx)
        var x = XMLWriter()
        x.open("LegalHold", namespace: XMLWriter.s3Namespace)
        x.element("Status", o.legalHold ? "ON" : "OFF")
        x.close("LegalHold")
        return .xml(x.document)
    }

    /// PUT ?legal-hold — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html
    static func putObjectLegalHold(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try lockBucket(r, ctx)
        try requireLockDigest(r)
        guard let body = try verifiedBody(r).readAll(limit: 64 * 1024), let root = XMLNode.parse(body),
            root.name == "LegalHold"
        else { throw S3Error(.malformedXML) }
        let on: Bool
        switch root.child("Status")?.text.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "ON": on = true
        case "OFF": on = false
        default: throw S3Error(.malformedXML)
        }
        let (_, o) = try lockTarget(r, ctx, bucket: b)
        _ = try ctx.metadata.changeLock(
            bucket: b.name, key: o.key, versionId: o.versionId, .legalHold(on), bypassGovernance: false, now: r.now)
        return S3Response()
    }

    /// The caller's bucket, which must have Object Lock (S3's InvalidRequest otherwise).
    static func lockBucket(_ r: S3Request, _ ctx: GatewayContext) throws -> BucketRecord {
        let b = try ownedBucket(r, ctx)
        guard b.objectLock != nil else { throw S3Error(.invalidRequest, "Bucket is missing Object Lock Configuration") }
        return b
    }

    /// The version a retention or legal-hold request names: `versionId`'s, else the key's
    /// latest. A delete marker has no lock to read or set (MethodNotAllowed).
    static func lockTarget(_ r: S3Request, _ ctx: GatewayContext, bucket given: BucketRecord? = nil) throws
        -> (BucketRecord, ObjectRecord)
    {
        let b = try given ?? lockBucket(r, ctx)
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        let versionId = r.query["versionId"]
        if let versionId, !VersionId.isWellFormed(versionId) {
            throw S3Error(.invalidArgument, "Invalid version id specified", extra: [("ArgumentName", "versionId")])
        }
        let found =
            try versionId.map { try ctx.metadata.version(bucket: b.name, key: key, versionId: $0) }
            ?? ctx.metadata.latestVersion(bucket: b.name, key: key)
        guard let o = found else {
            throw versionId == nil
                ? S3Error(.noSuchKey, extra: [("Key", key)])
                : S3Error(.noSuchVersion, extra: [("Key", key), ("VersionId", versionId ?? "")])
        }
        if o.isDeleteMarker {
            throw S3Error(.methodNotAllowed, extra: [("Method", r.method), ("ResourceType", "DeleteMarker")])
        }
        return (b, o)
    }
}

/// The Retention document of PutObjectRetention: Mode and RetainUntilDate both (a retention in
/// the future) or neither (remove it).
enum RetentionXML {
    static func parse(_ body: [UInt8], now: Double) throws(S3Error) -> Retention? {
        guard let root = XMLNode.parse(body), root.name == "Retention" else { throw S3Error(.malformedXML) }
        let mode = root.child("Mode").map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        let until = root.child("RetainUntilDate").map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        switch (mode, until) {
        case (nil, nil): return nil
        case (let mode?, let until?):
            guard let m = ObjectLockMode(rawValue: mode), let t = HTTPDate.parseISO8601(until) else {
                throw S3Error(.malformedXML)
            }
            guard t > now else { throw S3Error(.invalidArgument, "The retain until date must be in the future!") }
            return Retention(mode: m, until: t)
        default:
            throw S3Error(.malformedXML)
        }
    }
}
