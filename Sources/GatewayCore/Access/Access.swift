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
/// case-insensitively as IAM does (stored lowercased: "aws:sourceip", "s3:prefix"), except the
/// tag name of tag keys (`s3:ExistingObjectTag/<tag>`…), which is case-sensitive as tag keys
/// are; a key may hold several values (multivalued keys are what ForAnyValue/ForAllValues
/// qualify).
public struct PolicyContext: Sendable, Equatable {
    public var values: [String: [String]]

    public init(_ values: [String: [String]] = [:]) {
        self.values = Dictionary(values.map { (Self.normalized($0.key), $0.value) }, uniquingKeysWith: { $0 + $1 })
    }

    public subscript(key: String) -> [String]? {
        get { values[Self.normalized(key)] }
        set { values[Self.normalized(key)] = newValue }
    }

    /// The keys whose last part is a tag name.
    static let tagKeyPrefixes = [
        "s3:existingobjecttag/", "s3:requestobjecttag/", "aws:requesttag/", "aws:resourcetag/", "aws:principaltag/",
    ]

    /// A key as stored: lowercased, but a tag key's tag name as written.
    public static func normalized(_ key: String) -> String {
        for p in tagKeyPrefixes where key.utf8.count >= p.utf8.count {
            let head = key.utf8.prefix(p.utf8.count)
            // ASCII-only case folding: the prefixes are ASCII.
            if head.elementsEqual(p.utf8, by: { ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 }) {
                return p + String(decoding: key.utf8.dropFirst(p.utf8.count), as: UTF8.self)
            }
        }
        return key.lowercased()
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
/// permissions, session policy, ACLs, object ownership and the public access block, in AWS's
/// order (docs/ACCESS.md, "Decision order"):
/// 1. an explicit Deny of the bucket policy that matches ⇒ explicitDeny (the bucket's owner
///    keeps Get/Put/DeleteBucketPolicy);
/// 2. a grant: an Allow of the bucket policy that matches (not for callers outside the bucket's
///    tenant when the policy is public and RestrictPublicBuckets is on), or an ACL grant that
///    covers the action (ACLs count only when Object Ownership is not BucketOwnerEnforced;
///    public grants not under IgnorePublicAcls);
/// 3. anonymous: a grant ⇒ allow. A principal of the bucket's tenant: its own permissions, or
///    a grant naming it (not merely its tenant) that its session policy also allows ⇒ allow. A
///    principal of another tenant: a grant and its own permissions (session policy included)
///    on the tenant-qualified bucket (`<tenant>:<bucket>`) ⇒ allow, as AWS asks both accounts;
/// 4. otherwise implicitDeny.
public enum Access {
    public static func decide(_ r: AccessRequest, clock: any Clock = SystemClock()) -> AccessDecision {
        let bucket = r.bucket
        let principal = r.caller.principal
        let sameTenant = principal.map { $0.tenant == bucket.tenant } ?? false
        // The caller's own permissions (session policy included) on the bucket as its tenant
        // names it.
        let own = resource(r, qualified: !sameTenant)
        let ownPermission = principal?.allows(r.action, on: own) ?? false
        let action = r.action.lowercased()
        let keepsPolicy =
            sameTenant && principal?.user.id == bucket.owner && ownPermission && policyManagement.contains(action)
        let pab = PublicAccessBlock(stored: bucket.publicAccessBlock)
        var policyAllows = false
        let arn = BucketPolicy.arn(of: bucket)
        switch BucketPolicy.cached(bucket.policy, bucketARN: arn) {
        case nil: break
        case .success(let policy)?:
            let (deny, allow) = policy.evaluate(
                caller: r.caller, action: r.action, resource: r.key.map { arn + "/" + $0 } ?? arn,
                context: completed(r, now: clock.now()), bucketTenant: bucket.tenant)
            if deny && !keepsPolicy { return .explicitDeny }
            policyAllows = allow && !(pab.restrictPublicBuckets && !sameTenant && policy.isPublic)
        case .failure?:
            // A stored policy that no longer parses may have denied anything: fail closed,
            // except for what lets the owner replace or remove it.
            if !keepsPolicy { return .explicitDeny }
        }
        // Policy management belongs to the bucket's own account in S3, whatever a policy or an
        // ACL grants: another tenant or an anonymous caller never gets it (an explicit Deny
        // above still answers first).
        if !sameTenant && ownTenantOnly.contains(action) { return .implicitDeny }
        guard let principal else {
            return policyAllows || aclAllows(r, ignorePublic: pab.ignorePublicAcls) ? .allow : .implicitDeny
        }
        if sameTenant {
            if ownPermission { return .allow }
            // A grant to the user never reaches past its session policy.
            let sessionAllows = principal.session?.policy?.allows(r.action, on: own) ?? true
            guard sessionAllows, policyAllows || aclAllows(r, ignorePublic: pab.ignorePublicAcls) else {
                return .implicitDeny
            }
            return .allow
        }
        // Another tenant's user: the bucket's tenant grants, the caller's tenant permits.
        guard ownPermission, policyAllows || aclAllows(r, ignorePublic: pab.ignorePublicAcls) else {
            return .implicitDeny
        }
        return .allow
    }

    /// What AWS keeps for the bucket owner's account whatever the policy says: its root user
    /// may always get, replace and delete the bucket policy, so a policy can never lock the
    /// owner out of fixing it. Here the root is the bucket's owner (`BucketRecord.owner`), as
    /// long as its own permissions (and session policy) allow the action; every other user is
    /// bound by a Deny.
    static let policyManagement: Set<String> = ["s3:getbucketpolicy", "s3:putbucketpolicy", "s3:deletebucketpolicy"]
    /// What only the bucket's own tenant may ask, whatever a policy or an ACL grants.
    static let ownTenantOnly = policyManagement.union(["s3:getbucketpolicystatus"])

    /// What the caller's own permissions are asked about: the object, a listing of the bucket
    /// under the request's `s3:prefix`, or the bucket itself (the same resources S3Router
    /// checks today). `qualified` names the bucket `<tenant>:<bucket>`, as a user of another
    /// tenant addresses it.
    static func resource(_ r: AccessRequest, qualified: Bool = false) -> PermissionSet.Resource {
        let name = qualified ? r.bucket.tenant + ":" + r.bucket.displayName : r.bucket.displayName
        if let key = r.key { return .object(bucket: name, key: key) }
        let a = r.action.lowercased()
        if a.hasPrefix("s3:list"), a != "s3:listallmybuckets" {
            return .listing(bucket: name, prefix: r.context["s3:prefix"]?.first ?? "")
        }
        return .bucket(name)
    }

    /// The request's context with the keys that come from the caller, the clock and the object
    /// set here, whatever the request context said (the wiring supplies the request-derived
    /// ones, and must not be able to forge these): aws:username, aws:userid, aws:PrincipalArn,
    /// aws:PrincipalAccount (removed for anonymous callers), aws:PrincipalType, aws:CurrentTime,
    /// aws:EpochTime, s3:ExistingObjectTag/<key> from the object's tags.
    static func completed(_ r: AccessRequest, now: Double) -> PolicyContext {
        var c = r.context
        if let p = r.caller.principal {
            c["aws:username"] = [p.user.name]
            c["aws:userid"] = [p.user.id]
            c["aws:principalarn"] = ["arn:aws:iam::\(p.tenant):user/\(p.user.name)"]
            c["aws:principalaccount"] = [p.tenant]
            c["aws:principaltype"] = ["User"]
        } else {
            for k in ["aws:username", "aws:userid", "aws:principalarn", "aws:principalaccount"] { c[k] = nil }
            c["aws:principaltype"] = ["Anonymous"]
        }
        c["aws:currenttime"] = [HTTPDate.iso8601(now)]
        c["aws:epochtime"] = [String(Int(now))]
        if let o = r.object {
            // Tag keys are case-sensitive: `Class` and `class` are two keys.
            for t in o.tags { c.values["s3:existingobjecttag/" + t.name, default: []].append(t.value) }
        }
        return c
    }

    // MARK: - ACLs

    /// Which ACL and which permission an action needs: bucket READ lists, bucket WRITE writes
    /// and deletes objects (PutObject covers multipart uploads; DeleteObjectVersion, and
    /// aborting or listing the parts of another's upload, are not WRITE's, as in S3),
    /// READ_ACP/WRITE_ACP read and write the ACL;
    /// object READ reads the object's data (GET/HEAD), object READ_ACP/WRITE_ACP its ACL.
    /// Anything else (tagging, configuration, policy) no ACL grants, as in S3.
    static let aclPermissions: [String: (object: Bool, permission: AccessControlList.Permission)] = [
        "s3:listbucket": (false, .read), "s3:listbucketversions": (false, .read),
        "s3:listbucketmultipartuploads": (false, .read),
        "s3:putobject": (false, .write), "s3:deleteobject": (false, .write),
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
