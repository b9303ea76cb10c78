import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// DELETE /bucket/key — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
    /// 204 whether or not the key existed, as S3 does. Without `versionId` an unversioned bucket
    /// removes the object, a versioned one adds a delete marker (Suspended: replacing the null
    /// version); with it, that version goes for good unless Object Lock holds it (403).
    /// `If-Match`, `x-amz-if-match-size` and `x-amz-if-match-last-modified-time` make it
    /// conditional on the current version (`conditionalDelete`); they need s3:GetObject too, as
    /// in S3 (they tell what the object is).
    static func deleteObject(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        let versionId = try requestedVersion(r)
        try requireVersionPermission(r, b, key: key, versionId: versionId)
        let conditions = try DeleteConditions.headers(r)
        if !conditions.isEmpty {
            try Authorization.require(
                r, "s3:GetObject", bucket: b, key: key,
                object: try objectForDecision(b, key: key, versionId: versionId, action: "s3:GetObject", ctx))
        }
        let outcome = try conditionalDelete(
            b, key: key, versionId: versionId, conditions, bypassGovernance: governanceBypass(r, key: key), r, ctx)
        if let old = outcome.removed { removeBlob(of: old, bucket: b, ctx, logger) }
        return S3Response(status: 204, headers: deleteHeaders(outcome, versionId: versionId))
    }

    /// `x-amz-delete-marker` and `x-amz-version-id` of a DELETE's answer: the marker it added, or
    /// the version it named (a marker itself, when it removed one).
    static func deleteHeaders(_ outcome: DeleteOutcome, versionId: String?) -> [Header] {
        if let m = outcome.marker {
            return [Header("x-amz-delete-marker", "true"), Header("x-amz-version-id", m.versionId)]
        }
        guard let versionId else { return [] }
        var headers = [Header("x-amz-version-id", versionId)]
        if outcome.removed?.isDeleteMarker == true { headers.insert(Header("x-amz-delete-marker", "true"), at: 0) }
        return headers
    }
}
