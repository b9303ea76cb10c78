import Foundation
import Gateway
import GatewayCore
import SigV4
import XCTest

/// Bucket and object ACLs, Object Ownership and the public access block as requests set and
/// read them (docs/ACCESS.md): what is stored, what GET answers, what is refused before a byte
/// is stored. Whether an ACL lets someone in is Access.decide's (its own tests).
final class ACLHandlerTests: XCTestCase {
    var gw: TestGateway!
    static let allUsersURI = "http://acs.amazonaws.com/groups/global/AllUsers"
    static let authenticatedURI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
    static let logDeliveryURI = "http://acs.amazonaws.com/groups/s3/LogDelivery"

    override func setUp() { gw = TestGateway() }

    /// A bucket whose ACLs apply (ObjectWriter) with no public access block, and one object.
    func aclBucket(_ name: String = "acls", ownership: String = "ObjectWriter") {
        XCTAssertEqual(gw.send("PUT", "/\(name)", headers: [("x-amz-object-ownership", ownership)]).status, 200)
        XCTAssertEqual(gw.send("DELETE", "/\(name)?publicAccessBlock").status, 204)
        XCTAssertEqual(gw.send("PUT", "/\(name)/src", body: Array("source".utf8)).status, 200)
    }

    /// GET ?acl as (grantee, permission) pairs, the grantee being its ID or URI; and the owner.
    func grants(_ path: String, as key: TestGateway.UserKey? = nil) -> (owner: String, grants: [String]) {
        let r = key.map { gw.send(as: $0, "GET", path) } ?? gw.send("GET", path)
        XCTAssertEqual(r.status, 200, r.text)
        let owner = between(r.text, "<Owner><ID>", "</ID>").first ?? ""
        let grants = r.text.components(separatedBy: "<Grant>").dropFirst().map { g in
            let who = between(g, "<ID>", "</ID>").first ?? between(g, "<URI>", "</URI>").first ?? "?"
            return who + " " + (between(g, "<Permission>", "</Permission>").first ?? "?")
        }
        return (owner, grants)
    }

    func between(_ s: String, _ a: String, _ b: String) -> [String] {
        s.components(separatedBy: a).dropFirst().compactMap { $0.components(separatedBy: b).first }
    }

    func changes(_ prefix: String) -> [AuditRecord] {
        (try? gw.metadata.auditRecords(AuditQuery()))?.filter { $0.change.hasPrefix(prefix) } ?? []
    }

    // MARK: Defaults

    func testNewBucketsGetTheConfiguredOwnershipAndPublicAccessBlock() throws {
        XCTAssertEqual(gw.send("PUT", "/plain").status, 200)
        let b = try XCTUnwrap(gw.metadata.bucket(named: "plain"))
        XCTAssertEqual(b.ownership, "BucketOwnerEnforced")
        XCTAssertEqual(b.publicAccessBlock, PublicAccessBlock.all.encoded)
        XCTAssertEqual(b.acl, "")
        XCTAssert(gw.send("GET", "/plain?ownershipControls").text.contains("<ObjectOwnership>BucketOwnerEnforced<"))
        let pab = gw.send("GET", "/plain?publicAccessBlock").text
        for name in ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] {
            XCTAssert(pab.contains("<\(name)>true</\(name)>"), pab)
        }

