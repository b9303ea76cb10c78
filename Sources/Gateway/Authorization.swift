import GatewayCore

/// The one place a permission is required. S3 requests on a bucket ask `Access.decide` (bucket
/// policy, the caller's own permissions, ACLs: docs/ACCESS.md); STS and the admin API, which
/// only ever act inside the caller's own tenant, ask the principal's permissions.
enum Authorization {
    static func require(_ p: Principal?, _ action: String, _ resource: PermissionSet.Resource) throws(S3Error) {
        guard let p, p.allows(action, on: resource) else { throw S3Error(.accessDenied) }
    }

    /// Whether the request's caller may do `action` on `bucket` (and `key`, whose existing
    /// version `object` is, where its ACL or tags matter).
    static func allows(
        _ r: S3Request, _ action: String, bucket: BucketRecord, key: String?, object: ObjectRecord? = nil
    ) -> Bool {
        Access.decide(r.accessRequest(action, bucket: bucket, key: key, object: object)) == .allow
    }

    /// AccessDenied unless `allows`.
    static func require(
        _ r: S3Request, _ action: String, bucket: BucketRecord, key: String?, object: ObjectRecord? = nil
    ) throws(S3Error) {
        guard allows(r, action, bucket: bucket, key: key, object: object) else { throw S3Error(.accessDenied) }
    }
}
