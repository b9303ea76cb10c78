import GatewayCore
import Logging
import S3Protocol

/// Put/GetObjectLockConfiguration.
extension Handlers {
    /// GET ?object-lock — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLockConfiguration.html
    static func getObjectLockConfiguration(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws
        -> S3Response
    {
        let b = try ownedBucket(r, ctx)
        guard let config = b.objectLock else {
            throw S3Error(.objectLockConfigurationNotFound, extra: [("BucketName", r.bucketName ?? "")])
        }
        return .xml(ObjectLockXML.render(config))
    }

    /// PUT ?object-lock — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html
    /// Enables Object Lock on a versioning-Enabled bucket, or replaces its default retention.
    static func putObjectLockConfiguration(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws
        -> S3Response
    {
        let b = try ownedBucket(r, ctx)
        try requireLockDigest(r)
        guard let body = try verifiedBody(r).readAll(limit: 64 * 1024) else { throw S3Error(.malformedXML) }
        let config = try ObjectLockXML.parse(body, lockEnabled: b.objectLock != nil)
        try ctx.metadata.setObjectLock(bucket: b.name, config)
        logger.info("object lock of \(b.displayName): \(ObjectLockXML.describe(config))")
        return S3Response()
    }
}

/// The ObjectLockConfiguration document:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ObjectLockConfiguration.html
enum ObjectLockXML {
    /// S3's bounds on a default retention period.
    static let maxDays = 36_500
    static let maxYears = 100

    static func render(_ c: ObjectLockConfig) -> String {
        var x = XMLWriter()
        x.open("ObjectLockConfiguration", namespace: XMLWriter.s3Namespace)
        x.element("ObjectLockEnabled", "Enabled")
        if let d = c.defaultRetention {
            x.open("Rule")
            x.open("DefaultRetention")
            x.element("Mode", d.mode.rawValue)
            if let days = d.days { x.element("Days", String(days)) }
            if let years = d.years { x.element("Years", String(years)) }
            x.close("DefaultRetention")
            x.close("Rule")
        }
        x.close("ObjectLockConfiguration")
        return x.document
    }

    /// Validates as S3 does: `ObjectLockEnabled` is Enabled (it may be left out only when the
    /// bucket has Object Lock already); a Rule holds a DefaultRetention with a Mode and exactly
    /// one of Days and Years, a positive integer.
    static func parse(_ body: [UInt8], lockEnabled: Bool) throws(S3Error) -> ObjectLockConfig {
        guard let root = XMLNode.parse(body), root.name == "ObjectLockConfiguration" else {
            throw S3Error(.malformedXML)
        }
        switch root.child("ObjectLockEnabled").map({ trimmed($0.text) }) {
        case "Enabled": break
        case nil where lockEnabled: break
        default: throw S3Error(.malformedXML)
        }
        guard let rule = root.child("Rule") else { return ObjectLockConfig() }
        guard let d = rule.child("DefaultRetention"), let modeText = d.child("Mode").map({ trimmed($0.text) }),
            let mode = ObjectLockMode(rawValue: modeText)
        else { throw S3Error(.malformedXML) }
        let days = d.child("Days").map { trimmed($0.text) }
        let years = d.child("Years").map { trimmed($0.text) }
        switch (days, years) {
        case (let text?, nil):
            return ObjectLockConfig(defaultRetention: .init(mode: mode, days: try period(text, max: maxDays)))
        case (nil, let text?):
            return ObjectLockConfig(defaultRetention: .init(mode: mode, years: try period(text, max: maxYears)))
        default:
            throw S3Error(.malformedXML)
        }
    }

    private static func period(_ text: String, max: Int) throws(S3Error) -> Int {
        guard let n = Int(text) else { throw S3Error(.malformedXML) }
        guard n > 0 else {
            throw S3Error(.invalidArgument, "Default retention period must be a positive integer value")
        }
        guard n <= max else { throw S3Error(.invalidArgument, "Default retention period is too large.") }
        return n
    }

    static func describe(_ c: ObjectLockConfig) -> String {
        guard let d = c.defaultRetention else { return "enabled, no default retention" }
        let period = d.years.map { "\($0) years" } ?? "\(d.days ?? 0) days"
        return "default \(d.mode.rawValue) \(period)"
    }

    private static func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
}
