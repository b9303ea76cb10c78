import Foundation
import XCTest

@testable import GatewayCore

/// The permission matcher, table-driven: action × resource × pattern set → allow or deny; then
/// the validation of what administrators store, session policies and the principal's tenant rules.
final class PermissionSetTests: XCTestCase {
    typealias R = PermissionSet.Resource

    /// Every row is (action, resource, allowed).
    func check(
        _ set: PermissionSet, _ rows: [(String, R, Bool)], file: StaticString = #filePath, line: UInt = #line
    ) {
        for (action, resource, expected) in rows {
            XCTAssertEqual(
                set.allows(action, on: resource), expected, "\(action) on \(resource) with \(set.rules)", file: file,
                line: line)
        }
    }

    // MARK: - The issue's example

    let example = PermissionSet([
        "s3:GetObject": ["my-bucket", "shared-*", "logs/2026/*"],
        "s3:PutObject": ["my-bucket/*"],
        "s3:*": ["admin-bucket"],
    ])

    func testIssueExample() {
        check(
            example,
            [
                // An exact bucket: every object in it.
                ("s3:GetObject", .object(bucket: "my-bucket", key: "a.txt"), true),
                ("s3:GetObject", .object(bucket: "my-bucket", key: "deep/path/x"), true),
                ("s3:GetObject", .object(bucket: "my-bucket2", key: "a.txt"), false),
                ("s3:GetObject", .object(bucket: "my-bucke", key: "a.txt"), false),
                // `prefix-*`: any bucket with the prefix, none without.
                ("s3:GetObject", .object(bucket: "shared-", key: "k"), true),
                ("s3:GetObject", .object(bucket: "shared-photos", key: "k"), true),
                ("s3:GetObject", .object(bucket: "shared", key: "k"), false),
                ("s3:GetObject", .object(bucket: "unshared-x", key: "k"), false),
                // `bucket/path/*`: keys under the path in that bucket only.
                ("s3:GetObject", .object(bucket: "logs", key: "2026/03/01.log"), true),
                ("s3:GetObject", .object(bucket: "logs", key: "2026/"), true),
                ("s3:GetObject", .object(bucket: "logs", key: "2025/12/31.log"), false),
                ("s3:GetObject", .object(bucket: "logs", key: "2026"), false),
                ("s3:GetObject", .object(bucket: "logs2", key: "2026/x"), false),
                // Object patterns never grant the bucket itself.
                ("s3:GetObject", .bucket("logs"), false),
                // PutObject: objects of my-bucket only, not the bucket, not other buckets.
                ("s3:PutObject", .object(bucket: "my-bucket", key: "new"), true),
                ("s3:PutObject", .bucket("my-bucket"), false),
                ("s3:PutObject", .object(bucket: "shared-photos", key: "new"), false),
                ("s3:PutObject", .object(bucket: "logs", key: "2026/x"), false),
                // s3:* on one bucket: every S3 action there, nothing elsewhere.
                ("s3:DeleteBucket", .bucket("admin-bucket"), true),
                ("s3:PutObject", .object(bucket: "admin-bucket", key: "k"), true),
                ("s3:ListBucket", .listing(bucket: "admin-bucket", prefix: ""), true),
                ("s3:DeleteObject", .object(bucket: "my-bucket", key: "a.txt"), false),
                ("s3:DeleteBucket", .bucket("my-bucket"), false),
                // Deny by default: an action nobody named.
                ("s3:DeleteObject", .object(bucket: "shared-photos", key: "k"), false),
                ("s3:ListBucket", .listing(bucket: "my-bucket", prefix: ""), false),
                ("s3:ListAllMyBuckets", .bucket("my-bucket"), false),
                // s3:* does not reach other families.
                ("admin:ListUsers", .tenant("admin-bucket"), false),
                ("sts:GetSessionToken", .bucket("admin-bucket"), false),
            ])
    }

