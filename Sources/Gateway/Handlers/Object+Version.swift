import GatewayCore
import Logging
import S3Protocol

/// How requests name one version of an object (`versionId`), and what a versioned bucket's
/// answers say about versions: docs/VERSIONING.md.
extension Handlers {
    /// `versionId` of the request, checked: "null" or an id this gateway could have made
    /// (400 InvalidArgument otherwise, as S3 answers a malformed id); nil when absent.
    static func requestedVersion(_ r: S3Request) throws(S3Error) -> String? {
        guard let v = r.query["versionId"] else { return nil }
        guard VersionId.isWellFormed(v) else { throw S3Error(.invalidArgument, "Invalid version id specified") }
        return v
    }

    /// The version a request names in bucket `b`: `versionId` or, without one, the latest (as
    /// the router may have read it with the bucket, `S3Request.latestObject`). A latest delete
    /// marker is 404 NoSuchKey, a version id naming a marker 405 MethodNotAllowed, both with the
    /// marker's headers; an unknown id 404 NoSuchVersion.
    static func ownedVersion(
        in b: BucketRecord, key: String, versionId: String?, _ r: S3Request, _ ctx: GatewayContext
    ) throws -> ObjectRecord {
        guard let v = versionId else {
            let found: ObjectRecord?
            if case .some(let loaded) = r.latestObject, b.name == r.bucketRecord?.name, key == r.key {
                found = loaded
            } else {
                found = try ctx.metadata.object(bucket: b.name, key: key)
            }
            if let o = found { return o }
            // Only a versioned bucket can have a delete marker where the object was.
            if b.versioning != .unversioned, let latest = try ctx.metadata.latestVersion(bucket: b.name, key: key),
                latest.isDeleteMarker
            {
                throw S3Error(.noSuchKey, extra: [("Key", key)], headers: markerHeaders(latest))
            }
            throw S3Error(.noSuchKey, extra: [("Key", key)])
        }
        try requireVersionPermission(r, b, key: key, versionId: v)
        let named: ObjectRecord?
        if let (id, read) = r.namedVersion, id == v, b.name == r.bucketRecord?.name, key == r.key {
            named = read  // the router's read for its decision
        } else {
            named = try ctx.metadata.version(bucket: b.name, key: key, versionId: v)
        }
        guard let o = named else {
            // rclone asks for `versionId=null` of unversioned buckets: there it is the object.
            if v == VersionId.null && b.versioning == .unversioned {
                throw S3Error(.noSuchKey, extra: [("Key", key)])
            }
            throw S3Error(.noSuchVersion, extra: [("Key", key), ("VersionId", v)])
        }
        if o.isDeleteMarker {
            throw S3Error(
                .methodNotAllowed, extra: [("Method", r.method), ("ResourceType", "DeleteMarker")],
                headers: markerHeaders(o))
        }
        return o
    }

    /// The version permission for `versionId=null` in a bucket that has (or had) versioning,
    /// where "null" can name a noncurrent version (the router checked the plain permission,
    /// `S3Router.action`).
    static func requireVersionPermission(_ r: S3Request, _ b: BucketRecord, key: String, versionId: String?)
        throws(S3Error)
    {
        guard versionId == VersionId.null, b.versioning != .unversioned, let action = S3Router.versionAction(r) else {
            return
        }
        try Authorization.require(r, action, bucket: b, key: key)
    }

    /// What S3 says about a delete marker in the answer that meets one.
    static func markerHeaders(_ marker: ObjectRecord) -> [Header] {
        [
            Header("x-amz-delete-marker", "true"), Header("x-amz-version-id", marker.versionId),
            Header("Last-Modified", HTTPDate.rfc1123(marker.lastModified)),
        ]
    }

    /// `x-amz-version-id` of an answer about `o`: every answer from a bucket that has (or had)
    /// versioning names the version, "null" included; unversioned buckets name none.
    static func versionHeaders(_ b: BucketRecord, _ o: ObjectRecord) -> [Header] {
        b.versioning == .unversioned && o.versionId == VersionId.null ? [] : [Header("x-amz-version-id", o.versionId)]
    }

    /// Whether the request may remove a version under a GOVERNANCE retention: it carries
    /// `x-amz-bypass-governance-retention: true` and its caller holds
    /// `s3:BypassGovernanceRetention` on the object (docs/VERSIONING.md, Object Lock).
    static func governanceBypass(_ r: S3Request, key: String) -> Bool {
        guard
            r.header("x-amz-bypass-governance-retention")?.trimmingCharacters(in: .whitespaces).lowercased() == "true",
            let b = r.bucketRecord
        else { return false }
        return Authorization.allows(r, "s3:BypassGovernanceRetention", bucket: b, key: key)
    }
}
