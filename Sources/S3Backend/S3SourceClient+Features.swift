import GatewayCore
import S3Protocol

/// A bucket's features, each read on its own: one the credentials may not read (AccessDenied),
/// the endpoint does not implement (NotImplemented) or answers oddly is `.unknown`, never an
/// error for the whole bucket. Each has its own S3 code for "not configured".
extension S3SourceClient {
    public func features(of bucket: String, region: String) -> SourceBucketFeatures {
        var f = SourceBucketFeatures()
        f.versioning = feature("GetBucketVersioning", bucket, region, query: "versioning", notConfigured: nil) {
            // moto names the document GetBucketVersioningResponse.
            guard let root = XMLNode.parse($0),
                root.name == "VersioningConfiguration" || root.name == "GetBucketVersioningResponse"
            else { return nil }
            switch root.child("Status")?.text {
            case "Enabled": return .enabled
            case "Suspended": return .suspended
            default: return .disabled  // never enabled: no Status at all
            }
        }
        f.encryption = feature(
            "GetBucketEncryption", bucket, region, query: "encryption",
            notConfigured: "ServerSideEncryptionConfigurationNotFoundError"
        ) { Self.root($0, "ServerSideEncryptionConfiguration").map { _ in .enabled } }
        f.lifecycle = feature(
            "GetBucketLifecycleConfiguration", bucket, region, query: "lifecycle",
            notConfigured: "NoSuchLifecycleConfiguration"
        ) { Self.root($0, "LifecycleConfiguration").map { $0.children("Rule").isEmpty ? .disabled : .enabled } }
        f.replication = feature(
            "GetBucketReplication", bucket, region, query: "replication",
            notConfigured: "ReplicationConfigurationNotFoundError"
        ) { Self.root($0, "ReplicationConfiguration").map { _ in .enabled } }
        f.objectLock = feature(
            "GetObjectLockConfiguration", bucket, region, query: "object-lock",
            notConfigured: "ObjectLockConfigurationNotFoundError"
        ) {
            Self.root($0, "ObjectLockConfiguration").map {
                $0.child("ObjectLockEnabled")?.text == "Enabled" ? .enabled : .disabled
            }
        }
        // The policy itself (JSON) is not kept; whether there is one is all a snapshot says.
        f.policy = feature("GetBucketPolicy", bucket, region, query: "policy", notConfigured: "NoSuchBucketPolicy") {
            _ in .enabled
        }
        if f.policy == .unknown {
            // Another permission (s3:GetBucketPolicyStatus) may be granted where this one is not.
            f.policy = feature(
                "GetBucketPolicyStatus", bucket, region, query: "policyStatus", notConfigured: "NoSuchBucketPolicy"
            ) { Self.root($0, "PolicyStatus").map { _ in .enabled } }
        }
        return f
    }

    /// One feature's state: `read` judges a 200 answer's document (nil: not understood);
    /// the `notConfigured` code is `.disabled`; anything else `.unknown`.
    private func feature(
        _ operation: String, _ bucket: String, _ region: String, query: String, notConfigured: String?,
        read: ([UInt8]) -> SourceFeatureState?
    ) -> SourceFeatureState {
        guard
            let (answer, body) = try? fetch(
                "\(operation) \(bucket)", Call(bucket: bucket, query: query), region: region, limit: Self.documentLimit)
        else { return .unknown }
        if answer.status == 200 { return read(body) ?? .unknown }
        if let notConfigured, answer.code == notConfigured { return .disabled }
        return .unknown
    }

    private static func root(_ body: [UInt8], _ name: String) -> XMLNode? {
        XMLNode.parse(body).flatMap { $0.name == name ? $0 : nil }
    }
}