    func testABareStarActionReachesAdminAndSTSOnlyThroughTheResourceStar() {
        let teams = PermissionSet(["*": ["team-*"]])
        XCTAssertTrue(teams.allows("s3:GetObject", on: .object(bucket: "team-a", key: "k")))
        XCTAssertFalse(teams.allows("admin:CreateUser", on: .tenant("team-a")))
        XCTAssertFalse(teams.allows("sts:AssumeRole", on: .bucket("team-bot")))
        XCTAssertTrue(PermissionSet(["*": ["*"]]).allows("admin:CreateUser", on: .tenant("team-a")))
        // A family named outright keeps its own meaning of patterns.
        XCTAssertTrue(PermissionSet(["admin:*": ["team-*"]]).allows("admin:CreateUser", on: .tenant("team-a")))
        XCTAssertFalse(PermissionSet(["*:Create*": ["team-*"]]).allows("admin:CreateUser", on: .tenant("team-a")))
    }

    func testCoversIsConservative() {
        let cases: [([String: [String]], [String: [String]], Bool)] = [
            (["*": ["*"]], ["admin:*": ["*"], "s3:GetObject": ["x/y"]], true),
            (["s3:*": ["*"]], ["s3:GetObject": ["photos/*"]], true),
            (["s3:*": ["photos"]], ["s3:GetObject": ["photos/2026/*"], "s3:ListBucket": ["photos"]], true),
            (["s3:Get*": ["photos-*"]], ["s3:GetObject": ["photos-a/k*"]], true),
            (["s3:GetObject": ["photos/*"]], ["s3:GetObject": ["photos"]], false),  // the bucket itself too
            (["s3:GetObject": ["photos/2026/*"]], ["s3:GetObject": ["photos/*"]], false),
            (["s3:GetObject": ["*"]], ["s3:PutObject": ["*"]], false),
            (["s3:*": ["*"]], ["admin:ListUsers": ["acme"]], false),
            (["admin:CreateUser": ["acme"]], ["admin:*": ["acme"]], false),
            (["admin:*": ["acme"]], ["admin:*": ["*"]], false),
            (["admin:*": ["ac*"]], ["admin:ListUsers": ["acme"]], true),
            (["s3:*": ["a*b"]], ["s3:GetObject": ["ab"]], false),  // only trailing stars are judged
            ([:], [:], true),
        ]
        for (mine, theirs, expected) in cases {
            XCTAssertEqual(PermissionSet(mine).covers(PermissionSet(theirs)), expected, "\(mine) ⊇ \(theirs)")
        }
    }

    func testEmptySetDeniesEverything() {
        check(
            PermissionSet(),
            [
                ("s3:GetObject", .object(bucket: "b", key: "k"), false),
                ("s3:ListBucket", .listing(bucket: "b", prefix: ""), false),
                ("admin:ListTenants", .gateway, false),
                ("*", .bucket("b"), false),
            ])
        // An action with no patterns grants nothing either.
        check(PermissionSet(["s3:GetObject": []]), [("s3:GetObject", .object(bucket: "b", key: "k"), false)])
    }

    // MARK: - Patterns

    func testStarMatchesEveryBucketAndObject() {
        check(
            PermissionSet(["s3:GetObject": ["*"], "s3:ListBucket": ["*"]]),
            [
                ("s3:GetObject", .object(bucket: "any", key: "thing/at/all"), true),
                ("s3:GetObject", .bucket("any"), true),
                ("s3:ListBucket", .listing(bucket: "any", prefix: ""), true),
                ("s3:ListBucket", .listing(bucket: "any", prefix: "x/"), true),
                ("s3:PutObject", .object(bucket: "any", key: "k"), false),
            ])
    }

    func testKeyPatterns() {
        check(
            PermissionSet(["s3:GetObject": ["*/public/*", "docs/*.pdf", "exact/one-key", "q/a?c"]]),
            [
                ("s3:GetObject", .object(bucket: "anything", key: "public/x"), true),
                ("s3:GetObject", .object(bucket: "anything", key: "private/x"), false),
                ("s3:GetObject", .object(bucket: "docs", key: "a.pdf"), true),
                ("s3:GetObject", .object(bucket: "docs", key: "deep/b.pdf"), true),
                ("s3:GetObject", .object(bucket: "docs", key: "a.pdf.txt"), false),
                ("s3:GetObject", .object(bucket: "exact", key: "one-key"), true),
                ("s3:GetObject", .object(bucket: "exact", key: "one-key2"), false),
                ("s3:GetObject", .object(bucket: "exact", key: "one-ke"), false),
                ("s3:GetObject", .object(bucket: "q", key: "abc"), true),
                ("s3:GetObject", .object(bucket: "q", key: "ac"), false),
                ("s3:GetObject", .object(bucket: "q", key: "abbc"), false),
            ])
    }

