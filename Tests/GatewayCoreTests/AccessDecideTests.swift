import GatewayCore
import XCTest

/// `Access.decide`, table-driven: caller × bucket settings × action → decision.
final class AccessDecideTests: XCTestCase {
    static func user(_ tenant: String, _ name: String, _ rules: [String: [String]]) -> Caller {
        .principal(
            Principal(
                tenant: tenant,
                user: UserRecord(
                    tenant: tenant, name: name, id: "id-\(tenant)-\(name)", permissions: PermissionSet(rules),
                    createdAt: 0),
                accessKey: "AK\(name)"))
    }

    static func bucket(_ tenant: String = "acme", _ name: String = "photos") -> BucketRecord {
        BucketRecord(
            name: TenantRecord.qualifiedBucket(tenant: tenant, name: name), owner: "id-\(tenant)-owner",
            createdAt: 0, locationConstraint: "", zones: ["z"], backendBucket: "b", tenant: tenant)
    }

    func testOwnTenantPermissions() {
        let reader = Self.user("acme", "reader", ["s3:GetObject": ["photos"], "s3:ListBucket": ["photos/2026/*"]])
        let other = Self.user("other", "admin", ["s3:*": ["*"]])
        let rows: [(Caller, String, String?, [String: [String]], AccessDecision)] = [
            (reader, "s3:GetObject", "a.jpg", [:], .allow),
            (reader, "s3:PutObject", "a.jpg", [:], .implicitDeny),
            (reader, "s3:ListBucket", nil, ["s3:prefix": ["2026/03/"]], .allow),
            (reader, "s3:ListBucket", nil, ["s3:prefix": ["2025/"]], .implicitDeny),
            (reader, "s3:ListBucket", nil, [:], .implicitDeny),
            (reader, "s3:GetBucketTagging", nil, [:], .implicitDeny),
            // Another tenant's permissions never reach this tenant's buckets.
            (other, "s3:GetObject", "a.jpg", [:], .implicitDeny),
            (other, "s3:ListBucket", nil, [:], .implicitDeny),
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
}
