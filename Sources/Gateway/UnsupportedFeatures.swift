import GatewayCore
import S3Protocol

/// Requests that ask for something this gateway cannot do yet (encrypt, lock, share) are refused
/// before a byte is stored, never answered 200 as if honoured: a client that asked for encryption,
/// a retention period or a public ACL must not believe it got one. The whole decision is this one
/// table — header → the operations where S3 honours it → the answer while we cannot — which every
/// write path (and GET/HEAD, for customer keys) checks before it reads a body.
enum UnsupportedFeatures {
    enum Operation: Sendable {
        case createBucket, putObject, copyObject, createMultipartUpload, uploadPart, uploadPartCopy, postObject
        case getObject, putACL
    }

    enum Refusal: Sendable {
        /// NotImplemented (501): S3 has no "feature off" answer for these, and a 501 is never retried.
        case notImplemented(feature: String)
        /// InvalidRequest, S3's answer to lock headers on a bucket without Object Lock (on a
        /// bucket with it they are honoured: `check(_:_:objectLock:)`).
        case noObjectLock
        /// AccessControlListNotSupported (400), S3's answer to ACL writes on a bucket whose ACLs are
        /// disabled (Object Ownership "bucket owner enforced", its default since April 2023). That
        /// is exactly this gateway's model — the owner has FULL_CONTROL and nobody else anything —
        /// and SDKs, the aws cli and s3cmd already know the code; NotImplemented would suggest that
        /// the request could work somewhere.
        case aclsDisabled
    }

    struct Rule: Sendable {
        let operations: Set<Operation>
        /// Lowercased values that ask for nothing beyond what the gateway does.
        let accepted: Set<String>
        let refusal: Refusal
    }

    private static let objectWrites: Set<Operation> = [.putObject, .copyObject, .createMultipartUpload, .postObject]
    private static let aclWrites = objectWrites.union([.createBucket, .putACL])
    private static let sse = Rule(
        operations: objectWrites, accepted: [], refusal: .notImplemented(feature: "Server-side encryption"))
    /// SSE-C keys ride on every request that touches the object's bytes, reads included.
    private static let sseC = Rule(
        operations: objectWrites.union([.uploadPart, .uploadPartCopy, .getObject]), accepted: [],
        refusal: .notImplemented(feature: "Server-side encryption with customer-provided keys"))
    private static let copySourceSSEC = Rule(
        operations: [.copyObject, .uploadPartCopy], accepted: [],
        refusal: .notImplemented(feature: "Server-side encryption with customer-provided keys"))
    private static let lock = Rule(operations: objectWrites, accepted: [], refusal: .noObjectLock)
    private static let grant = Rule(operations: aclWrites, accepted: [], refusal: .aclsDisabled)

    /// Request header (or POST form field) name → rule. `x-amz-grant-*` is matched by prefix.
    static let rules: [String: Rule] = [
        "x-amz-server-side-encryption": sse,
        "x-amz-server-side-encryption-aws-kms-key-id": sse,
        "x-amz-server-side-encryption-context": sse,
        "x-amz-server-side-encryption-bucket-key-enabled": sse,
        "x-amz-server-side-encryption-customer-algorithm": sseC,
        "x-amz-server-side-encryption-customer-key": sseC,
        "x-amz-server-side-encryption-customer-key-md5": sseC,
        "x-amz-copy-source-server-side-encryption-customer-algorithm": copySourceSSEC,
        "x-amz-copy-source-server-side-encryption-customer-key": copySourceSSEC,
        "x-amz-copy-source-server-side-encryption-customer-key-md5": copySourceSSEC,
        "x-amz-object-lock-mode": lock,
        "x-amz-object-lock-retain-until-date": lock,
        "x-amz-object-lock-legal-hold": lock,
        // "true" creates the bucket with Object Lock (and versioning) enabled.
        "x-amz-bucket-object-lock-enabled": Rule(
            operations: [.createBucket], accepted: ["false", "true"],
            refusal: .notImplemented(feature: "Object Lock values other than true or false")),
        // Only "bucket owner enforced" (ACLs disabled) describes this gateway.
        "x-amz-object-ownership": Rule(
            operations: [.createBucket], accepted: ["bucketownerenforced"],
            refusal: .notImplemented(feature: "Object Ownership other than BucketOwnerEnforced")),
        // With a single owner, bucket-owner-full-control grants exactly what private does.
        "x-amz-acl": Rule(
            operations: aclWrites, accepted: ["private", "bucket-owner-full-control"], refusal: .aclsDisabled),
    ]
    static let grantPrefix = "x-amz-grant-"

