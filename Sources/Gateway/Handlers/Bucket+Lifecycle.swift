import GatewayCore
import Logging
import S3Protocol

/// Put/Get/DeleteBucketLifecycleConfiguration, and the lifecycle headers of object answers
/// (`x-amz-expiration`, `x-amz-abort-date`). The agent applies the rules (`Lifecycle.run`).
extension Handlers {
    static func getBucketLifecycle(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard !b.lifecycle.isEmpty else {
            throw S3Error(.noSuchLifecycleConfiguration, extra: [("BucketName", r.bucketName ?? "")])
        }
        let (document, minimumSize) = LifecycleXML.stored(b.lifecycle)
        var response = S3Response.xml(document)
        response.headers.append(Header(transitionMinimumSize, minimumSize))
        return response
    }

    /// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
    /// Replaces the whole configuration; stored as the canonical XML GET answers.
    static func putBucketLifecycle(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        try requireBodyChecksum(r)
        // Transitions are refused, so the size below which objects do not transition changes
        // nothing; S3's two values are accepted, kept with the configuration and answered back.
        let minimumSize = r.header(transitionMinimumSize) ?? defaultTransitionMinimumSize
        guard ["all_storage_classes_128K", "varies_by_storage_class"].contains(minimumSize) else {
            throw S3Error(.invalidArgument, "Invalid value for \(transitionMinimumSize) header")
        }
        // 1000 rules of a few hundred bytes each.
        guard let bytes = try verifiedBody(r).readAll(limit: 2 * 1024 * 1024) else {
            throw S3Error(.malformedXML, "The XML you provided was too large.")
        }
        let configuration = try LifecycleXML.parse(bytes)
        try ctx.metadata.setLifecycle(
            bucket: b.name, LifecycleXML.render(configuration, transitionMinimumSize: minimumSize),
            ruleIds: configuration.ruleIds)
        return S3Response(headers: [Header(transitionMinimumSize, minimumSize)])
    }

    static func deleteBucketLifecycle(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        if !b.lifecycle.isEmpty { try ctx.metadata.setLifecycle(bucket: b.name, "", ruleIds: nil) }
        return S3Response(status: 204)
    }

    static let transitionMinimumSize = "x-amz-transition-default-minimum-object-size"
    static let defaultTransitionMinimumSize = LifecycleXML.defaultTransitionMinimumSize

    /// S3 wants the body of some configuration writes (lifecycle, Object Lock retention)
    /// protected: a Content-MD5 or an `x-amz-checksum-*` (header or trailer), which the body
    /// verifier then checks.
    static func requireBodyChecksum(_ r: S3Request) throws(S3Error) {
        if r.header("content-md5") != nil { return }
        // A trailer counts only when it is a checksum (`x-amz-trailer: x-amz-checksum-crc32`).
        if let trailer = r.header("x-amz-trailer"),
            trailer.split(separator: ",").contains(where: {
                $0.drop(while: \.isWhitespace).lowercased().hasPrefix("x-amz-checksum-")
            })
        {
            return
        }
        let control: Set<String> = ["x-amz-checksum-algorithm", "x-amz-checksum-mode", "x-amz-checksum-type"]
        if r.head.headers.contains(where: { $0.name.hasPrefix("x-amz-checksum-") && !control.contains($0.name) }) {
            return
        }
        throw S3Error(.invalidRequest, "Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
    }

    /// `x-amz-expiration` for `o` when it is the current version and an Expiration rule of
    /// the bucket's lifecycle matches it; none otherwise (GET, HEAD, PUT, copy, Complete).
    static func expirationHeaders(_ b: BucketRecord, _ o: ObjectRecord) -> [Header] {
        guard !o.isDeleteMarker, o.noncurrentSince == 0, let rules = Lifecycle.configuration(of: b),
            let (date, ruleId) = LifecycleEvaluator(rules).expiration(for: o)
        else { return [] }
        return [Header("x-amz-expiration", LifecycleEvaluator.header(date: date, ruleId: ruleId))]
    }

    /// `x-amz-abort-date` and `x-amz-abort-rule-id` for a new upload an
    /// AbortIncompleteMultipartUpload rule will abort (CreateMultipartUpload).
    static func abortHeaders(_ b: BucketRecord, _ u: UploadRecord) -> [Header] {
        guard let rules = Lifecycle.configuration(of: b),
            let (date, ruleId) = LifecycleEvaluator(rules).abortDate(key: u.key, initiated: u.initiated)
        else { return [] }
        return [Header("x-amz-abort-date", HTTPDate.rfc1123(date)), Header("x-amz-abort-rule-id", ruleId)]
    }
}

extension S3Response {
    /// The same answer with `more` headers after its own.
    func adding(_ more: [Header]) -> S3Response {
        var r = self
        r.headers += more
        return r
    }
}
