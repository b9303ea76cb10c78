import GatewayCore
import S3Protocol

/// A bucket's features, each read on its own: one the credentials may not read (AccessDenied),
/// the endpoint does not implement (NotImplemented) or answers oddly is `.unknown`, never an
/// error for the whole bucket. Each has its own S3 code for "not configured".
extension S3SourceClient {
    public func features(of bucket: String, region: String) -> SourceBucketFeatures {
        var r = FeatureReader(client: self, bucket: bucket, region: region)
        var f = SourceBucketFeatures()
        f.versioning = r.read("GetBucketVersioning", "versioning", notConfigured: nil) {
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
        f.encryption = r.read(
            "GetBucketEncryption", "encryption", notConfigured: "ServerSideEncryptionConfigurationNotFoundError",
            read: Self.enabled(by: "ServerSideEncryptionConfiguration"))
        f.lifecycle = r.read(
            "GetBucketLifecycleConfiguration", "lifecycle", notConfigured: "NoSuchLifecycleConfiguration"
        ) {
            Self.root($0, "LifecycleConfiguration").map { $0.children("Rule").isEmpty ? .disabled : .enabled }
        }
        f.replication = r.read(
            "GetBucketReplication", "replication", notConfigured: "ReplicationConfigurationNotFoundError",
            read: Self.enabled(by: "ReplicationConfiguration"))
        f.objectLock = r.read(
            "GetObjectLockConfiguration", "object-lock", notConfigured: "ObjectLockConfigurationNotFoundError"
        ) {
            Self.root($0, "ObjectLockConfiguration").map {
                $0.child("ObjectLockEnabled")?.text == "Enabled" ? .enabled : .disabled
            }
        }
        // The policy itself (JSON) is not kept; whether there is one is all a snapshot says.
        f.policy = r.read("GetBucketPolicy", "policy", notConfigured: "NoSuchBucketPolicy") { _ in .enabled }
        if f.policy == .unknown {
            // Another permission (s3:GetBucketPolicyStatus) may be granted where this one is not.
            f.policy = r.read(
                "GetBucketPolicyStatus", "policyStatus", notConfigured: "NoSuchBucketPolicy",
                read: Self.enabled(by: "PolicyStatus"))
        }
        return f
    }

    /// Reads one bucket's features one request each, until the endpoint stops answering: after
    /// the first that got no answer at all the rest would only wait out the same timeouts, so
    /// they are `.unknown` without a request (a cancel is never held up by them).
    private struct FeatureReader {
        let client: S3SourceClient
        let bucket: String
        let region: String
        var unreachable = false

        /// One feature's state: `read` judges a 200 answer's document (nil: not understood);
        /// the `notConfigured` code is `.disabled`; anything else `.unknown`.
        mutating func read(
            _ operation: String, _ query: String, notConfigured: String?, read: ([UInt8]) -> SourceFeatureState?
        ) -> SourceFeatureState {
            guard !unreachable else { return .unknown }
            do throws(SourceError) {
                let (answer, body) = try client.fetch(
                    "\(operation) \(bucket)", Call(bucket: bucket, query: query), region: region,
                    limit: S3SourceClient.documentLimit)
                if answer.status == 200 { return read(body) ?? .unknown }
                if let notConfigured, answer.code == notConfigured { return .disabled }
                return .unknown
            } catch {
                if case .unreachable = error { unreachable = true }
                return .unknown
            }
        }
    }

    /// `.enabled` when the document is `name`'s (its mere presence says the feature is on).
    private static func enabled(by name: String) -> ([UInt8]) -> SourceFeatureState? {
        { root($0, name).map { _ in .enabled } }
    }

    private static func root(_ body: [UInt8], _ name: String) -> XMLNode? {
        XMLNode.parse(body).flatMap { $0.name == name ? $0 : nil }
    }
}
