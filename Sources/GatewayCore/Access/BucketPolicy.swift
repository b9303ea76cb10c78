import Synchronization

/// A bucket policy: IAM's policy language as S3 accepts it on a bucket (PutBucketPolicy),
/// parsed and validated once, then evaluated by `Access.decide`. What is supported is listed
/// in docs/ACCESS.md, "Policy language".
public struct BucketPolicy: Sendable, Equatable {
    /// Who a statement's Principal (or NotPrincipal) names.
    public enum PolicyPrincipal: Sendable, Equatable, Hashable {
        /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
        case everyone
        /// `arn:aws:iam::<tenant>:root` or a bare tenant id: every user of the tenant.
        case tenant(String)
        /// `arn:aws:iam::<tenant>:user/<name>`.
        case user(tenant: String, name: String)
        /// `{"CanonicalUser": "<id>"}`: the user with that canonical id (UserRecord.id).
        case canonicalUser(String)

        /// Whether the principal names `caller` in a Principal element. A tenant (its root)
        /// names the tenant's users only when `tenants` holds: AWS reads naming an account as
        /// delegating to that account's own permissions, which adds nothing to what a user of
        /// the bucket's own tenant holds (`Access.decide`), while for another tenant it is the
        /// cross-account grant.
        func names(_ caller: Caller, tenants: Bool) -> Bool {
            switch (self, caller) {
            case (.everyone, _): true
            case (_, .anonymous): false
            case (.tenant(let t), .principal(let p)): tenants && p.tenant == t
            case (.user(let t, let n), .principal(let p)): p.tenant == t && p.user.name == n
            case (.canonicalUser(let id), .principal(let p)): p.user.id == id
            }
        }
    }

    public struct Statement: Sendable, Equatable {
        public var sid: String?
        public var allow: Bool
        public var principals: [PolicyPrincipal]
        /// NotPrincipal (Deny only): the statement applies to everyone the list does not name.
        public var notPrincipal: Bool
        /// Lowercased action patterns (`s3:get*`, `*`).
        public var actions: [String]
        public var notAction: Bool
        /// ARN patterns (case-sensitive).
        public var resources: [String]
        public var notResource: Bool
        public var conditions: [PolicyCondition]
    }

    public var version: String
    public var id: String?
    public var statements: [Statement]

    /// The most a policy may hold, counted on its compact form (S3: bucket policies are
    /// limited to 20 KB).
    public static let maxSize = 20 * 1024

    static let arnPrefix = "arn:aws:s3:::"

    /// The ARN policies name a bucket by: `arn:aws:s3:::<name>` in the default tenant,
    /// `arn:aws:s3:::<tenant>:<name>` in others (the `tenant:bucket` address, docs/ACCESS.md).
    public static func arn(of bucket: BucketRecord) -> String {
        arnPrefix + (bucket.tenant == TenantRecord.defaultID ? "" : bucket.tenant + ":") + bucket.displayName
    }

    // MARK: - Evaluation

    /// What the policy says about one request: whether a Deny statement matches, and whether an
    /// Allow statement does. `resource` is the bucket's ARN or an object's (`<bucket ARN>/<key>`).
    /// `bucketTenant` is the tenant of the bucket the policy is on: an Allow naming a tenant
    /// grants only to callers of other tenants (`PolicyPrincipal.names`).
    public func evaluate(
        caller: Caller, action: String, resource: String, context: PolicyContext, bucketTenant: String? = nil
    ) -> (deny: Bool, allow: Bool) {
        let a = action.lowercased()
        // Policy variables exist from version 2012-10-17 on; before, `${…}` is plain text.
        let variables = version == "2012-10-17"
        let tenantGrants = bucketTenant == nil || caller.principal?.tenant != bucketTenant
        var deny = false
        var allow = false
        for s in statements where s.allow ? !allow : !deny {
            if Self.matches(
                s, caller: caller, action: a, resource: resource, context: context, variables: variables,
                tenantGrants: tenantGrants)
            {
                if s.allow { allow = true } else { deny = true }
            }
        }
        return (deny, allow)
    }

    static func matches(
        _ s: Statement, caller: Caller, action: String, resource: String, context: PolicyContext, variables: Bool,
        tenantGrants: Bool
    ) -> Bool {
        if s.notPrincipal {
            // Only a user named exactly (or everyone) escapes a NotPrincipal Deny: naming a
            // tenant exempts its root in AWS, and the gateway has no root user.
            guard !s.principals.contains(where: { $0.names(caller, tenants: false) }) else { return false }
        } else {
            // A Deny naming a tenant applies to all its users; an Allow see `names`.
            guard s.principals.contains(where: { $0.names(caller, tenants: !s.allow || tenantGrants) }) else {
                return false
            }
        }
        let actionNamed = s.actions.contains { PermissionSet.globMatch($0, action) }
        guard actionNamed != s.notAction else { return false }
        // A variable the request has no value for makes the whole statement not match (never
        // a NotResource or condition that matches more).
        var resourceNamed = false
        for pattern in s.resources {
            guard let p = resolve(pattern, context, variables: variables) else { return false }
            if !resourceNamed && PermissionSet.globMatch(p, resource) { resourceNamed = true }
        }
        guard resourceNamed != s.notResource else { return false }
        for c in s.conditions {
            var patterns: [[PermissionSet.GlobAtom]] = []
            for v in c.values {
                guard let p = resolve(v, context, variables: variables) else { return false }
                patterns.append(p)
            }
            // A request value that does not parse: an Allow does not match, a Deny does.
            guard c.evaluate(context, patterns: patterns) ?? !s.allow else { return false }
        }
        return true
    }

