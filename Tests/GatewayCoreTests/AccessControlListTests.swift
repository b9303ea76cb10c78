import GatewayCore
import XCTest

/// ACLs: canned ACLs, grant headers and their errors, the stored form, and what a grant gives
/// whom.
final class AccessControlListTests: XCTestCase {
    typealias ACL = AccessControlList
    typealias G = ACL.Grant

    let owner = "aaaa"
    let bucketOwner = "bbbb"
    let users: Set<String> = ["aaaa", "bbbb", "cccc"]

    func testCannedACLs() throws {
        let o = G(.user(owner), .fullControl)
        let rows: [(String, [G])] = [
            ("private", [o]),
            ("aws-exec-read", [o]),
            ("public-read", [o, G(.group(.allUsers), .read)]),
            ("public-read-write", [o, G(.group(.allUsers), .read), G(.group(.allUsers), .write)]),
            ("authenticated-read", [o, G(.group(.authenticatedUsers), .read)]),
            ("bucket-owner-read", [o, G(.user(bucketOwner), .read)]),
            ("bucket-owner-full-control", [o, G(.user(bucketOwner), .fullControl)]),
            ("log-delivery-write", [o, G(.group(.logDelivery), .write), G(.group(.logDelivery), .readACP)]),
        ]
        for (name, grants) in rows {
            XCTAssertEqual(try ACL.canned(name, owner: owner, bucketOwner: bucketOwner).grants, grants, name)
        }
        XCTAssertEqual(Set(rows.map(\.0)), Set(ACL.cannedNames))
        // On a bucket (owner == bucket owner) the bucket-owner ones are just private.
        XCTAssertEqual(try ACL.canned("bucket-owner-full-control", owner: owner, bucketOwner: owner).grants, [o])
        XCTAssertThrowsError(try ACL.canned("Public-Read", owner: owner, bucketOwner: owner)) {
            XCTAssertEqual(($0 as? S3Error)?.code, .invalidArgument)
        }
    }

    func headers(_ h: [String: String]) throws(S3Error) -> ACL? {
        try ACL.fromHeaders({ h[$0] }, owner: owner, bucketOwner: bucketOwner, userExists: users.contains)
    }

    func testGrantHeaders() throws {
        XCTAssertNil(try headers([:]))
        XCTAssertEqual(try headers(["x-amz-acl": "public-read"])?.isPublic, true)
        let acl = try headers([
            "x-amz-grant-read": "id=\"cccc\", uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
            "x-amz-grant-full-control": "id=aaaa",
            "x-amz-grant-write-acp": " id = \"bbbb\" ",
        ])
        XCTAssertEqual(
            acl?.grants,
            [
                G(.user("cccc"), .read), G(.group(.allUsers), .read), G(.user("bbbb"), .writeACP),
                G(.user(owner), .fullControl),
            ])
        let rows: [([String: String], S3ErrorCode, String?)] = [
            (
                ["x-amz-acl": "private", "x-amz-grant-read": "id=\"cccc\""], .invalidRequest,
                "Specifying both Canned ACLs and Header Grants is not allowed"
            ),
            (["x-amz-grant-read": "id=\"nobody\""], .invalidArgument, "Invalid id"),
            (["x-amz-grant-read": "emailAddress=\"x@example.com\""], .unresolvableGrantByEmailAddress, nil),
            (["x-amz-grant-read": "uri=\"http://acs.amazonaws.com/groups/global/Nobody\""], .invalidArgument, nil),
            (["x-amz-grant-read": "name=\"x\""], .invalidArgument, nil),
            (["x-amz-grant-read": "cccc"], .invalidArgument, nil),
            (["x-amz-acl": "world-readable"], .invalidArgument, nil),
        ]
        for (h, code, message) in rows {
            XCTAssertThrowsError(try headers(h), "\(h)") { e in
                XCTAssertEqual((e as? S3Error)?.code, code, "\(h)")
                if let message { XCTAssertEqual((e as? S3Error)?.message, message) }
            }
        }
    }

    func testStoredForm() {
        let acl = ACL([
            G(.user("aaaa"), .fullControl), G(.group(.allUsers), .read), G(.group(.logDelivery), .write),
            G(.group(.authenticatedUsers), .readACP), G(.user("cccc"), .writeACP),
        ])
        XCTAssertEqual(
            acl.encoded,
            "FULL_CONTROL=u:aaaa,READ=g:AllUsers,WRITE=g:LogDelivery,READ_ACP=g:AuthenticatedUsers,WRITE_ACP=u:cccc")
        XCTAssertEqual(ACL.decode(acl.encoded, owner: "x"), acl)
        XCTAssertEqual(ACL.decode("", owner: "aaaa"), ACL.owner("aaaa"))
        for bad in ["READ", "READ=x:y", "READ=g:Nobody", "SOME=u:a", "READ=u:", "READ=u:a,", ",READ=u:a"] {
            XCTAssertNil(ACL.decode(bad, owner: "a"), bad)
        }
        // Duplicates are dropped, order kept.
        XCTAssertEqual(ACL([G(.user("a"), .read), G(.user("a"), .read)]).grants.count, 1)
    }

