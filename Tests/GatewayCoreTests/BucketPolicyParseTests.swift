import GatewayCore
import XCTest

/// PutBucketPolicy's validation, table-driven: each document → S3's MalformedPolicy reason, or
/// accepted.
final class BucketPolicyParseTests: XCTestCase {
    static let arn = "arn:aws:s3:::photos"

    /// One statement with the given elements (JSON text after `{`), inside a 2012-10-17 policy.
    static func policy(_ statement: String) -> String {
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\(statement)}]}"
    }

    static func allow(
        principal: String = "\"Principal\":\"*\"", action: String = "\"s3:GetObject\"",
        resource: String = "\"arn:aws:s3:::photos/*\"", extra: String = ""
    ) -> String {
        policy("\"Effect\":\"Allow\",\(principal),\"Action\":\(action),\"Resource\":\(resource)\(extra)")
    }

    func reason(_ json: String, bucketARN: String = arn, tenants: Set<String>? = nil) -> String? {
        do {
            _ = try BucketPolicy.parse(
                json, bucketARN: bucketARN, tenantExists: tenants.map { t in { t.contains($0) } })
            return nil
        } catch {
            XCTAssertEqual(error.code, .malformedPolicy)
            XCTAssertEqual(error.code.status, 400)
            return error.message
        }
    }

    func testRefusedDocuments() {
        let big = Self.allow(
            resource: "[" + (0..<1000).map { "\"arn:aws:s3:::photos/\($0)/*\"" }.joined(separator: ",") + "]")
        let rows: [(String, String, UInt)] = [
            ("", "Policies must be valid JSON and the first byte must be '{'", #line),
            ("[]", "Policies must be valid JSON and the first byte must be '{'", #line),
            ("not json", "Policies must be valid JSON and the first byte must be '{'", #line),
            ("{\"Statement\": [}", "This policy contains invalid Json", #line),
            ("{\"Statement\": 1, \"Statement\": 2}", "This policy contains invalid Json", #line),
            ("{\"Statement\": []} x", "This policy contains invalid Json", #line),
            (big, "Policies must be less than 20 KB", #line),
            ("{}", "Missing required field Statement", #line),
            ("{\"Statement\": []}", "Could not parse the policy: Statement is empty!", #line),
            ("{\"Statement\": \"x\"}", "Invalid policy syntax.", #line),
            ("{\"Statement\": [1]}", "Invalid policy syntax.", #line),
            (
                "{\"Version\": \"2012-10-16\", \"Statement\": []}", "The policy must contain a valid version string",
                #line
            ),
            ("{\"Version\": 2012, \"Statement\": []}", "The policy must contain a valid version string", #line),
            ("{\"Extra\": 1, \"Statement\": []}", "Invalid policy syntax.", #line),
            ("{\"Id\": 1, \"Statement\": []}", "Invalid policy syntax.", #line),
            (
                Self.policy("\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::photos/*\""),
                "Missing required field Effect", #line
            ),
            (
                Self.policy(
                    "\"Effect\":\"allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::photos/*\""
                ),
                "Invalid effect: allow", #line
            ),
            (
                Self.policy("\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::photos/*\""),
                "Missing required field Principal", #line
            ),
            (
                Self.policy("\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"arn:aws:s3:::photos/*\""),
                "Missing required field Action", #line
            ),
            (
                Self.policy("\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\""),
                "Missing required field Resource", #line
            ),
            (Self.allow(extra: ",\"NotAction\":\"s3:PutObject\""), "Invalid policy syntax.", #line),
            (Self.allow(extra: ",\"Other\":1"), "Invalid policy syntax.", #line),
            (Self.allow(extra: ",\"Sid\":1"), "Invalid policy syntax.", #line),
            (Self.allow(action: "null"), "Invalid policy syntax.", #line),
            // Principals.
            (Self.allow(principal: "\"Principal\":\"someone\""), "Invalid principal in policy", #line),
            (Self.allow(principal: "\"Principal\":{}"), "Invalid principal in policy", #line),
            (Self.allow(principal: "\"Principal\":{\"AWS\":[]}"), "Invalid principal in policy", #line),
            (Self.allow(principal: "\"Principal\":{\"AWS\":[\"*\",\"acme\"]}"), "Invalid principal in policy", #line),
            (
                Self.allow(principal: "\"Principal\":{\"AWS\":\"arn:aws:iam::acme:user/*\"}"),
                "Invalid principal in policy", #line
            ),
            (
                Self.allow(principal: "\"Principal\":{\"AWS\":\"arn:aws:iam::acme:role/r\"}"),
                "Invalid principal in policy", #line
            ),
            (Self.allow(principal: "\"Principal\":{\"AWS\":\"AKIAEXAMPLE\"}"), "Invalid principal in policy", #line),
            (
                Self.allow(principal: "\"Principal\":{\"Service\":\"logging.s3.amazonaws.com\"}"),
                "Invalid principal in policy", #line
            ),
            (Self.allow(principal: "\"Principal\":{\"Federated\":\"x\"}"), "Invalid principal in policy", #line),
            (Self.allow(principal: "\"NotPrincipal\":{\"AWS\":\"acme\"}"), "Invalid principal in policy", #line),
            // Actions.
            (Self.allow(action: "\"s3:GetObjekt\""), "Policy has invalid action", #line),
            (Self.allow(action: "\"iam:GetUser\""), "Policy has invalid action", #line),
            (Self.allow(action: "\"s3:ListAllMyBuckets\""), "Policy has invalid action", #line),
            (Self.allow(action: "\"s3:Nothing*\""), "Policy has invalid action", #line),
            (Self.allow(action: "[]"), "Policy has invalid action", #line),
            // Resources.
            (Self.allow(resource: "\"*\""), "Policy has invalid resource", #line),
            (Self.allow(resource: "\"arn:aws:s3:::other/*\""), "Policy has invalid resource", #line),
            (Self.allow(resource: "\"arn:aws:s3:::\""), "Policy has invalid resource", #line),
            (Self.allow(resource: "\"photos/*\""), "Policy has invalid resource", #line),
            (Self.allow(resource: "[]"), "Policy has invalid resource", #line),
            (
                Self.allow(resource: "[\"arn:aws:s3:::photos/*\",\"arn:aws:s3:::other\"]"),
                "Policy has invalid resource", #line
            ),
            // Actions that cannot apply to the resources named.
            (
                Self.allow(action: "\"s3:PutObject\"", resource: "\"arn:aws:s3:::photos\""),
                "Action does not apply to any resource(s) in statement", #line
            ),
            (
                Self.allow(action: "\"s3:ListBucket\"", resource: "\"arn:aws:s3:::photos/*\""),
                "Action does not apply to any resource(s) in statement", #line
            ),
            (
                Self.allow(action: "[\"s3:GetObject\",\"s3:ListBucket\"]", resource: "\"arn:aws:s3:::photos/*\""),
                "Action does not apply to any resource(s) in statement", #line
            ),
            // Conditions.
            (
                Self.allow(extra: ",\"Condition\":{\"StringEqualz\":{\"aws:SourceIp\":\"x\"}}"),
                "Invalid Condition type : StringEqualz", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"NullIfExists\":{\"aws:SourceIp\":\"true\"}}"),
                "Invalid Condition type : NullIfExists", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"StringEquals\":{\"s3:VersionStatus\":\"x\"}}"),
                "Policy has an invalid condition key", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"StringEquals\":{\"foo\":\"x\"}}"),
                "Policy has an invalid condition key", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"StringEquals\":{\"s3:ExistingObjectTag/\":\"x\"}}"),
                "Policy has an invalid condition key", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/33\"}}"),
                "Invalid IP address in Conditions", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"ten\"}}"),
                "Invalid value in Conditions for operator NumericLessThan", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"DateGreaterThan\":{\"aws:CurrentTime\":\"yesterday\"}}"),
                "Invalid value in Conditions for operator DateGreaterThan", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"yes\"}}"),
                "Invalid value in Conditions for operator Bool", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"StringEquals\":{\"s3:prefix\":[]}}"), "Invalid policy syntax.",
                #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"StringEquals\":{\"s3:prefix\":{}}}"), "Invalid policy syntax.",
                #line
            ),
            (Self.allow(extra: ",\"Condition\":{\"StringEquals\":\"x\"}"), "Invalid policy syntax.", #line),
            (Self.allow(extra: ",\"Condition\":[]"), "Invalid policy syntax.", #line),
            // Policy variables stand in for text only.
            (
                Self.allow(extra: ",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"${aws:username}\"}}"),
                "Invalid value in Conditions for operator NumericLessThan", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"${aws:SourceIp}\"}}"),
                "Invalid IP address in Conditions", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"${x:y}\"}}"),
                "Invalid value in Conditions for operator Bool", #line
            ),
            (
                Self.allow(extra: ",\"Condition\":{\"ForAnyValue:ForAllValues:StringEquals\":{\"s3:prefix\":\"a\"}}"),
                "Invalid Condition type : ForAnyValue:ForAllValues:StringEquals", #line
            ),
            // In 2008-10-17 `${…}` is text, validated as any other.
            (
                Self.allow(extra: ",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"${aws:username}\"}}")
                    .replacingOccurrences(of: "2012-10-17", with: "2008-10-17"),
                "Invalid value in Conditions for operator NumericLessThan", #line
            ),
            (
                Self.allow(resource: "\"arn:aws:s3:::${aws:username}/*\"")
                    .replacingOccurrences(of: "2012-10-17", with: "2008-10-17"),
                "Policy has invalid resource", #line
            ),
        ]
        for (json, expected, line) in rows {
            XCTAssertEqual(reason(json), expected, json, line: line)
        }
    }

    func testUnknownTenantsAreInvalidPrincipals() {
        let tenants: Set<String> = ["acme"]
        XCTAssertNil(reason(Self.allow(principal: "\"Principal\":{\"AWS\":\"acme\"}"), tenants: tenants))
        XCTAssertNil(
            reason(Self.allow(principal: "\"Principal\":{\"AWS\":\"arn:aws:iam::acme:user/bob\"}"), tenants: tenants))
        for p in ["\"ghost\"", "\"arn:aws:iam::ghost:root\"", "[\"acme\",\"arn:aws:iam::ghost:user/x\"]"] {
            XCTAssertEqual(
                reason(Self.allow(principal: "\"Principal\":{\"AWS\":\(p)}"), tenants: tenants),
                "Invalid principal in policy", p)
        }
    }

    func testAcceptedDocuments() throws {
        let rows: [(String, UInt)] = [
            // AWS's own sample (2008 version, single statement object, Id, Sid).
            (
                "{\"Version\":\"2008-10-17\",\"Id\":\"x\",\"Statement\":{\"Sid\":\"1\",\"Effect\":\"Deny\","
                    + "\"Principal\":{\"AWS\":[\"acme\",\"arn:aws:iam::other:root\"]},\"Action\":[\"s3:*\"],"
                    + "\"Resource\":\"arn:aws:s3:::photos/*\"}}", #line
            ),
            (
                "  \n{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"*\","
                    + "\"Resource\":[\"arn:aws:s3:::photos\",\"arn:aws:s3:::photos/*\"]}]}", #line
            ),
            (Self.allow(action: "\"S3:getobject\""), #line),
            (Self.allow(action: "\"s3:Get*\""), #line),
            (Self.allow(action: "\"s3:*Object\""), #line),
            (Self.allow(action: "\"s3:ListBucket\"", resource: "\"arn:aws:s3:::photos\""), #line),
            (Self.allow(action: "\"s3:ListBucket\"", resource: "\"arn:aws:s3:::pho*\""), #line),
            (Self.allow(action: "\"s3:*\"", resource: "\"arn:aws:s3:::photos/*\""), #line),
            (Self.allow(resource: "\"arn:aws:s3:::*/*\""), #line),
            (Self.allow(resource: "\"arn:aws:s3:::photos/${aws:username}/*\""), #line),
            (Self.allow(resource: "\"arn:aws:s3:::${aws:username}/*\""), #line),
            (Self.allow(extra: ",\"Condition\":{\"StringLike\":{\"s3:prefix\":\"home/${aws:username}/*\"}}"), #line),
            (
                Self.allow(extra: ",\"Condition\":{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::${x:y}:user/*\"}}"),
                #line
            ),
            (Self.allow(principal: "\"Principal\":{\"CanonicalUser\":\"abc123\"}"), #line),
            (Self.allow(principal: "\"Principal\":{\"AWS\":\"arn:aws:iam::acme:user/bob\"}"), #line),
            (
                Self.policy(
                    "\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"acme\"},\"NotAction\":\"s3:GetObject\","
                        + "\"NotResource\":\"arn:aws:s3:::photos/public/*\""), #line
            ),
            // NotAction / NotResource skip the action-applies check.
            (
                Self.policy(
                    "\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotAction\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::photos\""
                ),
                #line
            ),
            (
                Self.allow(
                    extra:
                        ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"2001:db8::/32\",\"192.0.2.1\"]},"
                        + "\"Bool\":{\"aws:SecureTransport\":true},\"NumericLessThanEquals\":{\"s3:max-keys\":10},"
                        + "\"ForAnyValue:StringLikeIfExists\":{\"s3:ExistingObjectTag/team\":\"a*\"},"
                        + "\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"},"
                        + "\"Null\":{\"s3:x-amz-acl\":\"true\"},\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:user/*\"}}"
                ),
                #line
            ),
        ]
        for (json, line) in rows {
            XCTAssertNil(reason(json), json, line: line)
        }
        // Tenant buckets: the tenant is part of the ARN.
        let tenantARN = "arn:aws:s3:::acme:photos"
        XCTAssertNil(reason(Self.allow(resource: "\"arn:aws:s3:::acme:photos/*\""), bucketARN: tenantARN))
        XCTAssertEqual(reason(Self.allow(), bucketARN: tenantARN), "Policy has invalid resource")
    }

    func testParsedShape() throws {
        let p = try BucketPolicy.parse(
            Self.allow(
                principal: "\"Principal\":{\"AWS\":[\"acme\",\"arn:aws:iam::b:user/x\",\"arn:aws:iam::c:root\"]}",
                action: "[\"s3:GetObject\",\"S3:PUTOBJECT\"]",
                extra: ",\"Condition\":{\"ForAllValues:StringEqualsIfExists\":{\"AWS:SourceIp\":\"1.2.3.4\"}}"),
            bucketARN: Self.arn)
        XCTAssertEqual(p.version, "2012-10-17")
        let s = try XCTUnwrap(p.statements.first)
        XCTAssertTrue(s.allow)
        XCTAssertEqual(s.principals, [.tenant("acme"), .user(tenant: "b", name: "x"), .tenant("c")])
        XCTAssertEqual(s.actions, ["s3:getobject", "s3:putobject"])
        XCTAssertEqual(
            s.conditions,
            [
                PolicyCondition(
                    op: .stringEquals, qualifier: .forAllValues, ifExists: true, key: "aws:sourceip",
                    values: ["1.2.3.4"])
            ])
    }

    func testCachedParsesOnceAndReportsUnreadable() {
        let good = Self.allow()
        guard case .success(let p)? = BucketPolicy.cached(good, bucketARN: Self.arn) else { return XCTFail() }
        XCTAssertEqual(p.statements.count, 1)
        XCTAssertNil(BucketPolicy.cached("", bucketARN: Self.arn))
        guard case .failure(let e)? = BucketPolicy.cached("{", bucketARN: Self.arn) else { return XCTFail() }
        XCTAssertEqual(e.code, .malformedPolicy)
        // The same text for another bucket is judged against that bucket.
        guard case .failure? = BucketPolicy.cached(good, bucketARN: "arn:aws:s3:::other") else { return XCTFail() }
    }
}
