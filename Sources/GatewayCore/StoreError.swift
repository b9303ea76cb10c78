/// Errors every store and backend translates its native failures into, so handlers only ever
/// see these (and map them to S3 errors in one place).
public enum StoreError: Error, Sendable, Equatable {
    case noSuchBucket
    case bucketNotEmpty
    /// The name is taken by another owner.
    case bucketAlreadyExists
    case noSuchKey
    case noSuchUpload
    /// The key has no version with the id asked for.
    case noSuchVersion
    /// Object Lock forbids removing (or shortening the retention of) this version; the text
    /// says why. Clients see AccessDenied.
    case objectLocked(String)
    /// The change does not fit the bucket's state (suspending versioning on an Object Lock
    /// bucket, lock on an unversioned bucket); the text is S3's message.
    case invalidBucketState(String)
    /// The request does not fit its target (a retention or legal hold on a version of a bucket
    /// without Object Lock, found inside the transaction); the text is S3's message. Clients see
    /// 400 InvalidRequest.
    case invalidRequest(String)
    /// A conditional write's precondition did not hold.
    case preconditionFailed
    /// A concurrent change won (a part replaced while its upload was being completed).
    case conflict
    case noSuchZone(String)
    /// An identity or admin entity (tenant, user, credential) does not exist; the text names it
    /// for an administrator ("user alice of tenant acme").
    case noSuchEntity(String)
    /// The entity already exists.
    case entityExists(String)
    /// The change is refused while something still depends on it (a tenant with buckets), or
    /// a limit is reached (two access keys per user); the text says which.
    case entityInUse(String)
    /// A remote zone did not answer or failed (network, TLS, provider 5xx); the text is for
    /// the log. Clients see 503 and may retry.
    case zoneUnavailable(String)
    /// The store itself failed (I/O, database); the message is for the log, never the client.
    case internalFailure(String)
}