    /// A resource or condition value as a glob, its policy variables (`${aws:username}`…)
    /// replaced by the request's values, which match literally, as do IAM's escapes `${*}`,
    /// `${?}` and `${$}`; `*` and `?` written in the policy are wildcards. nil when a variable
    /// has no value in the request. Without `variables` (version 2008-10-17) `${…}` is text.
    static func resolve(_ text: String, _ context: PolicyContext, variables: Bool) -> [PermissionSet.GlobAtom]? {
        typealias Atom = PermissionSet.GlobAtom
        guard variables, text.contains("${") else { return text.unicodeScalars.map(Atom.init) }
        var out: [Atom] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "${") {
            out += rest[..<open.lowerBound].unicodeScalars.map(Atom.init)
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                out += rest[open.lowerBound...].unicodeScalars.map(Atom.init)
                return out
            }
            let name = String(rest[open.upperBound..<close])
            switch name {
            case "*", "?", "$": out += name.unicodeScalars.map(Atom.scalar)
            default:
                guard let v = context[name]?.first else { return nil }
                out += v.unicodeScalars.map(Atom.scalar)
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest.unicodeScalars.map(Atom.init)
    }

    // MARK: - Public or not

    /// Whether S3 would call the policy public (GetBucketPolicyStatus, BlockPublicPolicy,
    /// RestrictPublicBuckets): some Allow statement grants to everyone (`*`) without a
    /// condition that pins the caller to fixed values — an `aws:SourceIp` range no wider than
    /// /8 (IPv4) or /32 (IPv6), or fixed values of aws:SourceArn, SourceVpc, SourceVpce,
    /// SourceOwner, SourceAccount, PrincipalOrgID, PrincipalArn, PrincipalAccount or userid.
    /// (AWS also counts a KMS key id: that pins callers allowed to use the key, and the gateway
    /// checks no such permission, so here it pins nothing.) A range of IPv4-mapped IPv6
    /// addresses is judged by its IPv4 prefix (`CIDR` normalises it).
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
    public var isPublic: Bool {
        statements.contains { s in
            s.allow && s.principals.contains(.everyone) && !s.conditions.contains(where: Self.pins)
        }
    }

    static let pinningKeys: Set<String> = [
        "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner", "aws:sourceaccount",
        "aws:principalorgid", "aws:principalarn", "aws:principalaccount", "aws:userid",
        "s3:dataaccesspointarn", "s3:dataaccesspointaccount",
    ]

    /// Whether a condition holds every matching request to fixed values of a key that
    /// identifies the caller. One a request without the key satisfies (`…IfExists`,
    /// `ForAllValues`, negated operators) pins nothing.
    static func pins(_ c: PolicyCondition) -> Bool {
        if c.ifExists || c.qualifier == .forAllValues || c.op.isNegated || c.values.isEmpty { return false }
        if c.key == "aws:sourceip" {
            return c.op == .ipAddress
                && c.values.allSatisfy { v in CIDR(v).map { $0.prefix >= ($0.isIPv4 ? 8 : 32) } ?? false }
        }
        guard pinningKeys.contains(c.key) else { return false }
        let fixed = c.values.allSatisfy { !$0.contains("*") && !$0.contains("?") && !$0.contains("${") }
        return fixed && [.stringEquals, .stringEqualsIgnoreCase, .stringLike, .arnEquals, .arnLike].contains(c.op)
    }

    // MARK: - Parsed once

    /// A stored policy document of the bucket `bucketARN` names, parsed once per distinct
    /// document and bucket (a bounded cache: decide() must not reparse per request); nil when
    /// there is none (""). A stored document that no longer parses is a failure, and
    /// `Access.decide` then fails closed.
    public static func cached(_ document: String, bucketARN: String) -> Result<BucketPolicy, S3Error>? {
        guard !document.isEmpty else { return nil }
        let cacheKey = bucketARN + "\n" + document
        if let hit = cache.withLock({ $0[cacheKey] }) { return hit }
        let parsed: Result<BucketPolicy, S3Error>
        do { parsed = .success(try parse(document, bucketARN: bucketARN)) } catch { parsed = .failure(error) }
        cache.withLock {
            if $0.count >= 256 { $0.removeAll() }
            $0[cacheKey] = parsed
        }
        return parsed
    }

    private static let cache = Mutex<[String: Result<BucketPolicy, S3Error>]>([:])
}
