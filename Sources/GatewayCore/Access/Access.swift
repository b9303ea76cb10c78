/// Who sends a request: nobody (an unsigned request) or a principal whose signature checked out.
public enum Caller: Sendable, Equatable {
    case anonymous
    case principal(Principal)

    public var principal: Principal? {
        if case .principal(let p) = self { return p }
        return nil
    }
}

/// The condition keys of one request, as bucket policy conditions read them. Keys are compared
/// case-insensitively as IAM does (stored lowercased: "aws:sourceip", "s3:prefix"); a key may
/// hold several values (multivalued keys are what ForAnyValue/ForAllValues qualify).
public struct PolicyContext: Sendable, Equatable {
    public var values: [String: [String]]

    public init(_ values: [String: [String]] = [:]) {
        self.values = Dictionary(values.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $0 + $1 })
    }

    public subscript(key: String) -> [String]? {
        get { values[key.lowercased()] }
        set { values[key.lowercased()] = newValue }
    }
}

/// One access question: may `caller` do `action` on `bucket` (and `key`)?
public struct AccessRequest: Sendable {
    /// AWS's action name ("s3:GetObject"; version actions as S3Router.action gives them).
    public var action: String
    /// Its owner, tenant, policy, ACL, ownership and public access block are read.
    public var bucket: BucketRecord
    /// The object key of object-level actions, nil for bucket-level ones.
    public var key: String?
    /// The existing object whose ACL, owner and tags govern the request (reads, ACL reads and
    /// writes); nil when there is none or it does not matter (writes go by the bucket ACL).
    public var object: ObjectRecord?
    public var caller: Caller
    /// Request-derived condition keys (aws:SourceIp, aws:SecureTransport, s3:prefix…); the
    /// caller-derived ones are filled in by `Access.decide`.
    public var context: PolicyContext

    public init(
        action: String, bucket: BucketRecord, key: String? = nil, object: ObjectRecord? = nil, caller: Caller,
        context: PolicyContext = PolicyContext()
    ) {
        self.action = action
        self.bucket = bucket
        self.key = key
        self.object = object
        self.caller = caller
        self.context = context
    }
}

/// The answer: allowed, denied by an explicit Deny statement, or not allowed by anything. Both
/// denials are AccessDenied for the client; they differ for logs and tests.
public enum AccessDecision: Sendable, Equatable {
    case allow, explicitDeny, implicitDeny
}

/// The one access decision of S3 requests on a bucket: bucket policy, the caller's own
/// permissions, ACLs, object ownership and the public access block, in AWS's order
/// (docs/ACCESS.md).
public enum Access {
    public static func decide(_ r: AccessRequest) -> AccessDecision {
        if let p = r.caller.principal, p.tenant == r.bucket.tenant, p.allows(r.action, on: resource(r)) {
            return .allow
        }
        return .implicitDeny
    }

    /// What the caller's own permissions are asked about: the object, a listing of the bucket
    /// under the request's `s3:prefix`, or the bucket itself (the same resources S3Router
    /// checks today).
    static func resource(_ r: AccessRequest) -> PermissionSet.Resource {
        let name = r.bucket.displayName
        if let key = r.key { return .object(bucket: name, key: key) }
        let a = r.action.lowercased()
        if a.hasPrefix("s3:list"), a != "s3:listallmybuckets" {
            return .listing(bucket: name, prefix: r.context["s3:prefix"]?.first ?? "")
        }
        return .bucket(name)
    }
}
