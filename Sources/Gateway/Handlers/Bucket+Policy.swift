import GatewayCore
import Logging
import S3Protocol
import SigV4

/// Bucket policies: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html and
/// its Get/Delete/GetBucketPolicyStatus siblings. The document is kept as sent once it parses
/// (`BucketPolicy.parse`); `Access.decide` evaluates it on every request (docs/ACCESS.md).
extension Handlers {
    /// PUT /bucket?policy — 204. MalformedPolicy for a document that does not parse; 403 when
    /// the bucket's BlockPublicPolicy is on and the policy is public.
    /// `x-amz-confirm-remove-self-bucket-access` is accepted: the bucket's tenant keeps policy
    /// management whatever the policy says, so it can never lock itself out.
    static func putBucketPolicy(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        // Whitespace does not count towards S3's 20 KB (the parser measures the compact form);
        // this only bounds what is read.
        guard let bytes = try verifiedBody(r).readAll(limit: 16 * BucketPolicy.maxSize) else {
            throw S3Error(.malformedPolicy, "Policies must be less than 20 KB")
        }
        guard let json = String(validating: bytes, as: UTF8.self) else {
            throw S3Error(.malformedPolicy, "This policy contains invalid Json")
        }
        let store = ctx.identities.store
        let policy = try BucketPolicy.parse(
            json, bucketARN: BucketPolicy.arn(of: b), tenantExists: { (try? store.tenant(id: $0)) != nil })
        let isPublic = policy.isPublic
        if isPublic && PublicAccessBlock(stored: b.publicAccessBlock).blockPublicPolicy {
            throw S3Error(
                .accessDenied, "Access Denied: the bucket's BlockPublicPolicy setting refuses a public policy")
        }
        try ctx.metadata.setBucketSetting(
            bucket: b.name, .policy, json,
            audit: .bucketPolicy(bucket: b.name, sha256: hexEncode(Digest.hash(.sha256, bytes)), isPublic: isPublic))
        return S3Response(status: 204)
    }

    /// GET /bucket?policy — the document as it was put; 404 NoSuchBucketPolicy without one.
    static func getBucketPolicy(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard !b.policy.isEmpty else { throw S3Error(.noSuchBucketPolicy, extra: [("BucketName", r.bucketName ?? "")]) }
        return S3Response(
            status: 200, headers: [Header("Content-Type", "application/json")], body: .bytes(Array(b.policy.utf8)))
    }

    /// DELETE /bucket?policy — 204, with or without a policy (nothing to record without one).
    static func deleteBucketPolicy(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        if !b.policy.isEmpty {
            try ctx.metadata.setBucketSetting(bucket: b.name, .policy, "", audit: .bucketPolicyDelete(bucket: b.name))
        }
        return S3Response(status: 204)
    }

    /// GET /bucket?policyStatus — whether the policy makes the bucket public
    /// (`BucketPolicy.isPublic`); 404 NoSuchBucketPolicy without one.
    static func getBucketPolicyStatus(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard !b.policy.isEmpty else { throw S3Error(.noSuchBucketPolicy, extra: [("BucketName", r.bucketName ?? "")]) }
        // A stored document always parsed once; one that no longer does is treated as public
        // (the safe answer for a status check) — Access.decide fails closed on it.
        let isPublic = (try? BucketPolicy.parse(b.policy, bucketARN: BucketPolicy.arn(of: b)).isPublic) ?? true
        return .xml(AccessControlXML.policyStatus(isPublic: isPublic))
    }
}