    /// A listing under a key pattern is allowed only when every key it can return matches the
    /// pattern: its prefix must extend the pattern's literal head, and the pattern must end in
    /// `*` right there. Anything else would show names of keys the user may not read.
    func testListingsUnderKeyPatterns() {
        check(
            PermissionSet([
                "s3:ListBucket": ["logs/2026/*", "photos/uploads/*", "docs/*.pdf", "exact/one-key", "q/a?/*"]
            ]),
            [
                ("s3:ListBucket", .listing(bucket: "logs", prefix: "2026/"), true),
                ("s3:ListBucket", .listing(bucket: "logs", prefix: "2026/03/"), true),
                ("s3:ListBucket", .listing(bucket: "logs", prefix: "2026/03/01.log"), true),
                ("s3:ListBucket", .listing(bucket: "logs", prefix: ""), false),
                ("s3:ListBucket", .listing(bucket: "logs", prefix: "2026"), false),
                ("s3:ListBucket", .listing(bucket: "logs", prefix: "2025/"), false),
                ("s3:ListBucket", .listing(bucket: "other", prefix: "2026/"), false),
                ("s3:ListBucket", .listing(bucket: "photos", prefix: "uploads/"), true),
                ("s3:ListBucket", .listing(bucket: "photos", prefix: "uploads"), false),
                ("s3:ListBucket", .listing(bucket: "photos", prefix: "upload"), false),
                // `*.pdf` cannot bound a listing: `a.txt` would show.
                ("s3:ListBucket", .listing(bucket: "docs", prefix: ""), false),
                ("s3:ListBucket", .listing(bucket: "docs", prefix: "a"), false),
                // Nor can an exact key: the prefix `one-key` also lists `one-key2`.
                ("s3:ListBucket", .listing(bucket: "exact", prefix: "one-key"), false),
                ("s3:ListBucket", .listing(bucket: "exact", prefix: ""), false),
                // `?` in the head matches exactly one character of the prefix.
                ("s3:ListBucket", .listing(bucket: "q", prefix: "ab/"), true),
                ("s3:ListBucket", .listing(bucket: "q", prefix: "ab/c"), true),
                ("s3:ListBucket", .listing(bucket: "q", prefix: "a"), false),
                ("s3:ListBucket", .listing(bucket: "q", prefix: "abb/"), false),
                // A listing is not the bucket itself (HeadBucket, DeleteBucket).
                ("s3:ListBucket", .bucket("photos"), false),
            ])
    }

    /// Keys are compared byte for byte, as the store compares them: a prefix that is only
    /// canonically equivalent to the pattern's head lists other keys.
    func testListingPrefixIsComparedByBytes() {
        let precomposed = "caf\u{E9}/*"  // é as one scalar
        let decomposed = "cafe\u{301}/"  // e + combining acute
        let set = PermissionSet(["s3:ListBucket": ["b/" + precomposed], "s3:GetObject": ["b/" + precomposed]])
        XCTAssertFalse(set.allows("s3:GetObject", on: .object(bucket: "b", key: decomposed + "x")))
        XCTAssertFalse(set.allows("s3:ListBucket", on: .listing(bucket: "b", prefix: decomposed)))
        XCTAssertTrue(set.allows("s3:ListBucket", on: .listing(bucket: "b", prefix: "caf\u{E9}/")))
    }

    // MARK: - Actions