        gw = TestGateway(configure: {
            $0.accessDefaults = AccessDefaults(objectOwnership: "ObjectWriter", blockPublicAccess: false)
        })
        XCTAssertEqual(gw.send("PUT", "/open").status, 200)
        let o = try XCTUnwrap(gw.metadata.bucket(named: "open"))
        XCTAssertEqual(o.ownership, "ObjectWriter")
        XCTAssertEqual(o.publicAccessBlock, "")
        XCTAssertEqual(gw.send("GET", "/open?publicAccessBlock").errorCode, "NoSuchPublicAccessBlockConfiguration")
        // The header wins over the configured default.
        XCTAssertEqual(
            gw.send("PUT", "/strict", headers: [("x-amz-object-ownership", "BucketOwnerPreferred")]).status, 200)
        XCTAssertEqual(try gw.metadata.bucket(named: "strict")?.ownership, "BucketOwnerPreferred")
        XCTAssertEqual(
            gw.send("PUT", "/bad", headers: [("x-amz-object-ownership", "Everyone")]).errorCode, "InvalidArgument")
        XCTAssertNil(try gw.metadata.bucket(named: "bad"))
    }

    func testConfigurationKeys() throws {
        let zones = "\n[[zones]]\nname = \"z\"\npath = \"/data/z\"\n"
        XCTAssertEqual(try GatewayConfig.parse(zones, file: "t").accessDefaults, AccessDefaults())
        let c = try GatewayConfig.parse(
            "[s3]\ndefault_object_ownership = \"ObjectWriter\"\ndefault_public_access_block = false\n" + zones,
            file: "t")
        XCTAssertEqual(c.accessDefaults, AccessDefaults(objectOwnership: "ObjectWriter", blockPublicAccess: false))
        XCTAssertThrowsError(try GatewayConfig.parse("[s3]\ndefault_object_ownership = \"Mine\"\n" + zones, file: "t"))
        XCTAssertThrowsError(
            try GatewayConfig.parse("[s3]\ndefault_public_access_block = \"yes\"\n" + zones, file: "t"))
        XCTAssertThrowsError(try GatewayConfig.parse("[s3]\nother = 1\n" + zones, file: "t"))
    }

    // MARK: Canned ACLs on every write, read back

    func expectedCanned(_ name: String, owner: String, bucketOwner: String) -> [String] {
        let me = "\(owner) FULL_CONTROL"
        switch name {
        case "public-read": return [me, "\(Self.allUsersURI) READ"]
        case "public-read-write": return [me, "\(Self.allUsersURI) READ", "\(Self.allUsersURI) WRITE"]
        case "authenticated-read": return [me, "\(Self.authenticatedURI) READ"]
        // The bucket owner's READ beside its FULL_CONTROL when it owns the object too.
        case "bucket-owner-read": return [me, "\(bucketOwner) READ"]
        case "log-delivery-write": return [me, "\(Self.logDeliveryURI) WRITE", "\(Self.logDeliveryURI) READ_ACP"]
        default: return [me]
        }
    }

    func testEveryCannedACLOnEveryWriteIsWhatGetACLAnswers() throws {
        aclBucket()
        let root = gw.rootID
        let canned = [
            "private", "public-read", "public-read-write", "authenticated-read", "bucket-owner-read",
            "bucket-owner-full-control", "log-delivery-write",
        ]
        for name in canned {
            let want = expectedCanned(name, owner: root, bucketOwner: root)
            let h = [("x-amz-acl", name)]
            XCTAssertEqual(gw.send("PUT", "/acls/put-\(name)", body: [1], headers: h).status, 200)
            XCTAssertEqual(grants("/acls/put-\(name)?acl").grants, want, "PUT \(name)")
            XCTAssertEqual(
                gw.send("PUT", "/acls/copy-\(name)", headers: h + [("x-amz-copy-source", "/acls/src")]).status, 200)
            XCTAssertEqual(grants("/acls/copy-\(name)?acl").grants, want, "copy \(name)")
            let id = between(gw.send("POST", "/acls/mpu-\(name)?uploads", headers: h).text, "<UploadId>", "<").first!
            let part = gw.send("PUT", "/acls/mpu-\(name)?partNumber=1&uploadId=\(id)", body: [1, 2])
            let complete =
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(part.header("ETag")!)</ETag></Part></CompleteMultipartUpload>"
            XCTAssertEqual(gw.send("POST", "/acls/mpu-\(name)?uploadId=\(id)", body: Array(complete.utf8)).status, 200)
            XCTAssertEqual(grants("/acls/mpu-\(name)?acl").grants, want, "multipart \(name)")
            XCTAssertEqual(postForm(bucket: "acls", ["key": "post-\(name)", "acl": name]).status, 204)
            XCTAssertEqual(grants("/acls/post-\(name)?acl").grants, want, "POST form \(name)")
            // Put*Acl with the header, on the source object and on the bucket.
            XCTAssertEqual(gw.send("PUT", "/acls/src?acl", headers: h).status, 200)
            XCTAssertEqual(grants("/acls/src?acl").grants, want, "PutObjectAcl \(name)")
            XCTAssertEqual(gw.send("PUT", "/acls?acl", headers: h).status, 200)
            // On a bucket the bucket-owner ones are private (S3 ignores them there).
            XCTAssertEqual(
                grants("/acls?acl").grants, name.hasPrefix("bucket-owner-") ? [want[0]] : want, "PutBucketAcl \(name)")
        }
        // A copy never takes the source's ACL: without a header it is private.
        XCTAssertEqual(
            gw.send("PUT", "/acls/copied", headers: [("x-amz-copy-source", "/acls/put-public-read")]).status, 200)
        XCTAssertEqual(grants("/acls/copied?acl").grants, ["\(root) FULL_CONTROL"])
        // A private ACL is stored as nothing; the rest as given.
        XCTAssertEqual(try gw.metadata.object(bucket: "acls", key: "put-private")?.acl, "")
        XCTAssertEqual(
            try gw.metadata.object(bucket: "acls", key: "put-public-read")?.acl,
            "FULL_CONTROL=u:\(root),READ=g:AllUsers")
    }

    func testCreateBucketKeepsItsACLWhereACLsApply() throws {
        gw = TestGateway(configure: {
            $0.accessDefaults = AccessDefaults(objectOwnership: "ObjectWriter", blockPublicAccess: false)
        })
        XCTAssertEqual(gw.send("PUT", "/pub", headers: [("x-amz-acl", "public-read")]).status, 200)
        XCTAssertEqual(
            grants("/pub?acl").grants, ["\(gw.rootID) FULL_CONTROL", "\(Self.allUsersURI) READ"])
        let alice = gw.addUser(TenantRecord.defaultID, "alice", ["s3:*": ["*"]])
        XCTAssertEqual(
            gw.send("PUT", "/granted", headers: [("x-amz-grant-read", "id=\"\(alice.userID)\"")]).status, 200)
        XCTAssertEqual(grants("/granted?acl").grants, ["\(alice.userID) READ"])
    }

    // MARK: Grants in headers and in XML

    func policyXML(owner: String, _ grants: [(String, String)]) -> [UInt8] {
        let xsi = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        let list = grants.map { who, permission in
            let grantee =
                who.hasPrefix("http://")
                ? "<Grantee \(xsi) xsi:type=\"Group\"><URI>\(who)</URI></Grantee>"
                : who.contains("@")
                    ? "<Grantee \(xsi) xsi:type=\"AmazonCustomerByEmail\"><EmailAddress>\(who)</EmailAddress></Grantee>"
                    : "<Grantee \(xsi) xsi:type=\"CanonicalUser\"><ID>\(who)</ID></Grantee>"
            return "<Grant>\(grantee)<Permission>\(permission)</Permission></Grant>"
        }.joined()
        return Array(
            """
            <AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>\(owner)</ID></Owner>\
            <AccessControlList>\(list)</AccessControlList></AccessControlPolicy>
            """.utf8)
    }

    func testGrantsByIdAndURIInHeadersAndXML() throws {
        aclBucket()
        let root = gw.rootID
        let alice = gw.addUser(TenantRecord.defaultID, "alice", ["s3:*": ["*"]])
        let globex = gw.addUser("globex", "admin", ["s3:*": ["*"]])
        for path in ["/acls?acl", "/acls/src?acl"] {
            let headers = [
                ("x-amz-grant-full-control", "id=\"\(root)\""),
                ("x-amz-grant-read", "id=\"\(alice.userID)\", uri=\"\(Self.authenticatedURI)\""),
                ("x-amz-grant-write-acp", "id=\(globex.userID)"),
            ]
            XCTAssertEqual(gw.send("PUT", path, headers: headers).status, 200, path)
            XCTAssertEqual(
                Set(grants(path).grants),
                [
                    "\(root) FULL_CONTROL", "\(alice.userID) READ", "\(Self.authenticatedURI) READ",
                    "\(globex.userID) WRITE_ACP",
                ], path)
            let xml = policyXML(
                owner: root, [(root, "FULL_CONTROL"), (globex.userID, "READ_ACP"), (Self.allUsersURI, "READ")])
            XCTAssertEqual(gw.send("PUT", path, body: xml).status, 200, path)
            XCTAssertEqual(
                grants(path).grants,
                ["\(root) FULL_CONTROL", "\(globex.userID) READ_ACP", "\(Self.allUsersURI) READ"], path)
            // What GET answers goes back unchanged (s3cmd `cp`).
            let current = gw.send("GET", path).body
            XCTAssertEqual(gw.send("PUT", path, body: current).status, 200)
            XCTAssertEqual(gw.send("GET", path).body, current)
        }
        XCTAssertEqual(changes("bucket.acl").count, 3)
        let objectACL = try XCTUnwrap(changes("object.acl").last)
        XCTAssert(objectACL.detail.contains("\"version_id\":\"null\""), objectACL.detail)
        XCTAssert(objectACL.detail.contains("READ=g:AllUsers"), objectACL.detail)
    }

    func testObjectACLOfAVersion() throws {
        aclBucket()
        XCTAssertEqual(
            gw.send(
                "PUT", "/acls?versioning",
                body: Array("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>".utf8)
            ).status, 200)
        let first = try XCTUnwrap(gw.send("PUT", "/acls/v", body: [1]).header("x-amz-version-id"))
        XCTAssertEqual(gw.send("PUT", "/acls/v", body: [2]).status, 200)
        XCTAssertEqual(
            gw.send("PUT", "/acls/v?acl&versionId=\(first)", headers: [("x-amz-acl", "public-read")]).status, 200)
        XCTAssertEqual(grants("/acls/v?acl&versionId=\(first)").grants.count, 2)
        XCTAssertEqual(grants("/acls/v?acl").grants.count, 1, "the latest version is unchanged")
    }

    func testACLRequestErrors() {
        aclBucket()
        let root = gw.rootID
        for path in ["/acls?acl", "/acls/src?acl"] {
            let cases: [(String, [UInt8], [(String, String)], String)] = [
                (
                    "both forms", policyXML(owner: root, [(root, "FULL_CONTROL")]), [("x-amz-acl", "private")],
                    "UnexpectedContent"
                ),
                (
                    "canned and grants", [], [("x-amz-acl", "private"), ("x-amz-grant-read", "id=\(root)")],
                    "InvalidRequest"
                ),
                ("unknown id header", [], [("x-amz-grant-read", "id=\"0123abc\"")], "InvalidArgument"),
                ("unknown id XML", policyXML(owner: root, [("0123abc", "READ")]), [], "InvalidArgument"),
                (
                    "e-mail header", [], [("x-amz-grant-read", "emailAddress=\"a@example.com\"")],
                    "UnresolvableGrantByEmailAddress"
                ),
                (
                    "e-mail XML", policyXML(owner: root, [("a@example.com", "READ")]), [],
                    "UnresolvableGrantByEmailAddress"
                ),
                ("unknown canned", [], [("x-amz-acl", "everyone")], "InvalidArgument"),
                ("nothing", [], [], "MissingSecurityHeader"),
                ("not XML", Array("<AccessControlPolicy>".utf8), [], "MalformedACLError"),
                ("bad permission", policyXML(owner: root, [(root, "EVERYTHING")]), [], "MalformedACLError"),
                ("another owner", policyXML(owner: gw.rootID + "0", [(root, "FULL_CONTROL")]), [], "AccessDenied"),
            ]
            for (name, body, headers, code) in cases {
                let r = gw.send("PUT", path, body: body, headers: headers)
                XCTAssertEqual(r.errorCode, code, "\(path) \(name): \(r.text)")
            }
            XCTAssertEqual(grants(path).grants, ["\(root) FULL_CONTROL"], "nothing changed")
        }
        XCTAssertEqual(changes("bucket.acl").count + changes("object.acl").count, 0)
        // Object writes carrying a bad ACL store nothing.
        let blobs = gw.zone.blobCount
        for headers in [
            [("x-amz-grant-read", "id=\"0123abc\"")], [("x-amz-acl", "private"), ("x-amz-grant-read", "id=\(root)")],
        ] {
            XCTAssertEqual(gw.send("PUT", "/acls/k", body: [1], headers: headers).status, 400)
        }
        XCTAssertEqual(gw.zone.blobCount, blobs)
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "k"))
    }

    // MARK: Object Ownership

    func testOwnershipControlsPutGetDelete() throws {
        XCTAssertEqual(gw.send("PUT", "/own").status, 200)
        let body = { (o: String) in
            Array("<OwnershipControls><Rule><ObjectOwnership>\(o)</ObjectOwnership></Rule></OwnershipControls>".utf8)
        }
        for o in ["ObjectWriter", "BucketOwnerPreferred", "BucketOwnerEnforced"] {
            XCTAssertEqual(gw.send("PUT", "/own?ownershipControls", body: body(o)).status, 200, o)
            XCTAssert(gw.send("GET", "/own?ownershipControls").text.contains("<ObjectOwnership>\(o)<"), o)
            XCTAssertEqual(try gw.metadata.bucket(named: "own")?.ownership, o)
        }
        XCTAssertEqual(gw.send("PUT", "/own?ownershipControls", body: body("Anyone")).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("PUT", "/own?ownershipControls", body: []).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("DELETE", "/own?ownershipControls").status, 204)
        XCTAssertEqual(gw.send("GET", "/own?ownershipControls").errorCode, "OwnershipControlsNotFoundError")
        XCTAssertEqual(gw.send("GET", "/nope?ownershipControls").errorCode, "NoSuchBucket")
        XCTAssertEqual(
            changes("bucket.ownership").map(\.change),
            ["bucket.ownership", "bucket.ownership", "bucket.ownership", "bucket.ownership-delete"])
        // Without a setting the bucket behaves as S3's do: ObjectWriter, ACLs applied (its
        // default public access block still refuses a public one).
        XCTAssertEqual(
            gw.send("PUT", "/own/k", body: [1], headers: [("x-amz-acl", "authenticated-read")]).errorCode,
            "AccessDenied")
        XCTAssertEqual(
            gw.send("PUT", "/own/k", body: [1], headers: [("x-amz-acl", "bucket-owner-read")]).status, 200)
        XCTAssertNotEqual(try gw.metadata.object(bucket: "own", key: "k")?.acl, "")
        // Rows from before ownership was stored ('') keep ACLs off.
        try gw.metadata.setBucketSetting(bucket: "own", .ownership, "", audit: .bucketOwnership(bucket: "own", ""))
        XCTAssertEqual(
            gw.send("PUT", "/own/k", body: [1], headers: [("x-amz-grant-read", "id=\"\(gw.rootID)\"")]).errorCode,
            "AccessControlListNotSupported")
    }

    func testEnforcingOwnershipNeedsAPrivateBucketACLAndHidesObjectACLs() throws {
        aclBucket()
        XCTAssertEqual(gw.send("PUT", "/acls/pub", body: [1], headers: [("x-amz-acl", "public-read")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/acls?acl", headers: [("x-amz-acl", "authenticated-read")]).status, 200)
        let enforce = Array(
            "<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"
                .utf8)
        XCTAssertEqual(
            gw.send("PUT", "/acls?ownershipControls", body: enforce).errorCode, "InvalidBucketAclWithObjectOwnership")
        XCTAssertEqual(gw.send("PUT", "/acls?acl", headers: [("x-amz-acl", "private")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/acls?ownershipControls", body: enforce).status, 200)
        // Kept, but neither applied nor shown.
        XCTAssertEqual(grants("/acls/pub?acl").grants, ["\(gw.rootID) FULL_CONTROL"])
        XCTAssertNotEqual(try gw.metadata.object(bucket: "acls", key: "pub")?.acl, "")
        for (path, h) in [
            ("/acls/pub?acl", ("x-amz-acl", "public-read")), ("/acls?acl", ("x-amz-acl", "public-read")),
            ("/acls/pub?acl", ("x-amz-grant-read", "id=\"0123abc\"")),
        ] {
            XCTAssertEqual(gw.send("PUT", path, headers: [h]).errorCode, "AccessControlListNotSupported", path)
        }
        // The owner's FULL_CONTROL is accepted in either form.
        XCTAssertEqual(
            gw.send("PUT", "/acls/pub?acl", headers: [("x-amz-acl", "bucket-owner-full-control")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/acls/pub?acl", body: gw.send("GET", "/acls/pub?acl").body).status, 200)
    }

    func testObjectOwnerFollowsTheBucketsOwnership() throws {
        let alice = gw.addUser(TenantRecord.defaultID, "alice", ["s3:*": ["*"]])
        let root = gw.rootID
        let bofc = [("x-amz-acl", "bucket-owner-full-control")]
        // ObjectWriter: the writer owns it, whatever the ACL.
        aclBucket("writer", ownership: "ObjectWriter")
        XCTAssertEqual(gw.send(as: alice, "PUT", "/writer/a", body: [1]).status, 200)
        XCTAssertEqual(gw.send(as: alice, "PUT", "/writer/b", body: [1], headers: bofc).status, 200)
        XCTAssertEqual(try gw.metadata.object(bucket: "writer", key: "a")?.owner, alice.userID)
        XCTAssertEqual(try gw.metadata.object(bucket: "writer", key: "b")?.owner, alice.userID)
        XCTAssertEqual(grants("/writer/a?acl").owner, alice.userID)
        XCTAssertEqual(grants("/writer/b?acl").grants, ["\(alice.userID) FULL_CONTROL", "\(root) FULL_CONTROL"])
        // BucketOwnerPreferred: bucket-owner-full-control hands it to the bucket owner.
        aclBucket("preferred", ownership: "BucketOwnerPreferred")
        XCTAssertEqual(gw.send(as: alice, "PUT", "/preferred/a", body: [1]).status, 200)
        XCTAssertEqual(gw.send(as: alice, "PUT", "/preferred/b", body: [1], headers: bofc).status, 200)
        XCTAssertEqual(try gw.metadata.object(bucket: "preferred", key: "a")?.owner, alice.userID)
        XCTAssertEqual(try gw.metadata.object(bucket: "preferred", key: "b")?.owner, "")
        XCTAssertEqual(grants("/preferred/b?acl").owner, root)
        // Multipart too: the owner is fixed when the upload starts.
        let id = between(gw.send(as: alice, "POST", "/preferred/m?uploads").text, "<UploadId>", "<").first!
        XCTAssertEqual(try gw.metadata.upload(id: id)?.owner, alice.userID)
        // BucketOwnerEnforced: the bucket owner owns everything; bucket-owner-full-control and
        // the writer's private are accepted, nothing else.
        XCTAssertEqual(gw.send("PUT", "/enforced").status, 200)
        for h in [[], bofc, [("x-amz-acl", "private")]] {
            XCTAssertEqual(gw.send(as: alice, "PUT", "/enforced/a", body: [1], headers: h).status, 200)
            XCTAssertEqual(try gw.metadata.object(bucket: "enforced", key: "a")?.owner, "")
        }
        XCTAssertEqual(
            gw.send(as: alice, "PUT", "/enforced/a", body: [1], headers: [("x-amz-grant-read", "id=\(alice.userID)")])
                .errorCode, "AccessControlListNotSupported")
        // Listings show each object's owner.
        let v1 = gw.send("GET", "/writer").text
        XCTAssert(v1.contains("<Key>a</Key>") && v1.contains("<ID>\(alice.userID)</ID>"), v1)
        let v2 = gw.send("GET", "/writer?list-type=2&fetch-owner=true").text
        XCTAssert(v2.contains("<ID>\(alice.userID)</ID><DisplayName>alice</DisplayName>"), v2)
        XCTAssert(gw.send("GET", "/writer?versions").text.contains("<ID>\(alice.userID)</ID>"))
        XCTAssertFalse(gw.send("GET", "/preferred?list-type=2&fetch-owner=true&prefix=b").text.contains(alice.userID))
    }

    // MARK: Public access block

    func testPublicAccessBlockPutGetDeleteAndBlockPublicAcls() throws {
        XCTAssertEqual(gw.send("PUT", "/pab", headers: [("x-amz-object-ownership", "ObjectWriter")]).status, 200)
        let blobs = gw.zone.blobCount
        // Defaults: all four on, so public ACLs are refused everywhere, before anything is stored.
        let pub = [("x-amz-acl", "public-read")]
        XCTAssertEqual(gw.send("PUT", "/pab/k", body: [1], headers: pub).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("POST", "/pab/k?uploads", headers: pub).errorCode, "AccessDenied")
        XCTAssertEqual(
            gw.send("PUT", "/pab/k", body: [1], headers: [("x-amz-grant-read", "uri=\"\(Self.authenticatedURI)\"")])
                .errorCode, "AccessDenied")
        XCTAssertEqual(postForm(bucket: "pab", ["key": "k", "acl": "public-read"]).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("PUT", "/pab?acl", headers: pub).errorCode, "AccessDenied")
        XCTAssertEqual(
            gw.send("PUT", "/pab?acl", body: policyXML(owner: gw.rootID, [(Self.allUsersURI, "READ")])).errorCode,
            "AccessDenied")
        XCTAssertEqual(gw.zone.blobCount, blobs)
        XCTAssertNil(try gw.metadata.object(bucket: "pab", key: "k"))
        // Not public: fine.
        XCTAssertEqual(gw.send("PUT", "/pab/k", body: [1], headers: [("x-amz-acl", "bucket-owner-read")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/pab/k", body: [1], headers: [("x-amz-acl", "log-delivery-write")]).status, 200)
        // Only BlockPublicAcls matters here.
        let config = { (block: Bool) in
            Array(
                """
                <PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\
                <BlockPublicAcls>\(block)</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>\
                </PublicAccessBlockConfiguration>
                """.utf8)
        }
        XCTAssertEqual(gw.send("PUT", "/pab?publicAccessBlock", body: config(false)).status, 200)
        XCTAssertEqual(try gw.metadata.bucket(named: "pab")?.publicAccessBlock, "0100")
        let got = gw.send("GET", "/pab?publicAccessBlock").text
        XCTAssert(
            got.contains("<BlockPublicAcls>false</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>"), got)
        XCTAssertEqual(gw.send("PUT", "/pab/k", body: [1], headers: pub).status, 200)
        XCTAssertEqual(gw.send("PUT", "/pab?publicAccessBlock", body: config(true)).status, 200)
        XCTAssertEqual(gw.send("PUT", "/pab/k2", body: [1], headers: pub).errorCode, "AccessDenied")
        // An existing public ACL stays (IgnorePublicAcls is Access.decide's business).
        XCTAssertEqual(grants("/pab/k?acl").grants.count, 2)
        XCTAssertEqual(gw.send("PUT", "/pab?publicAccessBlock", body: Array("<Nope/>".utf8)).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("DELETE", "/pab?publicAccessBlock").status, 204)
        XCTAssertEqual(gw.send("GET", "/pab?publicAccessBlock").errorCode, "NoSuchPublicAccessBlockConfiguration")
        XCTAssertEqual(gw.send("PUT", "/pab?acl", headers: pub).status, 200)
        let audit = changes("bucket.public-access-block")
        XCTAssertEqual(
            audit.map(\.change),
            ["bucket.public-access-block", "bucket.public-access-block", "bucket.public-access-block-delete"])
        XCTAssert(audit[0].detail.contains("\"block_public_acls\":false"), audit[0].detail)
    }

    func testCreateBucketACLChecks() throws {
        // Default: ACLs disabled, so a bucket ACL granting others is refused; private is fine.
        for h in [("x-amz-acl", "public-read"), ("x-amz-grant-read", "uri=\"\(Self.allUsersURI)\"")] {
            XCTAssertEqual(gw.send("PUT", "/new-b", headers: [h]).errorCode, "InvalidBucketAclWithObjectOwnership")
            XCTAssertNil(try gw.metadata.bucket(named: "new-b"))
        }
        for acl in ["private", "bucket-owner-full-control"] {
            XCTAssertEqual(gw.send("PUT", "/new-b-\(acl)", headers: [("x-amz-acl", acl)]).status, 200)
        }
        // ACLs enabled, the default public access block refuses a public one.
        let writer = ("x-amz-object-ownership", "ObjectWriter")
        let refused = gw.send("PUT", "/new-b", headers: [writer, ("x-amz-acl", "public-read")])
        XCTAssertEqual(refused.errorCode, "InvalidBucketAclWithBlockPublicAccessError")
        XCTAssertEqual(refused.status, 400)
        XCTAssert(
            refused.text.contains("Bucket cannot have public ACLs set with BlockPublicAccess enabled"), refused.text)
        XCTAssertNil(try gw.metadata.bucket(named: "new-b"))
        XCTAssertEqual(
            gw.send("PUT", "/new-b", headers: [writer, ("x-amz-acl", "authenticated-read")]).errorCode,
            "InvalidBucketAclWithBlockPublicAccessError")
        XCTAssertEqual(gw.send("PUT", "/new-b", headers: [writer, ("x-amz-acl", "log-delivery-write")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/new-b3", headers: [("x-amz-acl", "bucket-owner-read")]).status, 200)
        XCTAssertEqual(try gw.metadata.bucket(named: "new-b3")?.acl, "")
        XCTAssertEqual(
            gw.send("PUT", "/new-b2", headers: [writer, ("x-amz-grant-read", "id=\"0123abc\"")]).errorCode,
            "InvalidArgument")
        // Asking for them needs their permissions.
        let creator = gw.addUser(TenantRecord.defaultID, "creator", ["s3:CreateBucket": ["*"]])
        XCTAssertEqual(gw.send(as: creator, "PUT", "/by-creator").status, 200)
        XCTAssertEqual(gw.send(as: creator, "PUT", "/by-creator-2", headers: [writer]).errorCode, "AccessDenied")
        XCTAssertEqual(
            gw.send(as: creator, "PUT", "/by-creator-2", headers: [writer, ("x-amz-acl", "authenticated-read")])
                .errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.bucket(named: "by-creator-2"))
    }

    // MARK: POST form helper

    /// A browser POST form signed with SigV2 whose policy allows every given field.
    func postForm(bucket: String, _ fields: [String: String], as key: TestGateway.UserKey? = nil)
        -> TestGateway.Response
    {
        gw.postForm(
            bucket: bucket, fields, accessKey: key?.accessKey ?? TestGateway.accessKey,
            secret: key?.secret ?? TestGateway.secretKey)
    }
}
