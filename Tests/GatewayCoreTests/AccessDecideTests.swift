import Foundation
import GatewayCore
import XCTest

/// `Access.decide`, table-driven: caller × bucket policy × ACL × ownership × public access
/// block × action → decision.
final class AccessDecideTests: XCTestCase {
    /// A user; `session` (action globs allowed on every resource) makes it temporary
    /// credentials narrowed by a session policy.
    static func user(
        _ tenant: String, _ name: String, _ rules: [String: [String]], id: String? = nil, session: [String]? = nil
    ) -> Caller {
        .principal(
            Principal(
                tenant: tenant,
                user: UserRecord(
                    tenant: tenant, name: name, id: id ?? "\(name)-id", permissions: PermissionSet(rules), createdAt: 0),
                accessKey: "AK\(name)",
                session: session.map {
                    Principal.Session(
                        expiresAt: 0, tokenHash: "",
                        policy: SessionPolicy(statements: [.init(allow: true, actions: $0, resources: ["*"])]))
                }))
    }

    /// alice: the bucket's tenant, every S3 permission on it; nobody: same tenant, no
    /// permissions; eve: another tenant, every permission on her own buckets.
    static let alice = user("acme", "alice", ["s3:*": ["photos"]])
    static let nobody = user("acme", "nobody", [:])
    static let eve = user("other", "eve", ["s3:*": ["*"]])
    static let anon = Caller.anonymous
    static let callers: [(String, Caller)] = [("alice", alice), ("nobody", nobody), ("eve", eve), ("anon", anon)]

    static let arn = "arn:aws:s3:::acme:photos"

    static func bucket(
        policy: String = "", acl: String = "", ownership: String = "", pab: String = ""
    ) -> BucketRecord {
        var b = BucketRecord(
            name: "acme/photos", owner: "alice-id", createdAt: 0, locationConstraint: "", zones: ["z"],
            backendBucket: "b", tenant: "acme")
        b.policy = policy
        b.acl = acl
        b.ownership = ownership
        b.publicAccessBlock = pab
        return b
    }

    static func object(_ key: String, owner: String = "", acl: String = "", tags: [Header] = []) -> ObjectRecord {
        var o = ObjectRecord(
            bucket: "acme/photos", key: key, size: 1, etag: "e", lastModified: 0, contentType: "", headers: [],
            checksums: [:], zone: "z", blob: "b", tags: tags)
        o.owner = owner
        o.acl = acl
        return o
    }

    static func statement(
        _ effect: String, principal: String = "\"Principal\":\"*\"", action: String = "\"s3:GetObject\"",
        resource: String = "\"\(arn)/*\"", condition: String? = nil
    ) -> String {
        "{\"Effect\":\"\(effect)\",\(principal),\"Action\":\(action),\"Resource\":\(resource)"
            + (condition.map { ",\"Condition\":\($0)" } ?? "") + "}"
    }

    static func policy(_ statements: String...) -> String {
        "{\"Version\":\"2012-10-17\",\"Statement\":[\(statements.joined(separator: ","))]}"
    }

    /// Expected decisions for (alice, nobody, eve, anon), A/E/I = allow/explicitDeny/implicitDeny.
    func expect(
        _ expected: String, action: String = "s3:GetObject", key: String? = "docs/a.txt", bucket: BucketRecord,
        object: ObjectRecord? = nil, context: [String: [String]] = [:], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let letters = Array(expected)
        XCTAssertEqual(letters.count, Self.callers.count, file: file, line: line)
        for ((name, caller), letter) in zip(Self.callers, letters) {
            let r = AccessRequest(
                action: action, bucket: bucket, key: key, object: object ?? key.map { Self.object($0) },
                caller: caller, context: PolicyContext(context))
            let want: AccessDecision = letter == "A" ? .allow : letter == "E" ? .explicitDeny : .implicitDeny
            XCTAssertEqual(Access.decide(r), want, "\(name) \(action) \(key ?? "-")", file: file, line: line)
        }
    }

    // MARK: - The caller's own permissions

    func testOwnTenantPermissions() {
        let reader = Self.user("acme", "reader", ["s3:GetObject": ["photos"], "s3:ListBucket": ["photos/2026/*"]])
        let rows: [(Caller, String, String?, [String: [String]], AccessDecision)] = [
            (reader, "s3:GetObject", "a.jpg", [:], .allow),
            (reader, "s3:PutObject", "a.jpg", [:], .implicitDeny),
            (reader, "s3:ListBucket", nil, ["s3:prefix": ["2026/03/"]], .allow),
            (reader, "s3:ListBucket", nil, ["s3:prefix": ["2025/"]], .implicitDeny),
            (reader, "s3:ListBucket", nil, [:], .implicitDeny),
            (reader, "s3:GetBucketTagging", nil, [:], .implicitDeny),
            // Another tenant's permissions never reach this tenant's buckets.
            (Self.eve, "s3:GetObject", "a.jpg", [:], .implicitDeny),
            (Self.eve, "s3:ListBucket", nil, [:], .implicitDeny),
            (.anonymous, "s3:GetObject", "a.jpg", [:], .implicitDeny),
            (.anonymous, "s3:ListBucket", nil, [:], .implicitDeny),
        ]
        for (caller, action, key, context, expected) in rows {
            let r = AccessRequest(
                action: action, bucket: Self.bucket(), key: key, caller: caller, context: PolicyContext(context))
            XCTAssertEqual(Access.decide(r), expected, "\(action) \(key ?? "-") \(context) by \(caller)")
        }
    }