    func testActionNamesAreCaseInsensitiveAndGlob() {
        check(
            PermissionSet(["S3:getobject": ["a"], "s3:Get*": ["b"], "s3:*Tagging": ["c"], "*": ["everything"]]),
            [
                ("s3:GetObject", .object(bucket: "a", key: "k"), true),
                ("S3:GETOBJECT", .object(bucket: "a", key: "k"), true),
                ("s3:PutObject", .object(bucket: "a", key: "k"), false),
                ("s3:GetObject", .object(bucket: "b", key: "k"), true),
                ("s3:GetBucketAcl", .bucket("b"), true),
                ("s3:getobjecttagging", .object(bucket: "b", key: "k"), true),
                ("s3:PutObject", .object(bucket: "b", key: "k"), false),
                ("s3:ListBucket", .listing(bucket: "b", prefix: ""), false),
                ("s3:PutObjectTagging", .object(bucket: "c", key: "k"), true),
                ("s3:PutBucketTagging", .bucket("c"), true),
                ("s3:PutObject", .object(bucket: "c", key: "k"), false),
                // `*` alone is every s3 action; admin and sts ones (whose patterns name tenants
                // and users) only with the resource `*`.
                ("s3:DeleteBucket", .bucket("everything"), true),
                ("admin:DeleteTenant", .tenant("everything"), false),
                ("sts:AssumeRole", .bucket("everything"), false),
            ])
        // Bucket patterns are not case-folded: S3 bucket names are lowercase, keys case-sensitive.
        check(
            PermissionSet(["s3:GetObject": ["b/Key*"]]),
            [
                ("s3:GetObject", .object(bucket: "b", key: "Key1"), true),
                ("s3:GetObject", .object(bucket: "b", key: "key1"), false),
                ("s3:GetObject", .object(bucket: "B", key: "Key1"), false),
            ])
    }

    func testPatternsForAction() {
        let set = PermissionSet(["s3:ListAllMyBuckets": ["photos-*"], "s3:List*": ["logs"], "s3:GetObject": ["x"]])
        XCTAssertEqual(Set(set.patterns(for: "s3:listallmybuckets")), ["photos-*", "logs"])
        XCTAssertEqual(set.patterns(for: "s3:PutObject"), [])
    }

    func testReachesBucket() {
        let set = PermissionSet(["s3:GetObject": ["photos/uploads/*", "logs-*"], "s3:ListBucket": ["exact"]])
        for b in ["photos", "logs-2026", "exact"] { XCTAssertTrue(set.reaches(bucket: b), b) }
        for b in ["photo", "logs", "other", "exact2"] { XCTAssertFalse(set.reaches(bucket: b), b) }
        XCTAssertFalse(PermissionSet().reaches(bucket: "photos"))
        XCTAssertTrue(PermissionSet(["s3:*": ["*"]]).reaches(bucket: "anything"))
    }

    // MARK: - Admin resources

    func testAdminResources() {
        check(
            PermissionSet(["admin:*": ["acme", "team-*"], "admin:ListTenants": ["*"]]),
            [
                ("admin:ListUsers", .tenant("acme"), true),
                ("admin:CreateUser", .tenant("team-red"), true),
                ("admin:ListUsers", .tenant("acme2"), false),
                ("admin:ListUsers", .gateway, false),
                ("admin:ListTenants", .gateway, true),
                // Tenant patterns never carry a key part.
                ("s3:GetObject", .object(bucket: "acme", key: "k"), false),
            ])
        check(
            PermissionSet(["admin:*": ["acme/*"]]),
            [("admin:ListUsers", .tenant("acme"), false), ("admin:ListUsers", .gateway, false)])
    }

    // MARK: - Hostile patterns

