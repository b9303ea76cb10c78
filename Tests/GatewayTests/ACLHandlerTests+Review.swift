import Foundation
import Gateway
import GatewayCore
import SigV4
import XCTest

/// What a write carrying an ACL needs (s3:PutObjectAcl besides s3:PutObject, AWS's PutObject
/// "Permissions"), what deleting ownership controls leaves, and the limits and edge cases of
/// Put*Acl (docs/ACCESS.md, "ACLs, ownership and public access block — requests").
extension ACLHandlerTests {
    /// A policy granting `principal` the actions on every key of `bucket`, with `condition`.
    func allowPolicy(_ bucket: String, principal: String, _ actions: [String], condition: String = "")
        -> [UInt8]
    {
        let list = actions.map { "\"\($0)\"" }.joined(separator: ",")
        let when = condition.isEmpty ? "" : ",\"Condition\":\(condition)"
        return Array(
            """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\(principal)"},\
            "Action":[\(list)],"Resource":"arn:aws:s3:::\(bucket)/*"\(when)}]}
            """.utf8)
    }

    /// PUT, copy, CreateMultipartUpload and the POST form: with x-amz-acl or x-amz-grant-* (or
    /// the form's acl) the writer needs s3:PutObjectAcl too, and nothing is stored without it.
    func testWritesCarryingAnACLNeedPutObjectAcl() throws {
        aclBucket()
        let writer = gw.addUser(TenantRecord.defaultID, "writer", ["s3:PutObject": ["acls"], "s3:GetObject": ["acls"]])
        let both = gw.addUser(TenantRecord.defaultID, "both", ["s3:PutObject": ["acls"], "s3:PutObjectAcl": ["acls"]])
        let blobs = gw.zone.blobCount
        for h in [
            [("x-amz-acl", "private")], [("x-amz-acl", "bucket-owner-full-control")],
            [("x-amz-grant-read", "id=\"\(gw.rootID)\"")],
        ] {
            XCTAssertEqual(gw.send(as: writer, "PUT", "/acls/k", body: [1], headers: h).errorCode, "AccessDenied")
            XCTAssertEqual(
                gw.send(as: writer, "PUT", "/acls/c", headers: h + [("x-amz-copy-source", "/acls/src")]).errorCode,
                "AccessDenied")
            XCTAssertEqual(gw.send(as: writer, "POST", "/acls/m?uploads", headers: h).errorCode, "AccessDenied")
        }
        XCTAssertEqual(gw.zone.blobCount, blobs)
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "k"))
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "c"))
        XCTAssertEqual(gw.send("GET", "/acls?uploads").text.components(separatedBy: "<Upload>").count, 1)
        // Without an ACL, s3:PutObject alone; with both permissions, any ACL.
        XCTAssertEqual(gw.send(as: writer, "PUT", "/acls/k", body: [1]).status, 200)
        XCTAssertEqual(
            gw.send(as: both, "PUT", "/acls/k2", body: [1], headers: [("x-amz-acl", "public-read")]).status, 200)
        XCTAssertEqual(grants("/acls/k2?acl").grants.count, 2)
        // The POST form's acl field counts as x-amz-acl.
        XCTAssertEqual(postForm(bucket: "acls", ["key": "p", "acl": "private"], as: writer).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "p"))
        XCTAssertEqual(postForm(bucket: "acls", ["key": "p"], as: writer).status, 204)
        XCTAssertEqual(postForm(bucket: "acls", ["key": "p2", "acl": "private"], as: both).status, 204)
        // The form names its ACL once (acl or x-amz-acl): two that could differ are refused.
        XCTAssertEqual(
            postForm(bucket: "acls", ["key": "p3", "acl": "private", "x-amz-acl": "public-read"]).errorCode,
            "InvalidArgument")
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "p3"))
        XCTAssertEqual(
            postForm(bucket: "acls", ["key": "p4", "x-amz-acl": "private"], as: writer).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "p4"))
    }

    /// A bucket policy decides s3:PutObjectAcl on writes like any other action: a Deny of it
    /// refuses writes with an ACL even to a user allowed everything, and an Allow conditioned on
    /// s3:x-amz-acl = bucket-owner-full-control lets another tenant's writer in with that ACL
    /// only (AWS's documented cross-account pattern, with both actions in the statement).
    func testPolicyDecidesPutObjectAclOnWrites() throws {
        aclBucket()
        let alice = gw.addUser(TenantRecord.defaultID, "alice", ["s3:*": ["*"]])
        let deny = Array(
            """
            {"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObjectAcl",\
            "Resource":"arn:aws:s3:::acls/*"}]}
            """.utf8)
        XCTAssertEqual(gw.send("PUT", "/acls?policy", body: deny).status, 204)
        let h = [("x-amz-acl", "private")]
        XCTAssertEqual(gw.send(as: alice, "PUT", "/acls/k", body: [1], headers: h).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: alice, "POST", "/acls/k?uploads", headers: h).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "k"))
        XCTAssertEqual(gw.send(as: alice, "PUT", "/acls/k", body: [1]).status, 200)

        let globex = gw.addUser("globex", "writer", ["s3:*": ["*"]])
        let condition = #"{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}"#
        XCTAssertEqual(
            gw.send(
                "PUT", "/acls?policy",
                body: allowPolicy(
                    "acls", principal: "arn:aws:iam::globex:user/writer", ["s3:PutObject", "s3:PutObjectAcl"],
                    condition: condition)
            ).status, 204)
        let bofc = [("x-amz-acl", "bucket-owner-full-control")]
        XCTAssertEqual(gw.send(as: globex, "PUT", "/default:acls/x", body: [1], headers: bofc).status, 200)
        XCTAssertEqual(try gw.metadata.object(bucket: "acls", key: "x")?.owner, globex.userID)
        for other in [[("x-amz-acl", "private")], []] {
            XCTAssertEqual(
                gw.send(as: globex, "PUT", "/default:acls/y", body: [1], headers: other).errorCode, "AccessDenied")
        }
        // s3:PutObject alone under the same condition is not enough: the ACL needs its own.
        XCTAssertEqual(
            gw.send(
                "PUT", "/acls?policy",
                body: allowPolicy(
                    "acls", principal: "arn:aws:iam::globex:user/writer", ["s3:PutObject"], condition: condition)
            ).status, 204)
        XCTAssertEqual(
            gw.send(as: globex, "PUT", "/default:acls/z", body: [1], headers: bofc).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "acls", key: "z"))
    }

    /// BlockPublicAcls refuses a public ACL on CopyObject and on an object's PutObjectAcl, as
    /// on the other writes.
    func testBlockPublicAclsOnCopyAndObjectACL() throws {
        XCTAssertEqual(gw.send("PUT", "/pab", headers: [("x-amz-object-ownership", "ObjectWriter")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/pab/src", body: [1]).status, 200)
        let pub = [("x-amz-acl", "public-read")]
        XCTAssertEqual(
            gw.send("PUT", "/pab/copy", headers: pub + [("x-amz-copy-source", "/pab/src")]).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "pab", key: "copy"))
        XCTAssertEqual(gw.send("PUT", "/pab/src?acl", headers: pub).errorCode, "AccessDenied")
        XCTAssertEqual(
            gw.send("PUT", "/pab/src?acl", body: policyXML(owner: gw.rootID, [(Self.authenticatedURI, "READ")]))
                .errorCode, "AccessDenied")
        XCTAssertEqual(try gw.metadata.object(bucket: "pab", key: "src")?.acl, "")
    }

    /// DeleteBucketOwnershipControls leaves no setting (GET: 404) and the bucket behaving as
    /// S3's buckets without one: ObjectWriter, ACLs applied; it does not turn ACLs off behind
    /// PutBucketOwnershipControls' InvalidBucketAclWithObjectOwnership check.
    func testDeletedOwnershipControlsBehaveAsObjectWriter() throws {
        aclBucket()
        let alice = gw.addUser(TenantRecord.defaultID, "alice", ["s3:*": ["*"]])
        XCTAssertEqual(gw.send("PUT", "/acls?acl", headers: [("x-amz-acl", "authenticated-read")]).status, 200)
        XCTAssertEqual(gw.send("DELETE", "/acls?ownershipControls").status, 204)
        XCTAssertEqual(gw.send("GET", "/acls?ownershipControls").errorCode, "OwnershipControlsNotFoundError")
        XCTAssertEqual(try gw.metadata.bucket(named: "acls")?.ownership, ObjectOwnership.deleted)
        // The bucket ACL still applies and shows; writers own what they write.
        XCTAssertEqual(grants("/acls?acl").grants.count, 2)
        XCTAssertEqual(gw.send(as: alice, "PUT", "/acls/a", body: [1]).status, 200)
        XCTAssertEqual(try gw.metadata.object(bucket: "acls", key: "a")?.owner, alice.userID)
        XCTAssertEqual(
            gw.send("PUT", "/acls/b", body: [1], headers: [("x-amz-grant-read", "id=\"\(alice.userID)\"")]).status,
            200)
        XCTAssertEqual(grants("/acls/b?acl").grants, ["\(alice.userID) READ"])
        XCTAssertEqual(ObjectOwnership(stored: ObjectOwnership.deleted), .objectWriter)
        XCTAssertEqual(ObjectOwnership(stored: ""), .bucketOwnerEnforced)
        XCTAssertNil(ObjectOwnership(rawValue: ObjectOwnership.deleted))
        // Enforcing still needs a private bucket ACL first.
        let enforce = Array(
            "<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"
                .utf8)
        XCTAssertEqual(
            gw.send("PUT", "/acls?ownershipControls", body: enforce).errorCode, "InvalidBucketAclWithObjectOwnership")
    }

    /// More than 100 grants (S3's limit) is MalformedACLError, in headers or XML, before any
    /// canonical id is looked up (an unknown one among them is not what is reported).
    func testAtMostOneHundredGrants() throws {
        aclBucket()
        let root = gw.rootID
        let many = (0..<101).map { _ in "id=\"\(root)\"" }.joined(separator: ",")
        let unknown = "id=\"0123abc\"," + (0..<100).map { _ in "uri=\"\(Self.allUsersURI)\"" }.joined(separator: ",")
        for path in ["/acls?acl", "/acls/src?acl"] {
            XCTAssertEqual(gw.send("PUT", path, headers: [("x-amz-grant-read", many)]).errorCode, "MalformedACLError")
            XCTAssertEqual(
                gw.send("PUT", path, headers: [("x-amz-grant-read", unknown)]).errorCode, "MalformedACLError")
            let split = [
                ("x-amz-grant-read", (0..<50).map { _ in "id=\(root)" }.joined(separator: ",")),
                ("x-amz-grant-write-acp", (0..<51).map { _ in "id=\(root)" }.joined(separator: ",")),
            ]
            XCTAssertEqual(gw.send("PUT", path, headers: split).errorCode, "MalformedACLError")
            let xml = policyXML(owner: root, [("0123abc", "READ")] + (0..<100).map { _ in (root, "READ") })
            XCTAssertEqual(gw.send("PUT", path, body: xml).errorCode, "MalformedACLError")
            // One hundred is fine.
            let hundred = policyXML(owner: root, (0..<100).map { _ in (root, "READ") })
            XCTAssertEqual(gw.send("PUT", path, body: hundred).status, 200, path)
        }
        XCTAssertEqual(
            gw.send("PUT", "/acls/new", body: [1], headers: [("x-amz-grant-read", many)]).errorCode, "MalformedACLError"
        )
    }

    /// PutObjectAcl without a versionId sets the ACL of the version it was computed for.
    func testObjectACLGoesToTheVersionItWasComputedFor() throws {
        aclBucket()
        XCTAssertEqual(
            gw.send(
                "PUT", "/acls?versioning",
                body: Array("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>".utf8)
            ).status, 200)
        let first = try XCTUnwrap(gw.send("PUT", "/acls/v", body: [1]).header("x-amz-version-id"))
        // Another version becomes the latest between the read the ACL is computed from (the
        // router's, which the handler keeps) and the write.
        final class Box: @unchecked Sendable {
            var gw: TestGateway!
            var second: String?
        }
        let box = Box()
        box.gw = gw
        gw.metadata.onceAfterObjectRead { _, _ in
            box.second = box.gw.send("PUT", "/acls/v", body: [2]).header("x-amz-version-id")
        }
        XCTAssertEqual(gw.send("PUT", "/acls/v?acl", headers: [("x-amz-acl", "public-read")]).status, 200)
        let second = box.second
        let newer = try XCTUnwrap(second)
        XCTAssertEqual(grants("/acls/v?acl&versionId=\(first)").grants.count, 2)
        XCTAssertEqual(grants("/acls/v?acl&versionId=\(newer)").grants.count, 1, "the newer version is unchanged")
        let audit = try XCTUnwrap(changes("object.acl").last)
        XCTAssert(audit.detail.contains("\"version_id\":\"\(first)\""), audit.detail)
    }

    /// Under BucketOwnerEnforced a Put*Acl of `private` (what s3cmd sends back) is accepted and
    /// changes nothing: object grants kept from when ACLs applied stay for when they apply again.
    func testPrivateACLUnderEnforcedKeepsStoredGrants() throws {
        aclBucket()
        XCTAssertEqual(gw.send("PUT", "/acls/pub", body: [1], headers: [("x-amz-acl", "public-read")]).status, 200)
        let kept = try XCTUnwrap(gw.metadata.object(bucket: "acls", key: "pub")?.acl)
        let enforce = { (o: String) in
            Array("<OwnershipControls><Rule><ObjectOwnership>\(o)</ObjectOwnership></Rule></OwnershipControls>".utf8)
        }
        XCTAssertEqual(gw.send("PUT", "/acls?ownershipControls", body: enforce("BucketOwnerEnforced")).status, 200)
        let before = changes("object.acl").count
        XCTAssertEqual(gw.send("PUT", "/acls/pub?acl", headers: [("x-amz-acl", "private")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/acls/pub?acl", body: gw.send("GET", "/acls/pub?acl").body).status, 200)
        XCTAssertEqual(try gw.metadata.object(bucket: "acls", key: "pub")?.acl, kept)
        XCTAssertEqual(changes("object.acl").count, before)
        XCTAssertEqual(gw.send("PUT", "/acls?ownershipControls", body: enforce("ObjectWriter")).status, 200)
        XCTAssertEqual(grants("/acls/pub?acl").grants.count, 2)
    }

    /// bucket.create records the new bucket's ownership, public access block and grants;
    /// object.put and upload.complete the object's owner and grants when it has them.
    func testAuditRecordsOwnershipAndGrants() throws {
        gw = TestGateway(configure: {
            $0.accessDefaults = AccessDefaults(objectOwnership: "ObjectWriter", blockPublicAccess: false)
        })
        XCTAssertEqual(gw.send("PUT", "/pub", headers: [("x-amz-acl", "public-read")]).status, 200)
        let create = try XCTUnwrap(changes("bucket.create").last).detail
        XCTAssert(create.contains("\"object_ownership\":\"ObjectWriter\""), create)
        XCTAssert(create.contains("\"grants\":\"FULL_CONTROL=u:\(gw.rootID),READ=g:AllUsers\""), create)
        XCTAssertFalse(create.contains("public_access_block"), create)
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/bkt").status, 200)
        let defaults = try XCTUnwrap(changes("bucket.create").last).detail
        XCTAssert(defaults.contains("\"object_ownership\":\"BucketOwnerEnforced\""), defaults)
        XCTAssert(defaults.contains("\"public_access_block\":\"1111\""), defaults)

        aclBucket()
        let alice = gw.addUser(TenantRecord.defaultID, "alice", ["s3:*": ["*"]])
        XCTAssertEqual(
            gw.send(as: alice, "PUT", "/acls/k", body: [1], headers: [("x-amz-acl", "authenticated-read")]).status,
            200)
        let put = try XCTUnwrap(changes("object.put").last).detail
        XCTAssert(put.contains("\"owner\":\"\(alice.userID)\""), put)
        XCTAssert(put.contains("READ=g:AuthenticatedUsers"), put)
        XCTAssertEqual(gw.send("PUT", "/acls/plain", body: [1]).status, 200)
        let plain = try XCTUnwrap(changes("object.put").last).detail
        XCTAssertFalse(plain.contains("owner") || plain.contains("grants"), plain)
        let id = between(
            gw.send(as: alice, "POST", "/acls/m?uploads", headers: [("x-amz-acl", "public-read")]).text, "<UploadId>",
            "<"
        ).first!
        let part = gw.send(as: alice, "PUT", "/acls/m?partNumber=1&uploadId=\(id)", body: [1, 2])
        let etag = try XCTUnwrap(part.header("etag"))
        let complete = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part>"
        XCTAssertEqual(
            gw.send(
                as: alice, "POST", "/acls/m?uploadId=\(id)",
                body: Array((complete + "</CompleteMultipartUpload>").utf8)
            ).status, 200)
        let done = try XCTUnwrap(changes("upload.complete").last).detail
        XCTAssert(done.contains("\"owner\":\"\(alice.userID)\""), done)
        XCTAssert(done.contains("READ=g:AllUsers"), done)
    }

    /// Another tenant's writer let in by a bucket WRITE grant starts an upload: it may list the
    /// parts and abort it (S3: the initiator may), another user of its tenant may not; listings
    /// show it as the Initiator, and the object's owner as Owner (the bucket owner under
    /// BucketOwnerEnforced, whoever initiated).
    func testTheInitiatorMayListPartsAndAbortItsUpload() throws {
        aclBucket()
        let globex = gw.addUser("globex", "writer", ["s3:*": ["*"]])
        let other = gw.addUser("globex", "other", ["s3:*": ["*"]])
        XCTAssertEqual(
            gw.send(
                "PUT", "/acls?acl",
                headers: [
                    ("x-amz-grant-full-control", "id=\"\(gw.rootID)\""),
                    ("x-amz-grant-write", "id=\"\(globex.userID)\", id=\"\(other.userID)\""),
                ]
            ).status, 200)
        let start = gw.send(as: globex, "POST", "/default:acls/m?uploads")
        XCTAssertEqual(start.status, 200, start.text)
        let id = try XCTUnwrap(between(start.text, "<UploadId>", "<").first)
        XCTAssertEqual(try gw.metadata.upload(id: id)?.initiator, globex.userID)
        XCTAssertEqual(gw.send(as: globex, "PUT", "/default:acls/m?partNumber=1&uploadId=\(id)", body: [1]).status, 200)
        XCTAssertEqual(gw.send(as: other, "GET", "/default:acls/m?uploadId=\(id)").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: other, "DELETE", "/default:acls/m?uploadId=\(id)").errorCode, "AccessDenied")
        let parts = gw.send(as: globex, "GET", "/default:acls/m?uploadId=\(id)")
        XCTAssertEqual(parts.status, 200, parts.text)
        XCTAssert(parts.text.contains("<Initiator><ID>\(globex.userID)</ID>"), parts.text)
        XCTAssert(parts.text.contains("<Owner><ID>\(globex.userID)</ID>"), parts.text)
        XCTAssert(parts.text.contains("<PartNumber>1</PartNumber>"), parts.text)
        let listed = gw.send("GET", "/acls?uploads").text
        XCTAssert(listed.contains("<Initiator><ID>\(globex.userID)</ID>"), listed)
        // A Deny in the bucket policy still wins over the initiator's right.
        let deny = Array(
            """
            {"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",\
            "Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::acls/*"}]}
            """.utf8)
        XCTAssertEqual(gw.send("PUT", "/acls?policy", body: deny).status, 204)
        XCTAssertEqual(gw.send(as: globex, "DELETE", "/default:acls/m?uploadId=\(id)").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("DELETE", "/acls?policy").status, 204)
        XCTAssertEqual(gw.send(as: globex, "DELETE", "/default:acls/m?uploadId=\(id)").status, 204)
        XCTAssertNil(try gw.metadata.upload(id: id))

        // Under BucketOwnerEnforced the object will be the bucket owner's: Owner shows it.
        XCTAssertEqual(gw.send("PUT", "/enforced").status, 200)
        let alice = gw.addUser(TenantRecord.defaultID, "alice", ["s3:*": ["*"]])
        let started = gw.send(as: alice, "POST", "/enforced/e?uploads")
        let eid = try XCTUnwrap(between(started.text, "<UploadId>", "<").first)
        let uploads = gw.send("GET", "/enforced?uploads").text
        XCTAssert(uploads.contains("<Initiator><ID>\(alice.userID)</ID>"), uploads)
        XCTAssert(uploads.contains("<Owner><ID>\(gw.rootID)</ID>"), uploads)
        XCTAssertEqual(try gw.metadata.upload(id: eid)?.owner, "")
    }
}
