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
        case getObject
    }

    enum Refusal: Sendable {
        /// NotImplemented (501): S3 has no "feature off" answer for these, and a 501 is never retried.
        case notImplemented(feature: String)
        /// InvalidRequest, S3's answer to lock headers on a bucket without Object Lock (on a
        /// bucket with it they are honoured: `check(_:_:objectLock:)`).
        case noObjectLock
    }

    struct Rule: Sendable {
        let operations: Set<Operation>
        /// Lowercased values that ask for nothing beyond what the gateway does.
        let accepted: Set<String>
        let refusal: Refusal
    }

    private static let objectWrites: Set<Operation> = [.putObject, .copyObject, .createMultipartUpload, .postObject]
    private static let lock = Rule(operations: objectWrites, accepted: [], refusal: .noObjectLock)

    /// Request header (or POST form field) name → rule. ACL headers (x-amz-acl, x-amz-grant-*,
    /// x-amz-object-ownership) are honoured per bucket: `Handlers.newObjectACL`, createBucket.
    static let rules: [String: Rule] = [
        "x-amz-object-lock-mode": lock,
        "x-amz-object-lock-retain-until-date": lock,
        "x-amz-object-lock-legal-hold": lock,
        // "true" creates the bucket with Object Lock (and versioning) enabled.
        "x-amz-bucket-object-lock-enabled": Rule(
            operations: [.createBucket], accepted: ["false", "true"],
            refusal: .notImplemented(feature: "Object Lock values other than true or false")),
    ]

    static func rule(for name: String) -> Rule? { rules[name] }

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
        }
    }
}