    /// The glob is iterative with one backtrack point: many stars against a long near-miss stay
    /// polynomial (quadratic at worst), never exponential.
    func testHostilePatternsStayFast() {
        let manyStars = String(repeating: "*a", count: 511)  // "b/" + this: 1024 bytes, the longest storable
        let nearMiss = String(repeating: "a", count: 1023) + "b"
        let set = PermissionSet([
            "s3:GetObject": ["b/" + manyStars, "*" + String(repeating: "?*", count: 500) + "z"],
            "s3:DeleteBucket": [String(repeating: "*", count: 1024)],
        ])
        XCTAssertNil(
            set.problem(knownActions: ["s3:GetObject", "s3:DeleteBucket"]), "patterns this long may be stored")
        let started = Date()
        for _ in 0..<20 {
            XCTAssertFalse(set.allows("s3:GetObject", on: .object(bucket: "b", key: nearMiss)))
            XCTAssertFalse(PermissionSet.globMatch(manyStars + "c", nearMiss))
            XCTAssertTrue(PermissionSet.globMatch(manyStars, String(repeating: "a", count: 1024)))
            XCTAssertFalse(set.allows("s3:ListBucket", on: .listing(bucket: "b", prefix: nearMiss)))
        }
        XCTAssertTrue(set.allows("s3:DeleteBucket", on: .bucket("anything")))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "globMatch must not backtrack exponentially")
        // A thousand stars and nothing else matches everything, the empty string included.
        XCTAssertTrue(PermissionSet.globMatch(String(repeating: "*", count: 1000), ""))
        XCTAssertTrue(PermissionSet.globMatch("", ""))
        XCTAssertFalse(PermissionSet.globMatch("", "a"))
        XCTAssertFalse(PermissionSet.globMatch("?", ""))
    }

    /// `*` and `head*` take a byte-prefix shortcut: it must agree with the scalar matcher.
    func testTrailingStarShortcut() {
        let cases: [(String, String, Bool)] = [
            ("*", "", true), ("*", "any/thing", true), ("logs/*", "logs/", true), ("logs/*", "logs/2026/x", true),
            ("logs/*", "logs", false), ("logs/*", "Logs/a", false), ("café/*", "café/x", true),
            ("caf/*", "café/x", false), ("é*", "éa", true), ("e*", "é", false), ("a*b*", "axxb", true),
            ("a?*", "a", false), ("a?*", "aé", true),
        ]
        for (pattern, text, expected) in cases {
            XCTAssertEqual(PermissionSet.globMatch(pattern, text), expected, "\(pattern) ~ \(text)")
            let atoms = pattern.unicodeScalars.map { PermissionSet.GlobAtom($0) }
            XCTAssertEqual(PermissionSet.globMatch(atoms, text), expected, "atoms \(pattern) ~ \(text)")
        }
    }

    /// `?` is one Unicode scalar, however many UTF-8 bytes it takes.
    func testQuestionMarkMatchesOneScalar() {
        XCTAssertTrue(PermissionSet.globMatch("caf?", "caf\u{E9}"))
        XCTAssertTrue(PermissionSet.globMatch("?-*", "\u{1F600}-x"))
        XCTAssertFalse(PermissionSet.globMatch("caf??", "caf\u{E9}"))
        XCTAssertFalse(PermissionSet.globMatch("cafe?", "caf\u{E9}"))
        let set = PermissionSet(["s3:GetObject": ["b/?.txt"], "s3:ListBucket": ["b/?/*"]])
        XCTAssertTrue(set.allows("s3:GetObject", on: .object(bucket: "b", key: "\u{E9}.txt")))
        XCTAssertFalse(set.allows("s3:GetObject", on: .object(bucket: "b", key: "ab.txt")))
        XCTAssertTrue(set.allows("s3:ListBucket", on: .listing(bucket: "b", prefix: "\u{E9}/")))
    }

    // MARK: - Validation

    func testProblemValidatesWhatIsStored() {
        let known: Set<String> = ["s3:GetObject", "s3:PutObject", "admin:ListUsers", "sts:GetSessionToken"]
        let valid: [[String: [String]]] = [
            [:],
            ["s3:GetObject": ["my-bucket", "shared-*", "logs/2026/*"]],
            ["S3:GETOBJECT": ["b"]],
            ["s3:*": ["*"], "admin:*": ["*"], "sts:*": ["*"]],
            ["s3:Get*": ["b"]],
            ["*": ["*"]],
            ["admin:ListUsers": ["acme"]],
            ["s3:GetObject": [String(repeating: "a", count: 1024)]],
            ["s3:GetObject": ["b/ünïcode key/*"]],
        ]
        for rules in valid {
            XCTAssertNil(PermissionSet(rules).problem(knownActions: known), "\(rules)")
        }
        let invalid: [([String: [String]], String)] = [
            (["s3:GetObjects": ["b"]], "unknown action"),
            (["s3:DeleteEverything": ["b"]], "unknown action"),
            (["GetObject": ["b"]], "must be"),
            (["iam:CreateUser": ["b"]], "must be"),
            (["ec2:*": ["b"]], "must be"),
            (["s3:GetObject": []], "no resource patterns"),
            (["s3:GetObject": [""]], "not valid"),
            (["s3:GetObject": ["/b"]], "not valid"),
            (["s3:GetObject": ["b\nc"]], "not valid"),
            (["s3:GetObject": ["b\u{7F}"]], "not valid"),
            (["s3:GetObject": [String(repeating: "a", count: 1025)]], "not valid"),
        ]
        for (rules, expected) in invalid {
            let problem = PermissionSet(rules).problem(knownActions: known)
            XCTAssertNotNil(problem, "\(rules)")
            XCTAssert(problem?.contains(expected) == true, "\(rules): \(problem ?? "nil")")
        }
    }

    func testCodableRoundTripKeepsTheRules() throws {
        let data = try JSONEncoder().encode(example)
        XCTAssertEqual(try JSONDecoder().decode(PermissionSet.self, from: data), example)
    }
}