    func testContextKeysAreCaseInsensitive() {
        var c = PolicyContext(["S3:Prefix": ["a/"]])
        XCTAssertEqual(c["s3:prefix"], ["a/"])
        c["AWS:SourceIp"] = ["10.0.0.1"]
        XCTAssertEqual(c.values["aws:sourceip"], ["10.0.0.1"])
    }

    // MARK: - Bucket policies

    func testPolicies() {
        let inside = ["aws:sourceip": ["192.0.2.5"], "aws:securetransport": ["false"]]
        let outside = ["aws:sourceip": ["198.51.100.1"], "aws:securetransport": ["true"]]
        let allowAll = Self.policy(Self.statement("Allow"))
        let denyAll = Self.policy(Self.statement("Deny", action: "\"s3:*\""))
        let denySecret = Self.policy(Self.statement("Deny", resource: "\"\(Self.arn)/secret/*\""))
        let ipOnly = Self.policy(
            Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"192.0.2.0/24\"}}"))
        let tlsOnly = Self.policy(
            Self.statement("Deny", action: "\"s3:*\"", condition: "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"))
        let toOther = Self.policy(Self.statement("Allow", principal: "\"Principal\":{\"AWS\":\"other\"}"))
        let toEve = Self.policy(
            Self.statement("Allow", principal: "\"Principal\":{\"AWS\":\"arn:aws:iam::other:user/eve\"}"))
        let toEveID = Self.policy(Self.statement("Allow", principal: "\"Principal\":{\"CanonicalUser\":\"eve-id\"}"))

