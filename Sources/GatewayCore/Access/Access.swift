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
/// (docs/ACCESS.md):
/// 1. an explicit Deny of the bucket policy that matches ⇒ explicitDeny;
/// 2. a principal of the bucket's tenant whose own permissions allow it ⇒ allow;
/// 3. an Allow of the bucket policy that matches ⇒ allow (not for callers outside the
///    bucket's tenant when the policy is public and RestrictPublicBuckets is on);
/// 4. an ACL grant that covers the action ⇒ allow (ACLs count only when Object Ownership is
///    not BucketOwnerEnforced; public grants not under IgnorePublicAcls);
/// 5. otherwise implicitDeny.
public enum Access {
    public static func decide(_ r: AccessRequest) -> AccessDecision {
        let bucket = r.bucket
        let principal = r.caller.principal
        let sameTenant = principal?.tenant == bucket.tenant
        let ownPermission = sameTenant && principal?.allows(r.action, on: resource(r)) == true
        let pab = PublicAccessBlock(stored: bucket.publicAccessBlock)
        var policyAllows = false
        let arn = BucketPolicy.arn(of: bucket)
        switch BucketPolicy.cached(bucket.policy, bucketARN: arn) {
        case nil: break
        case .success(let policy)?:
            let context = completed(r)
            let (deny, allow) = policy.evaluate(
                caller: r.caller, action: r.action, resource: r.key.map { arn + "/" + $0 } ?? arn, context: context)
            if deny && !(ownPermission && policyManagement.contains(r.action.lowercased())) { return .explicitDeny }
            policyAllows = allow && !(pab.restrictPublicBuckets && !sameTenant && policy.isPublic)
        case .failure?:
            // A stored policy that no longer parses may have denied anything: fail closed,
            // except for what lets the owner replace or remove it.
            if !(ownPermission && policyManagement.contains(r.action.lowercased())) { return .explicitDeny }
        }
        if ownPermission || policyAllows { return .allow }
        return aclAllows(r, ignorePublic: pab.ignorePublicAcls) ? .allow : .implicitDeny
    }

    /// What AWS keeps for the bucket owner's account whatever the policy says: its root user
    /// may always get, replace and delete the bucket policy, so a policy can never lock the
    /// owner out of fixing it. Here the owner's account is the bucket's tenant and a "root" is
    /// any of its users holding the permission.
    static let policyManagement: Set<String> = ["s3:getbucketpolicy", "s3:putbucketpolicy", "s3:deletebucketpolicy"]

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

    /// The request's context with the keys that come from the caller and the object filled
    /// in (the wiring supplies the request-derived ones): aws:username, aws:userid,
    /// aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:CurrentTime and
    /// aws:EpochTime unless given, s3:ExistingObjectTag/<key> from the object's tags.
    static func completed(_ r: AccessRequest) -> PolicyContext {
        var c = r.context
        if let p = r.caller.principal {
            c["aws:username"] = [p.user.name]
            c["aws:userid"] = [p.user.id]
            c["aws:principalarn"] = ["arn:aws:iam::\(p.tenant):user/\(p.user.name)"]
            c["aws:principalaccount"] = [p.tenant]
            c["aws:principaltype"] = ["User"]
        } else {
            c["aws:principaltype"] = ["Anonymous"]
        }
        if c["aws:currenttime"] == nil || c["aws:epochtime"] == nil {
            let now = SystemClock().now()
            if c["aws:currenttime"] == nil { c["aws:currenttime"] = [HTTPDate.iso8601(now)] }
            if c["aws:epochtime"] == nil { c["aws:epochtime"] = [String(Int(now))] }
        }
        if let o = r.object {
            for t in o.tags { c["s3:existingobjecttag/" + t.name] = [t.value] }
        }
        return c
    }

    // MARK: - ACLs

    /// Which ACL and which permission an action needs: bucket READ lists, bucket WRITE writes
    /// and deletes objects (multipart included), READ_ACP/WRITE_ACP read and write the ACL;
    /// object READ reads the object's data (GET/HEAD), object READ_ACP/WRITE_ACP its ACL.
    /// Anything else (tagging, configuration, policy) no ACL grants, as in S3.
    static let aclPermissions: [String: (object: Bool, permission: AccessControlList.Permission)] = [
        "s3:listbucket": (false, .read), "s3:listbucketversions": (false, .read),
        "s3:listbucketmultipartuploads": (false, .read),
        "s3:putobject": (false, .write), "s3:deleteobject": (false, .write), "s3:deleteobjectversion": (false, .write),
        "s3:abortmultipartupload": (false, .write), "s3:listmultipartuploadparts": (false, .write),
        "s3:getbucketacl": (false, .readACP), "s3:putbucketacl": (false, .writeACP),
        "s3:getobject": (true, .read), "s3:getobjectversion": (true, .read),
        "s3:getobjectacl": (true, .readACP), "s3:getobjectversionacl": (true, .readACP),
        "s3:putobjectacl": (true, .writeACP), "s3:putobjectversionacl": (true, .writeACP),
    ]

    static func aclAllows(_ r: AccessRequest, ignorePublic: Bool) -> Bool {
        guard ObjectOwnership(stored: r.bucket.ownership).aclsEnabled,
            let needed = aclPermissions[r.action.lowercased()]
        else { return false }
        let acl: AccessControlList?
        if needed.object {
            // An object's ACL governs only an object that exists; its owner is the bucket
            // owner unless stored (ObjectWriter uploads).
            guard let o = r.object else { return false }
            acl = AccessControlList.decode(o.acl, owner: o.owner.isEmpty ? r.bucket.owner : o.owner)
        } else {
            acl = AccessControlList.decode(r.bucket.acl, owner: r.bucket.owner)
        }
        // An ACL that does not decode grants nothing (fail closed).
        return acl?.permissions(of: r.caller, ignorePublic: ignorePublic).contains(needed.permission) ?? false
    }
}