/// Session policies narrow; the principal's tenant rules bound admin actions.
final class PrincipalTests: XCTestCase {
    func user(_ tenant: String, _ rules: [String: [String]]) -> UserRecord {
        UserRecord(
            tenant: tenant, name: "u", id: String(repeating: "a", count: 64), permissions: PermissionSet(rules),
            createdAt: 0)
    }

    func session(_ statements: [SessionPolicy.Statement]) -> Principal.Session {
        Principal.Session(expiresAt: 100, tokenHash: "h", policy: SessionPolicy(statements: statements))
    }

    func testSessionPolicyOnlyNarrows() {
        let everything = user("acme", ["s3:*": ["*"]])
        let narrowed = Principal(
            tenant: "acme", user: everything, accessKey: "K",
            session: session([
                .init(allow: true, actions: ["s3:Get*", "s3:ListBucket"], resources: ["arn:aws:s3:::photos*"]),
                .init(allow: false, actions: ["s3:GetObject"], resources: ["arn:aws:s3:::photos/secret/*"]),
            ]))
        XCTAssertTrue(narrowed.allows("s3:GetObject", on: .object(bucket: "photos", key: "a.jpg")))
        XCTAssertTrue(narrowed.allows("s3:ListBucket", on: .listing(bucket: "photos", prefix: "")))
        XCTAssertFalse(narrowed.allows("s3:PutObject", on: .object(bucket: "photos", key: "a.jpg")))
        XCTAssertFalse(narrowed.allows("s3:GetObject", on: .object(bucket: "logs", key: "a")))
        // An explicit Deny wins over the Allow.
        XCTAssertFalse(narrowed.allows("s3:GetObject", on: .object(bucket: "photos", key: "secret/plan")))

        // A policy allowing everything grants nothing the user lacks.
        let reader = user("acme", ["s3:GetObject": ["photos"]])
        let broad = Principal(
            tenant: "acme", user: reader, accessKey: "K",
            session: session([.init(allow: true, actions: ["*"], resources: ["*"])]))
        XCTAssertTrue(broad.allows("s3:GetObject", on: .object(bucket: "photos", key: "a")))
        XCTAssertFalse(broad.allows("s3:PutObject", on: .object(bucket: "photos", key: "a")))
        XCTAssertFalse(broad.allows("s3:GetObject", on: .object(bucket: "logs", key: "a")))

        // An empty policy allows nothing; no policy at all leaves the user's permissions.
        let empty = Principal(tenant: "acme", user: everything, accessKey: "K", session: session([]))
        XCTAssertFalse(empty.allows("s3:GetObject", on: .object(bucket: "photos", key: "a")))
        let plain = Principal(
            tenant: "acme", user: everything, accessKey: "K",
            session: Principal.Session(expiresAt: 100, tokenHash: "h", policy: nil))
        XCTAssertTrue(plain.allows("s3:GetObject", on: .object(bucket: "photos", key: "a")))
    }