        expect("AIII", bucket: Self.bucket())
        expect("AAAA", bucket: Self.bucket(policy: allowAll))
        expect("AIII", action: "s3:PutObject", bucket: Self.bucket(policy: allowAll))
        expect("EEEE", bucket: Self.bucket(policy: denyAll))
        expect("EEEE", action: "s3:DeleteObject", bucket: Self.bucket(policy: denyAll))
        // A Deny of objects says nothing about the bucket.
        expect("AIII", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: denyAll))
        expect("AIII", bucket: Self.bucket(policy: denySecret))
        expect("EEEE", key: "secret/x", bucket: Self.bucket(policy: denySecret))
        expect("AAAA", bucket: Self.bucket(policy: ipOnly), context: inside)
        expect("AIII", bucket: Self.bucket(policy: ipOnly), context: outside)
        expect("AIII", bucket: Self.bucket(policy: ipOnly))
        expect("EEEE", bucket: Self.bucket(policy: tlsOnly), context: inside)
        expect("AIII", bucket: Self.bucket(policy: tlsOnly), context: outside)
        // No aws:SecureTransport in the context: Bool on a missing key is false, no Deny.
        expect("AIII", bucket: Self.bucket(policy: tlsOnly))
        expect("AIAI", bucket: Self.bucket(policy: toOther))
        expect("AIAI", bucket: Self.bucket(policy: toEve))
        expect("AIAI", bucket: Self.bucket(policy: toEveID))
        // A Deny beats the caller's own permissions and any Allow.
        expect("EEEE", bucket: Self.bucket(policy: Self.policy(Self.statement("Allow"), Self.statement("Deny"))))
    }

    func testNotElements() {
        let notAcme = Self.policy(
            Self.statement("Deny", principal: "\"NotPrincipal\":{\"AWS\":\"acme\"}", action: "\"s3:*\""))
        // Naming a tenant exempts its root, and the gateway has none: no user escapes.
        expect("EEEE", bucket: Self.bucket(policy: notAcme))
        let notAlice = Self.policy(
            Self.statement(
                "Deny", principal: "\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::acme:user/alice\"}", action: "\"s3:*\""))
        expect("AEEE", bucket: Self.bucket(policy: notAlice))
        let onlyReads = Self.policy(
            "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"NotAction\":\"s3:Get*\",\"Resource\":\"\(Self.arn)/*\"}")
        expect("AIII", bucket: Self.bucket(policy: onlyReads))
        expect("EEEE", action: "s3:PutObject", bucket: Self.bucket(policy: onlyReads))
        let onlyPublic = Self.policy(
            "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"NotResource\":\"\(Self.arn)/public/*\"}"
        )
        expect("EEEE", bucket: Self.bucket(policy: onlyPublic))
        expect("AIII", key: "public/x", bucket: Self.bucket(policy: onlyPublic))
        // Only GetObject is denied: listing is untouched.
        expect("AIII", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: onlyPublic))
        let allowNotAction = Self.policy(
            "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotAction\":\"s3:Delete*\",\"Resource\":\"\(Self.arn)/*\"}")
        expect("AAAA", action: "s3:PutObject", bucket: Self.bucket(policy: allowNotAction))
        expect("AIII", action: "s3:DeleteObject", bucket: Self.bucket(policy: allowNotAction))
    }

    func testWildcardsAndVariables() {
        let getStar = Self.policy(Self.statement("Allow", action: "\"s3:Get*\"", resource: "\"\(Self.arn)/pub*\""))
        expect("AAAA", key: "public/x", bucket: Self.bucket(policy: getStar))
        expect("AAAA", action: "s3:GetObjectTagging", key: "pub", bucket: Self.bucket(policy: getStar))
        expect("AIII", key: "docs/pub", bucket: Self.bucket(policy: getStar))
        expect("AIII", action: "s3:PutObject", key: "public/x", bucket: Self.bucket(policy: getStar))
        let question = Self.policy(Self.statement("Allow", resource: "\"\(Self.arn)/a?c\""))
        expect("AAAA", key: "abc", bucket: Self.bucket(policy: question))
        expect("AIII", key: "abbc", bucket: Self.bucket(policy: question))
        let home = Self.policy(Self.statement("Allow", resource: "\"\(Self.arn)/home/${aws:username}/*\""))
        expect("AIAI", key: "home/eve/x", bucket: Self.bucket(policy: home))
        expect("AAII", key: "home/nobody/x", bucket: Self.bucket(policy: home))
        // Version 2008-10-17 has no variables: the text is literal.
        let oldHome = home.replacingOccurrences(of: "2012-10-17", with: "2008-10-17")
        expect("AIII", key: "home/eve/x", bucket: Self.bucket(policy: oldHome))
        expect("AAAA", key: "home/${aws:username}/x", bucket: Self.bucket(policy: oldHome))
    }

    func testConditionKeysFromTheCallerAndObject() {
        let tagged = Self.policy(
            Self.statement(
                "Deny", condition: "{\"StringEquals\":{\"s3:ExistingObjectTag/class\":\"secret\"}}"))
        expect(
            "EEEE", bucket: Self.bucket(policy: tagged),
            object: Self.object("docs/a.txt", tags: [Header("class", "secret")]))
        expect(
            "AIII", bucket: Self.bucket(policy: tagged),
            object: Self.object("docs/a.txt", tags: [Header("class", "open")]))
        let byArn = Self.policy(
            Self.statement("Allow", condition: "{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::other:user/*\"}}"))
        expect("AIAI", bucket: Self.bucket(policy: byArn))
        let byAccount = Self.policy(
            Self.statement("Allow", condition: "{\"StringEquals\":{\"aws:PrincipalAccount\":\"acme\"}}"))
        expect("AAII", bucket: Self.bucket(policy: byAccount))
        let byUserID = Self.policy(Self.statement("Allow", condition: "{\"StringEquals\":{\"aws:userid\":\"eve-id\"}}"))
        expect("AIAI", bucket: Self.bucket(policy: byUserID))
        let anonymousOnly = Self.policy(
            Self.statement("Deny", condition: "{\"StringEquals\":{\"aws:PrincipalType\":\"Anonymous\"}}"))
        expect("AIIE", bucket: Self.bucket(policy: anonymousOnly))
        let beforeCurrent = Self.policy(
            Self.statement("Allow", condition: "{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2000-01-01T00:00:00Z\"}}"))
        expect("AAAA", bucket: Self.bucket(policy: beforeCurrent))
        let prefix = Self.policy(
            Self.statement(
                "Allow", action: "\"s3:ListBucket\"", resource: "\"\(Self.arn)\"",
                condition: "{\"StringLike\":{\"s3:prefix\":\"public/*\"}}"))
        expect(
            "AAAA", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: prefix),
            context: ["s3:prefix": ["public/a"]])
        expect(
            "AIII", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: prefix),
            context: ["s3:prefix": ["x/"]])
        expect("AIII", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: prefix))
    }

    /// The bucket's owner keeps Get/Put/DeleteBucketPolicy through a Deny (AWS's root rule),
    /// only with the permission, and nothing else; any other user, permissions or not, is
    /// bound by the Deny (else deleting the policy would undo a Deny naming them).
    func testOwnerKeepsPolicyManagement() {
        let lockout = Self.policy(
            Self.statement("Deny", action: "\"s3:*\"", resource: "[\"\(Self.arn)\",\"\(Self.arn)/*\"]"))
        let admin = Self.user("acme", "admin", ["s3:*": ["*"]])
        let limited = Self.user("acme", "alice", ["s3:*": ["photos"]], id: "alice-id", session: ["s3:GetBucketPolicy"])
        for action in ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"] {
            expect("AEEE", action: action, key: nil, bucket: Self.bucket(policy: lockout))
            let r = AccessRequest(action: action, bucket: Self.bucket(policy: lockout), caller: admin)
            XCTAssertEqual(Access.decide(r), .explicitDeny, action)
            // The owner's session policy still applies.
            let s = AccessRequest(action: action, bucket: Self.bucket(policy: lockout), caller: limited)
            XCTAssertEqual(Access.decide(s), action == "s3:GetBucketPolicy" ? .allow : .explicitDeny, action)
        }
        expect("EEEE", action: "s3:GetBucketTagging", key: nil, bucket: Self.bucket(policy: lockout))
        expect("EEEE", bucket: Self.bucket(policy: lockout))
        // A stored policy that no longer parses fails closed, the same way.
        expect("EEEE", bucket: Self.bucket(policy: "{"))
        expect("AEEE", action: "s3:PutBucketPolicy", key: nil, bucket: Self.bucket(policy: "{"))
        let r = AccessRequest(action: "s3:PutBucketPolicy", bucket: Self.bucket(policy: "{"), caller: admin)
        XCTAssertEqual(Access.decide(r), .explicitDeny)
    }

    // MARK: - Public access block and public policies

    func testRestrictPublicBuckets() {
        let allowAll = Self.policy(Self.statement("Allow"))
        let toOther = Self.policy(Self.statement("Allow", principal: "\"Principal\":{\"AWS\":\"other\"}"))
        let ipOnly = Self.policy(
            Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"192.0.2.0/24\"}}"))
        let restrict = PublicAccessBlock(restrictPublicBuckets: true).encoded
        expect("AAII", bucket: Self.bucket(policy: allowAll, pab: restrict))
        expect("AAAA", bucket: Self.bucket(policy: allowAll, pab: PublicAccessBlock(blockPublicPolicy: true).encoded))
        expect("AIAI", bucket: Self.bucket(policy: toOther, pab: restrict))
        expect("AAAA", bucket: Self.bucket(policy: ipOnly, pab: restrict), context: ["aws:sourceip": ["192.0.2.9"]])
        // Deny statements still apply.
        expect("EEEE", bucket: Self.bucket(policy: Self.policy(Self.statement("Deny")), pab: restrict))
    }

    func testIsPublic() throws {
        func pub(_ statement: String) throws -> Bool {
            try BucketPolicy.parse(Self.policy(statement), bucketARN: Self.arn).isPublic
        }
        let rows: [(String, Bool, UInt)] = [
            (Self.statement("Allow"), true, #line),
            (Self.statement("Allow", principal: "\"Principal\":{\"AWS\":\"*\"}"), true, #line),
            (Self.statement("Deny"), false, #line),
            (Self.statement("Allow", principal: "\"Principal\":{\"AWS\":\"other\"}"), false, #line),
            (Self.statement("Allow", principal: "\"Principal\":{\"CanonicalUser\":\"x\"}"), false, #line),
            (Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}"), false, #line),
            (Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/1\"}}"), true, #line),
            (
                Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"0.0.0.0/0\"]}}"),
                true, #line
            ),
            (Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/32\"}}"), false, #line),
            (Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"2001::/16\"}}"), true, #line),
            (Self.statement("Allow", condition: "{\"NotIpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}"), true, #line),
            (
                Self.statement("Allow", condition: "{\"IpAddressIfExists\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}"), true,
                #line
            ),
            (Self.statement("Allow", condition: "{\"StringEquals\":{\"aws:SourceAccount\":\"acme\"}}"), false, #line),
            (Self.statement("Allow", condition: "{\"StringLike\":{\"aws:SourceAccount\":\"ac*\"}}"), true, #line),
            (
                Self.statement(
                    "Allow", condition: "{\"ArnEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::acme:user/x\"}}"), false,
                #line
            ),
            (Self.statement("Allow", condition: "{\"StringEquals\":{\"aws:userid\":\"x\"}}"), false, #line),
            (Self.statement("Allow", condition: "{\"ForAllValues:StringEquals\":{\"aws:userid\":\"x\"}}"), true, #line),
            (Self.statement("Allow", condition: "{\"StringEquals\":{\"s3:prefix\":\"x\"}}"), true, #line),
            (Self.statement("Allow", condition: "{\"Bool\":{\"aws:SecureTransport\":\"true\"}}"), true, #line),
            // The gateway checks no KMS key use permission: a key id pins nobody.
            (
                Self.statement(
                    "Allow",
                    condition: "{\"StringEquals\":{\"s3:x-amz-server-side-encryption-aws-kms-key-id\":\"k1\"}}"),
                true, #line
            ),
            // IPv4-mapped IPv6 ranges are judged by their IPv4 prefix.
            (Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"::ffff:0:0/96\"}}"), true, #line),
            (Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"::ffff:0:0/100\"}}"), true, #line),
            (
                Self.statement("Allow", condition: "{\"IpAddress\":{\"aws:SourceIp\":\"::ffff:10.0.0.0/104\"}}"), false,
                #line
            ),
        ]
        for (statement, expected, line) in rows {
            XCTAssertEqual(try pub(statement), expected, statement, line: line)
        }
    }

    // MARK: - ACLs, ownership, IgnorePublicAcls

    func testBucketACLs() throws {
        let publicRead = try AccessControlList.canned("public-read", owner: "alice-id", bucketOwner: "alice-id").encoded
        let authRead = try AccessControlList.canned("authenticated-read", owner: "alice-id", bucketOwner: "alice-id")
            .encoded
        let toEve = AccessControlList([.init(.user("alice-id"), .fullControl), .init(.user("eve-id"), .read)]).encoded
        let list = (action: "s3:ListBucket", key: String?.none)
        for ownership in ["ObjectWriter", "BucketOwnerPreferred"] {
            expect("AIII", action: list.action, key: list.key, bucket: Self.bucket(ownership: ownership))
            expect(
                "AAAA", action: list.action, key: list.key, bucket: Self.bucket(acl: publicRead, ownership: ownership))
            expect("AAAI", action: list.action, key: list.key, bucket: Self.bucket(acl: authRead, ownership: ownership))
            expect("AIAI", action: list.action, key: list.key, bucket: Self.bucket(acl: toEve, ownership: ownership))
            expect(
                "AIAI", action: "s3:ListBucketVersions", key: nil, bucket: Self.bucket(acl: toEve, ownership: ownership)
            )
            // READ on the bucket lists; it neither reads objects nor the ACL.
            expect("AIII", bucket: Self.bucket(acl: toEve, ownership: ownership))
            expect("AIII", action: "s3:GetBucketAcl", key: nil, bucket: Self.bucket(acl: toEve, ownership: ownership))
        }
        // ACLs do not count under BucketOwnerEnforced ('' included).
        for ownership in ["", "BucketOwnerEnforced"] {
            expect(
                "AIII", action: list.action, key: list.key, bucket: Self.bucket(acl: publicRead, ownership: ownership))
            expect("AIII", action: list.action, key: list.key, bucket: Self.bucket(acl: toEve, ownership: ownership))
        }
        // IgnorePublicAcls drops the group grants, not the one to a user.
        let ignore = PublicAccessBlock(ignorePublicAcls: true).encoded
        expect(
            "AIII", action: list.action, key: list.key,
            bucket: Self.bucket(acl: publicRead, ownership: "ObjectWriter", pab: ignore))
        expect(
            "AIII", action: list.action, key: list.key,
            bucket: Self.bucket(acl: authRead, ownership: "ObjectWriter", pab: ignore))
        expect(
            "AIAI", action: list.action, key: list.key,
            bucket: Self.bucket(acl: toEve, ownership: "ObjectWriter", pab: ignore))
        // BlockPublicAcls only refuses setting them; existing ones apply.
        expect(
            "AAAA", action: list.action, key: list.key,
            bucket: Self.bucket(
                acl: publicRead, ownership: "ObjectWriter", pab: PublicAccessBlock(blockPublicAcls: true).encoded))
        // An ACL that does not decode grants nothing.
        expect(
            "AIII", action: list.action, key: list.key, bucket: Self.bucket(acl: "garbage", ownership: "ObjectWriter"))
    }

    func testBucketWriteAndACPGrants() {
        let writeEve = AccessControlList([.init(.user("eve-id"), .write)]).encoded
        let acpEve = AccessControlList([.init(.user("eve-id"), .readACP)]).encoded
        let fullEve = AccessControlList([.init(.user("eve-id"), .fullControl)]).encoded
        let b = { (acl: String) in Self.bucket(acl: acl, ownership: "ObjectWriter") }
        for action in ["s3:PutObject", "s3:DeleteObject"] {
            expect("AIAI", action: action, bucket: b(writeEve))
        }
        // S3 maps WRITE to PutObject and DeleteObject only: deleting versions stays the bucket
        // owner's, an upload's parts and abort its initiator's (the wiring's business).
        for action in ["s3:DeleteObjectVersion", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"] {
            expect("AIII", action: action, bucket: b(writeEve))
        }
        expect("AIII", bucket: b(writeEve))
        expect("AIII", action: "s3:ListBucket", key: nil, bucket: b(writeEve))
        expect("AIAI", action: "s3:GetBucketAcl", key: nil, bucket: b(acpEve))
        expect("AIII", action: "s3:PutBucketAcl", key: nil, bucket: b(acpEve))
        for action in ["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:ListBucket", "s3:ListBucketMultipartUploads"] {
            expect("AIAI", action: action, key: nil, bucket: b(fullEve))
        }
        // FULL_CONTROL on a bucket is no policy, tagging or configuration right.
        for action in ["s3:GetBucketPolicy", "s3:PutBucketTagging", "s3:DeleteBucket", "s3:PutBucketOwnershipControls"]
        {
            expect("AIII", action: action, key: nil, bucket: b(fullEve))
        }
    }

    func testObjectACLsAndOwners() throws {
        let publicRead = try AccessControlList.canned("public-read", owner: "alice-id", bucketOwner: "alice-id").encoded
        let authRead = try AccessControlList.canned("authenticated-read", owner: "alice-id", bucketOwner: "alice-id")
            .encoded
        let toEve = AccessControlList([.init(.user("alice-id"), .fullControl), .init(.user("eve-id"), .read)]).encoded
        for ownership in ["ObjectWriter", "BucketOwnerPreferred"] {
            let b = Self.bucket(ownership: ownership)
            expect("AAAA", bucket: b, object: Self.object("docs/a.txt", acl: publicRead))
            expect("AAAA", action: "s3:GetObjectVersion", bucket: b, object: Self.object("docs/a.txt", acl: publicRead))
            expect("AAAI", bucket: b, object: Self.object("docs/a.txt", acl: authRead))
            expect("AIAI", bucket: b, object: Self.object("docs/a.txt", acl: toEve))
            // Object READ is the data only: no tagging, no ACL, no writes.
            for action in ["s3:GetObjectTagging", "s3:GetObjectAcl", "s3:PutObject", "s3:DeleteObject"] {
                expect("AIII", action: action, bucket: b, object: Self.object("docs/a.txt", acl: publicRead))
            }
            // Without the object (nothing there, or not looked up) no object ACL applies.
            let r = AccessRequest(action: "s3:GetObject", bucket: b, key: "k", object: nil, caller: .anonymous)
            XCTAssertEqual(Access.decide(r), .implicitDeny)
            // An object eve owns (ObjectWriter upload): she has FULL_CONTROL over it, alice
            // (the bucket's tenant) keeps her own permissions.
            let evesObject = Self.object("docs/a.txt", owner: "eve-id")
            for action in ["s3:GetObject", "s3:GetObjectAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"] {
                expect("AIAI", action: action, bucket: b, object: evesObject)
            }
            expect("AIII", action: "s3:GetObjectTagging", bucket: b, object: evesObject)
            // IgnorePublicAcls.
            let ignoring = Self.bucket(ownership: ownership, pab: PublicAccessBlock(ignorePublicAcls: true).encoded)
            expect("AIII", bucket: ignoring, object: Self.object("docs/a.txt", acl: publicRead))
            expect("AIAI", bucket: ignoring, object: Self.object("docs/a.txt", acl: toEve))
        }
        expect("AIII", bucket: Self.bucket(), object: Self.object("docs/a.txt", acl: publicRead))
        expect(
            "AIII", bucket: Self.bucket(ownership: "BucketOwnerEnforced"),
            object: Self.object("docs/a.txt", owner: "eve-id"))
    }

    /// Policy and ACL together: a Deny beats an ACL grant; a policy Allow under Restrict is
    /// dropped but the ACL still counts.
    func testPolicyAndACLTogether() throws {
        let publicRead = try AccessControlList.canned("public-read", owner: "alice-id", bucketOwner: "alice-id").encoded
        let denyAnon = Self.policy(
            Self.statement("Deny", condition: "{\"StringEquals\":{\"aws:PrincipalType\":\"Anonymous\"}}"))
        expect(
            "AAAE", bucket: Self.bucket(policy: denyAnon, ownership: "ObjectWriter"),
            object: Self.object("docs/a.txt", acl: publicRead))
        expect(
            "AAAA",
            bucket: Self.bucket(
                policy: Self.policy(Self.statement("Allow")), ownership: "ObjectWriter",
                pab: PublicAccessBlock(restrictPublicBuckets: true).encoded),
            object: Self.object("docs/a.txt", acl: publicRead))
    }

    // MARK: - Review fixes (session policies, tenants, variables, unparseable values, context)

    /// A session policy narrows every allow path: a policy or ACL grant to the user gives
    /// temporary credentials nothing their session policy does not allow.
    func testSessionPolicyBindsGrants() throws {
        let readOnly = Self.user("acme", "nobody", [:], session: ["s3:ListBucket"])
        let reads = Self.user("acme", "nobody", [:], session: ["s3:GetObject"])
        let toNobody = Self.policy(
            Self.statement("Allow", principal: "\"Principal\":{\"AWS\":\"arn:aws:iam::acme:user/nobody\"}"))
        let publicRead = try AccessControlList.canned("public-read", owner: "alice-id", bucketOwner: "alice-id").encoded
        let rows: [(Caller, BucketRecord, ObjectRecord?, AccessDecision, UInt)] = [
            (readOnly, Self.bucket(policy: Self.policy(Self.statement("Allow"))), nil, .implicitDeny, #line),
            (readOnly, Self.bucket(policy: toNobody), nil, .implicitDeny, #line),
            (reads, Self.bucket(policy: toNobody), nil, .allow, #line),
            (
                readOnly, Self.bucket(ownership: "ObjectWriter"), Self.object("docs/a.txt", acl: publicRead),
                .implicitDeny, #line
            ),
            (reads, Self.bucket(ownership: "ObjectWriter"), Self.object("docs/a.txt", acl: publicRead), .allow, #line),
        ]
        for (caller, bucket, object, expected, line) in rows {
            let r = AccessRequest(
                action: "s3:GetObject", bucket: bucket, key: "docs/a.txt", object: object, caller: caller)
            XCTAssertEqual(Access.decide(r), expected, line: line)
        }
    }

    /// AWS's two-sided rule. Same tenant: own permissions, or a grant naming the user (a grant
    /// naming the tenant adds nothing). Another tenant: a grant and the caller's own
    /// permissions on `<tenant>:<bucket>`.
    func testTenantsAndGrants() throws {
        let ownBuckets = Self.user("other", "mallory", ["s3:*": ["mine", "mine/*"]])
        let qualified = Self.user("other", "quinn", ["s3:GetObject": ["acme:photos"]])
        let limitedSession = Self.user("other", "sam", ["s3:*": ["*"]], session: ["s3:ListBucket"])
        let toTenants = Self.policy(
            Self.statement("Allow", principal: "\"Principal\":{\"AWS\":[\"acme\",\"arn:aws:iam::other:root\"]}"))
        let toAll = Self.policy(Self.statement("Allow"))
        let toAuthenticated = try AccessControlList.canned(
            "authenticated-read", owner: "alice-id", bucketOwner: "alice-id"
        ).encoded
        let rows: [(Caller, BucketRecord, ObjectRecord?, AccessDecision, UInt)] = [
            // Same tenant, no permissions: a grant to the tenant is no grant to the user.
            (Self.nobody, Self.bucket(policy: toTenants), nil, .implicitDeny, #line),
            (Self.nobody, Self.bucket(policy: toAll), nil, .allow, #line),
            (Self.alice, Self.bucket(policy: toTenants), nil, .allow, #line),
            // Other tenant: grant and own permissions on acme:photos.
            (Self.eve, Self.bucket(policy: toTenants), nil, .allow, #line),
            (Self.eve, Self.bucket(policy: toAll), nil, .allow, #line),
            (Self.eve, Self.bucket(), nil, .implicitDeny, #line),
            (qualified, Self.bucket(policy: toTenants), nil, .allow, #line),
            (ownBuckets, Self.bucket(policy: toTenants), nil, .implicitDeny, #line),
            (ownBuckets, Self.bucket(policy: toAll), nil, .implicitDeny, #line),
            (limitedSession, Self.bucket(policy: toAll), nil, .implicitDeny, #line),
            (
                Self.eve, Self.bucket(ownership: "ObjectWriter"), Self.object("docs/a.txt", acl: toAuthenticated),
                .allow, #line
            ),
            (
                ownBuckets, Self.bucket(ownership: "ObjectWriter"), Self.object("docs/a.txt", acl: toAuthenticated),
                .implicitDeny, #line
            ),
            (
                Self.nobody, Self.bucket(ownership: "ObjectWriter"), Self.object("docs/a.txt", acl: toAuthenticated),
                .allow, #line
            ),
        ]
        for (caller, bucket, object, expected, line) in rows {
            let r = AccessRequest(
                action: "s3:GetObject", bucket: bucket, key: "docs/a.txt", object: object, caller: caller)
            XCTAssertEqual(Access.decide(r), expected, line: line)
        }
        // The qualified name is what a user of another tenant is asked about.
        let r = AccessRequest(
            action: "s3:PutObject",
            bucket: Self.bucket(policy: Self.policy(Self.statement("Allow", action: "\"s3:*\""))),
            key: "k", caller: qualified)
        XCTAssertEqual(Access.decide(r), .implicitDeny)
    }

    func testPolicyVariablesAreLiteral() {
        // `${*}` is a star, not a wildcard.
        let star = Self.policy(Self.statement("Allow", resource: "\"\(Self.arn)/home/${*}\""))
        expect("AAAA", key: "home/*", bucket: Self.bucket(policy: star))
        expect("AIII", key: "home/x", bucket: Self.bucket(policy: star))
        // A substituted value matches literally.
        let byDelimiter = Self.policy(
            Self.statement(
                "Allow", action: "\"s3:ListBucket\"", resource: "\"\(Self.arn)\"",
                condition: "{\"StringLike\":{\"s3:prefix\":\"${s3:delimiter}\"}}"))
        expect(
            "AIII", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: byDelimiter),
            context: ["s3:prefix": ["abc"], "s3:delimiter": ["*"]])
        expect(
            "AAAA", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: byDelimiter),
            context: ["s3:prefix": ["*"], "s3:delimiter": ["*"]])
        // A variable without a value makes the statement not match: no NotResource widening…
        let notHome = Self.policy(
            "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
                + "\"NotResource\":\"\(Self.arn)/home/${aws:username}/*\"}")
        expect("AAAI", key: "docs/a.txt", bucket: Self.bucket(policy: notHome))
        // … and no dropped condition value.
        let prefixes = Self.policy(
            Self.statement(
                "Allow", action: "\"s3:ListBucket\"", resource: "\"\(Self.arn)\"",
                condition: "{\"StringLike\":{\"s3:prefix\":[\"${aws:username}/*\",\"public/*\"]}}"))
        expect(
            "AAAI", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: prefixes),
            context: ["s3:prefix": ["public/a"]])
    }

    /// A request value that does not parse never opens access: an Allow does not match, a
    /// Deny does.
    func testUnparseableValuesFailClosed() {
        let denyMany = Self.policy(
            Self.statement(
                "Deny", action: "\"s3:ListBucket\"", resource: "\"\(Self.arn)\"",
                condition: "{\"NumericGreaterThan\":{\"s3:max-keys\":\"100\"}}"))
        expect(
            "EEEE", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: denyMany),
            context: ["s3:max-keys": ["lots"]])
        expect(
            "AIII", action: "s3:ListBucket", key: nil, bucket: Self.bucket(policy: denyMany),
            context: ["s3:max-keys": ["5"]])
        let notInside = Self.policy(
            Self.statement("Allow", condition: "{\"NotIpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}"))
        expect("AIII", bucket: Self.bucket(policy: notInside), context: ["aws:sourceip": ["garbage"]])
        expect("AAAA", bucket: Self.bucket(policy: notInside), context: ["aws:sourceip": ["192.0.2.1"]])
        let denyOld = Self.policy(
            Self.statement(
                "Deny", condition: "{\"DateLessThan\":{\"s3:object-lock-retain-until-date\":\"2030-01-01\"}}"))
        expect("EEEE", bucket: Self.bucket(policy: denyOld), context: ["s3:object-lock-retain-until-date": ["soon"]])
    }

    /// The clock, the caller keys and the anonymous caller's identity come from Access, never
    /// from the request context.
    func testContextCannotBeForged() {
        struct At: GatewayCore.Clock {
            let t: Double
            func now() -> Double { t }
        }
        let after2000 = Self.policy(
            Self.statement("Allow", condition: "{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2000-01-01T00:00:00Z\"}}"))
        let epochAfter = Self.policy(
            Self.statement("Allow", condition: "{\"NumericGreaterThan\":{\"aws:EpochTime\":\"946684800\"}}"))
        for policy in [after2000, epochAfter] {
            for (clock, forged, expected) in [
                (At(t: 915_148_800), "2026-01-01T00:00:00Z", AccessDecision.implicitDeny),
                (At(t: 1_795_953_600), "1999-01-01T00:00:00Z", .allow),
            ] {
                let r = AccessRequest(
                    action: "s3:GetObject", bucket: Self.bucket(policy: policy), key: "k", caller: .anonymous,
                    context: PolicyContext(["aws:CurrentTime": [forged], "aws:EpochTime": ["1795953600"]]))
                XCTAssertEqual(Access.decide(r, clock: clock), expected, "\(policy) at \(clock.t)")
            }
        }
        let asAlice = Self.policy(
            Self.statement("Allow", condition: "{\"StringEquals\":{\"aws:username\":\"alice\"}}"))
        expect("AIII", bucket: Self.bucket(policy: asAlice), context: ["aws:username": ["alice"]])
        let byAccount = Self.policy(
            Self.statement("Allow", condition: "{\"StringEquals\":{\"aws:PrincipalAccount\":\"other\"}}"))
        expect(
            "AIAI", bucket: Self.bucket(policy: byAccount),
            context: ["aws:PrincipalAccount": ["other"], "aws:principalarn": ["x"]])
    }

    /// Tag keys are case-sensitive: `Class` and `class` are two tags and two condition keys.
    func testExistingObjectTagKeysKeepTheirCase() {
        let tags = [Header("Class", "secret"), Header("class", "open")]
        let denyUpper = Self.policy(
            Self.statement("Deny", condition: "{\"StringEquals\":{\"s3:ExistingObjectTag/Class\":\"secret\"}}"))
        expect("EEEE", bucket: Self.bucket(policy: denyUpper), object: Self.object("docs/a.txt", tags: tags))
        let denyLower = Self.policy(
            Self.statement("Deny", condition: "{\"StringEquals\":{\"s3:existingobjecttag/class\":\"secret\"}}"))
        expect("AIII", bucket: Self.bucket(policy: denyLower), object: Self.object("docs/a.txt", tags: tags))
        XCTAssertEqual(PolicyContext(["S3:ExistingObjectTag/Team": ["a"]]).values, ["s3:existingobjecttag/Team": ["a"]])
    }
}