    func testQuestions() {
        XCTAssertFalse(ACL.owner("a").isPublic)
        XCTAssertTrue(ACL([G(.group(.authenticatedUsers), .read)]).isPublic)
        XCTAssertTrue(ACL([G(.group(.allUsers), .writeACP)]).isPublic)
        XCTAssertFalse(ACL([G(.group(.logDelivery), .write)]).isPublic)
        XCTAssertTrue(ACL.owner("a").isPrivate(owner: "a"))
        XCTAssertFalse(ACL.owner("a").isPrivate(owner: "b"))
        let bofc = ACL([G(.user("w"), .fullControl), G(.user("b"), .fullControl)])
        XCTAssertTrue(bofc.isBucketOwnerFullControl(bucketOwner: "b", objectOwner: "w"))
        XCTAssertFalse(bofc.isBucketOwnerFullControl(bucketOwner: "c", objectOwner: "w"))
        XCTAssertFalse(ACL.owner("w").isBucketOwnerFullControl(bucketOwner: "b", objectOwner: "w"))
        XCTAssertTrue(ACL.owner("b").isBucketOwnerFullControl(bucketOwner: "b", objectOwner: "b"))
    }

    func testPermissionsOfCallers() {
        let acl = ACL([
            G(.user("cccc"), .fullControl), G(.group(.allUsers), .read), G(.group(.authenticatedUsers), .readACP),
            G(.group(.logDelivery), .write),
        ])
        let other = AccessDecideTests.user("other", "x", [:], id: "dddd")
        let c = AccessDecideTests.user("acme", "c", [:], id: "cccc")
        XCTAssertEqual(acl.permissions(of: .anonymous), [.read])
        XCTAssertEqual(acl.permissions(of: .anonymous, ignorePublic: true), [])
        XCTAssertEqual(acl.permissions(of: other), [.read, .readACP])
        XCTAssertEqual(acl.permissions(of: other, ignorePublic: true), [])
        XCTAssertEqual(acl.permissions(of: c), [.read, .write, .readACP, .writeACP, .fullControl])
    }

    func testOwnershipAndPublicAccessBlock() throws {
        XCTAssertEqual(ObjectOwnership(stored: ""), .bucketOwnerEnforced)
        XCTAssertEqual(ObjectOwnership(stored: "junk"), .bucketOwnerEnforced)
        XCTAssertEqual(ObjectOwnership(stored: "ObjectWriter"), .objectWriter)
        XCTAssertFalse(ObjectOwnership.bucketOwnerEnforced.aclsEnabled)
        let bofc = try ACL.canned("bucket-owner-full-control", owner: "w", bucketOwner: "b")
        let rows: [(ObjectOwnership, ACL?, String)] = [
            (.bucketOwnerEnforced, nil, "b"), (.bucketOwnerEnforced, ACL.owner("w"), "b"),
            (.objectWriter, bofc, "w"), (.objectWriter, nil, "w"),
            (.bucketOwnerPreferred, bofc, "b"), (.bucketOwnerPreferred, ACL.owner("w"), "w"),
            (.bucketOwnerPreferred, nil, "w"),
        ]
        for (o, acl, expected) in rows {
            XCTAssertEqual(
                o.objectOwner(writer: "w", bucketOwner: "b", acl: acl), expected, "\(o) \(String(describing: acl))")
        }

        // BucketOwnerEnforced takes only the bucket owner's FULL_CONTROL.
        let enforced = ObjectOwnership.bucketOwnerEnforced
        XCTAssertTrue(enforced.permits(try ACL.canned("private", owner: "b", bucketOwner: "b"), bucketOwner: "b"))
        XCTAssertTrue(
            enforced.permits(
                try ACL.canned("bucket-owner-full-control", owner: "b", bucketOwner: "b"), bucketOwner: "b"))
        XCTAssertFalse(enforced.permits(try ACL.canned("public-read", owner: "b", bucketOwner: "b"), bucketOwner: "b"))
        XCTAssertFalse(enforced.permits(ACL([G(.user("b"), .fullControl), G(.user("w"), .read)]), bucketOwner: "b"))
        XCTAssertFalse(enforced.permits(ACL([G(.user("b"), .read)]), bucketOwner: "b"))
        XCTAssertTrue(
            ObjectOwnership.objectWriter.permits(
                try ACL.canned("public-read", owner: "b", bucketOwner: "b"), bucketOwner: "b"))

        XCTAssertEqual(PublicAccessBlock.all.encoded, "1111")
        XCTAssertEqual(PublicAccessBlock(ignorePublicAcls: true, restrictPublicBuckets: true).encoded, "0101")
        XCTAssertEqual(
            PublicAccessBlock.decode("0101"), PublicAccessBlock(ignorePublicAcls: true, restrictPublicBuckets: true))
        XCTAssertNil(PublicAccessBlock.decode(""))
        XCTAssertNil(PublicAccessBlock.decode("012"))
        XCTAssertEqual(PublicAccessBlock(stored: ""), .none)
        XCTAssertEqual(PublicAccessBlock(stored: "x"), .all)
        XCTAssertEqual(
            try PublicAccessBlock.from(elements: ["BlockPublicAcls": "TRUE", "RestrictPublicBuckets": "false"]),
            PublicAccessBlock(blockPublicAcls: true))
        XCTAssertThrowsError(try PublicAccessBlock.from(elements: ["BlockPublicAcls": "yes"]))
    }
}