    /// ListBuckets is refused outright when neither the permissions nor the session policy grant
    /// s3:ListAllMyBuckets anywhere; otherwise it lists what `allows` admits bucket by bucket.
    func testMayAttempt() {
        let lister = user("acme", ["s3:ListAllMyBuckets": ["photos-*"], "s3:GetObject": ["*"]])
        XCTAssertTrue(Principal(tenant: "acme", user: lister, accessKey: "K").mayAttempt("s3:ListAllMyBuckets"))
        XCTAssertFalse(Principal(tenant: "acme", user: lister, accessKey: "K").mayAttempt("s3:PutObject"))
        let getOnly = Principal(
            tenant: "acme", user: lister, accessKey: "K",
            session: session([.init(allow: true, actions: ["s3:GetObject"], resources: ["*"])]))
        XCTAssertFalse(getOnly.mayAttempt("s3:ListAllMyBuckets"))
        XCTAssertTrue(getOnly.mayAttempt("s3:GetObject"))
        let listing = Principal(
            tenant: "acme", user: lister, accessKey: "K",
            session: session([.init(allow: true, actions: ["s3:List*"], resources: ["arn:aws:s3:::photos-1"])]))
        XCTAssertTrue(listing.mayAttempt("s3:ListAllMyBuckets"))
        XCTAssertTrue(listing.allows("s3:ListAllMyBuckets", on: .bucket("photos-1")))
        XCTAssertFalse(listing.allows("s3:ListAllMyBuckets", on: .bucket("photos-2")))
    }

    func testAdminActionsStayInsideTheTenantUnlessDefault() {
        let admin: [String: [String]] = ["s3:*": ["*"], "admin:*": ["*"]]
        let tenantAdmin = Principal(tenant: "acme", user: user("acme", admin), accessKey: "K")
        XCTAssertFalse(tenantAdmin.isGatewayTenant)
        XCTAssertTrue(tenantAdmin.allows("admin:CreateUser", on: .tenant("acme")))
        XCTAssertFalse(tenantAdmin.allows("admin:CreateUser", on: .tenant("globex")))
        XCTAssertFalse(tenantAdmin.allows("admin:CreateUser", on: .tenant(TenantRecord.defaultID)))
        XCTAssertFalse(tenantAdmin.allows("admin:ListTenants", on: .gateway))
        XCTAssertTrue(tenantAdmin.allows("s3:GetObject", on: .object(bucket: "photos", key: "k")))

        let root = Principal(tenant: TenantRecord.defaultID, user: user(TenantRecord.defaultID, admin), accessKey: "R")
        XCTAssertTrue(root.isGatewayTenant)
        XCTAssertTrue(root.allows("admin:CreateUser", on: .tenant("acme")))
        XCTAssertTrue(root.allows("admin:CreateUser", on: .tenant("globex")))
        XCTAssertTrue(root.allows("admin:ListTenants", on: .gateway))

        // A default-tenant user limited to one tenant manages that one only, and nothing gateway-wide.
        let delegated = Principal(
            tenant: TenantRecord.defaultID, user: user(TenantRecord.defaultID, ["admin:*": ["acme"]]), accessKey: "D")
        XCTAssertTrue(delegated.allows("admin:ListUsers", on: .tenant("acme")))
        XCTAssertFalse(delegated.allows("admin:ListUsers", on: .tenant("globex")))
        XCTAssertFalse(delegated.allows("admin:ListTenants", on: .gateway))

        // Without admin permissions, a default-tenant user is nobody's administrator.
        let plainRoot = Principal(
            tenant: TenantRecord.defaultID, user: user(TenantRecord.defaultID, ["s3:*": ["*"]]), accessKey: "P")
        XCTAssertFalse(plainRoot.allows("admin:ListUsers", on: .tenant("acme")))
        XCTAssertFalse(plainRoot.allows("admin:ListTenants", on: .gateway))

        // A session policy narrows admin actions too.
        let narrowed = Principal(
            tenant: "acme", user: user("acme", admin), accessKey: "S",
            session: session([.init(allow: true, actions: ["admin:List*"], resources: ["*"])]))
        XCTAssertTrue(narrowed.allows("admin:ListUsers", on: .tenant("acme")))
        XCTAssertFalse(narrowed.allows("admin:CreateUser", on: .tenant("acme")))
    }
}