    static func rule(for name: String) -> Rule? {
        rules[name] ?? (name.hasPrefix(grantPrefix) ? grant : nil)
    }

    /// `objectLock`: the bucket written to has Object Lock, so its lock headers are honoured
    /// (and validated by the handler), not refused.
    static func check(_ r: S3Request, _ operation: Operation, objectLock: Bool = false) throws(S3Error) {
        try check(r.head.headers, operation, objectLock: objectLock)
    }

    /// Throws the refusal of the first header (lowercased name) that asks for a missing feature.
    static func check(_ headers: [(name: String, value: String)], _ operation: Operation, objectLock: Bool = false)
        throws(S3Error)
    {
        for (name, value) in headers {
            guard let rule = rule(for: name), rule.operations.contains(operation) else { continue }
            if objectLock, case .noObjectLock = rule.refusal { continue }
            if rule.accepted.contains(value.trimmingCharacters(in: .whitespaces).lowercased()) { continue }
            throw error(rule.refusal, header: name)
        }
    }

    /// Names the header, never its value (it may be an encryption key).
    static func error(_ refusal: Refusal, header: String) -> S3Error {
        switch refusal {
        case .notImplemented(let feature):
            return S3Error(
                .notImplemented,
                "\(feature) is not implemented by this gateway: the request carries \(header), so it was refused and nothing was stored."
            )
        case .noObjectLock:
            return S3Error(
                .invalidRequest,
                "Bucket is missing ObjectLockConfiguration: \(header) needs a bucket created with Object Lock enabled."
            )
        case .aclsDisabled:
            return S3Error(
                .accessControlListNotSupported,
                "The bucket does not allow ACLs: only the owner has access (x-amz-acl private or bucket-owner-full-control); \(header) was refused."
            )
        }
    }

    /// A PutBucketAcl / PutObjectAcl body may only restate what GET ?acl answers — one grant,
    /// FULL_CONTROL to the owner — which is what s3cmd `cp` sends back after reading it. Anything
    /// else (another grantee, a group, an e-mail, fewer rights, no grant) is refused.
    static func checkACL(_ policy: XMLNode, owner: String) throws(S3Error) {
        guard policy.name == "AccessControlPolicy", let list = policy.child("AccessControlList") else {
            throw S3Error(.malformedXML)
        }
        if let id = policy.child("Owner")?.child("ID"), trimmed(id.text) != owner {
            throw S3Error(
                .accessControlListNotSupported, "The bucket does not allow ACLs: the owner cannot be changed.")
        }
        let grants = list.children("Grant")
        let onlyOwner =
            grants.count == 1 && trimmed(grants[0].child("Permission")?.text ?? "") == "FULL_CONTROL"
            && grants[0].child("Grantee").map { g in
                g.children.allSatisfy { ["ID", "DisplayName"].contains($0.name) }
                    && trimmed(g.child("ID")?.text ?? "") == owner
            } == true
        if !onlyOwner {
            throw S3Error(
                .accessControlListNotSupported,
                "The bucket does not allow ACLs: the only grant is FULL_CONTROL to the owner, and it cannot be changed."
            )
        }
    }

    private static func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
}
