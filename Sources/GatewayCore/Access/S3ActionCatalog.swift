/// The S3 actions a bucket policy may name, by the resource they apply to (AWS's "Actions
/// defined by Amazon S3", bucket and object resource types). A policy naming an action outside
/// it is refused ("Policy has invalid action"), as S3 does: a typo must not silently grant or
/// deny nothing. The gateway implements a subset; naming the others is harmless.
enum S3ActionCatalog {
    enum Kind: Sendable { case bucket, object }

    static let object: [String] = [
        "AbortMultipartUpload", "BypassGovernanceRetention", "DeleteObject", "DeleteObjectTagging",
        "DeleteObjectVersion", "DeleteObjectVersionTagging", "GetObject", "GetObjectAcl", "GetObjectAttributes",
        "GetObjectLegalHold", "GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion",
        "GetObjectVersionAcl", "GetObjectVersionAttributes", "GetObjectVersionForReplication",
        "GetObjectVersionTagging", "GetObjectVersionTorrent", "InitiateReplication", "ListMultipartUploadParts",
        "ObjectOwnerOverrideToBucketOwner", "PutObject", "PutObjectAcl", "PutObjectLegalHold", "PutObjectRetention",
        "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging", "RenameObject", "ReplicateDelete",
        "ReplicateObject", "ReplicateTags", "RestoreObject",
    ]

    static let bucket: [String] = [
        "CreateBucket", "DeleteBucket", "DeleteBucketOwnershipControls", "DeleteBucketPolicy", "DeleteBucketWebsite",
        "GetAccelerateConfiguration", "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS",
        "GetBucketLocation", "GetBucketLogging", "GetBucketNotification", "GetBucketObjectLockConfiguration",
        "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock",
        "GetBucketRequestPayment", "GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite",
        "GetEncryptionConfiguration", "GetIntelligentTieringConfiguration", "GetInventoryConfiguration",
        "GetLifecycleConfiguration", "GetMetricsConfiguration", "GetReplicationConfiguration", "ListBucket",
        "ListBucketMultipartUploads", "ListBucketVersions", "PutAccelerateConfiguration",
        "PutAnalyticsConfiguration", "PutBucketAcl", "PutBucketCORS", "PutBucketLogging", "PutBucketNotification",
        "PutBucketObjectLockConfiguration", "PutBucketOwnershipControls", "PutBucketPolicy",
        "PutBucketPublicAccessBlock", "PutBucketRequestPayment", "PutBucketTagging", "PutBucketVersioning",
        "PutBucketWebsite", "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration",
        "PutInventoryConfiguration", "PutLifecycleConfiguration", "PutMetricsConfiguration",
        "PutReplicationConfiguration",
    ]

    /// Lowercased `s3:name` → kind.
    static let kinds: [String: Kind] = {
        var m: [String: Kind] = [:]
        for a in object { m["s3:" + a.lowercased()] = .object }
        for a in bucket { m["s3:" + a.lowercased()] = .bucket }
        return m
    }()

    /// The kinds of the catalog actions a (lowercased) action pattern names; empty when it
    /// names none.
    static func kinds(named pattern: String) -> Set<Kind> {
        if !pattern.contains("*") && !pattern.contains("?") { return kinds[pattern].map { [$0] } ?? [] }
        return Set(kinds.filter { PermissionSet.globMatch(pattern, $0.key) }.map(\.value))
    }

    /// S3's own condition keys (lowercased) that the gateway supplies (Gateway/AccessContext.swift);
    /// `s3:existingobjecttag/<key>`, `s3:requestobjecttag/<key>` take a suffix. S3's others
    /// (s3:LocationConstraint, which only CreateBucket has, s3:ObjectCreationOperation, the
    /// access point keys) have no source here: a policy naming them is refused ("Policy has an
    /// invalid condition key") rather than holding a condition that silently never matches.
    static let conditionKeys: Set<String> = [
        "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-acl", "s3:versionid", "s3:x-amz-copy-source",
        "s3:x-amz-metadata-directive", "s3:x-amz-server-side-encryption",
        "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-server-side-encryption-customer-algorithm",
        "s3:x-amz-storage-class", "s3:x-amz-content-sha256", "s3:signatureversion", "s3:signatureage",
        "s3:authtype", "s3:tlsversion", "s3:requestobjecttagkeys", "s3:object-lock-mode",
        "s3:object-lock-retain-until-date", "s3:object-lock-remaining-retention-days", "s3:object-lock-legal-hold",
        "s3:x-amz-object-ownership", "s3:resourceaccount", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read",
        "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp", "s3:if-match",
        "s3:if-none-match",
    ]

    static func isConditionKey(_ lowered: String) -> Bool {
        if lowered.hasPrefix("aws:") { return lowered.count > 4 }
        if conditionKeys.contains(lowered) { return true }
        for family in ["s3:existingobjecttag/", "s3:requestobjecttag/"] where lowered.hasPrefix(family) {
            return lowered.count > family.count
        }
        return false
    }
}
