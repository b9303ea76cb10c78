import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import XCTest

@testable import Gateway

/// Tenants, users and permissions on the S3 request path: each tenant sees only its own
/// buckets, a request without the permission is AccessDenied with nothing stored, and Owner
/// elements name the user.
final class TenantIsolationTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() { gw = TestGateway() }

    let everything: [String: [String]] = ["s3:*": ["*"]]

    // MARK: - Namespaces

    func testTwoTenantsEachOwnPhotosWithTheirOwnBytes() throws {
        let acme = gw.addUser("acme", "admin", everything)
        let globex = gw.addUser("globex", "admin", everything)
        XCTAssertEqual(gw.send(as: acme, "PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send(as: globex, "PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send(as: acme, "PUT", "/photos/cat.jpg", body: Array("acme's cat".utf8)).status, 200)
        XCTAssertEqual(gw.send(as: globex, "PUT", "/photos/cat.jpg", body: Array("globex's cat".utf8)).status, 200)

        XCTAssertEqual(gw.send(as: acme, "GET", "/photos/cat.jpg").text, "acme's cat")
        XCTAssertEqual(gw.send(as: globex, "GET", "/photos/cat.jpg").text, "globex's cat")
        // Two buckets in the store, each in its tenant, with different backend buckets.
        let a = try XCTUnwrap(gw.metadata.bucket(named: "acme/photos"))
        let g = try XCTUnwrap(gw.metadata.bucket(named: "globex/photos"))
        XCTAssertEqual([a.tenant, g.tenant], ["acme", "globex"])
        XCTAssertEqual([a.displayName, g.displayName], ["photos", "photos"])
        XCTAssertNotEqual(a.backendBucket, g.backendBucket)
        // The default tenant has no photos: the root key sees neither.
        XCTAssertEqual(gw.send("GET", "/photos/cat.jpg").errorCode, "NoSuchBucket")
        XCTAssertEqual(gw.send("PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send("GET", "/photos/cat.jpg").errorCode, "NoSuchKey")
        // Each one's listing holds only its own object's size.
        XCTAssert(gw.send(as: acme, "GET", "/photos?list-type=2").text.contains("<Size>10</Size>"))
        XCTAssert(gw.send(as: globex, "GET", "/photos?list-type=2").text.contains("<Size>12</Size>"))
    }

    func testListBucketsShowsTheTenantsBucketsTheCallersPatternsMatch() {
        let acme = gw.addUser("acme", "admin", everything)
        let globex = gw.addUser("globex", "admin", everything)
        for name in ["photos", "photos-2025", "logs"] {
            XCTAssertEqual(gw.send(as: acme, "PUT", "/" + name).status, 200)
        }
        XCTAssertEqual(gw.send(as: globex, "PUT", "/globex-only").status, 200)
        XCTAssertEqual(gw.send("PUT", "/root-only").status, 200)

        XCTAssertEqual(names(gw.send(as: acme, "GET", "/")), ["logs", "photos", "photos-2025"])
        XCTAssertEqual(names(gw.send(as: globex, "GET", "/")), ["globex-only"])
        XCTAssertEqual(names(gw.send("GET", "/")), ["root-only"])
        let picky = gw.addUser("acme", "picky", ["s3:ListAllMyBuckets": ["photos*"]])
        XCTAssertEqual(names(gw.send(as: picky, "GET", "/")), ["photos", "photos-2025"])
        let none = gw.addUser("acme", "none", ["s3:GetObject": ["*"]])
        XCTAssertEqual(gw.send(as: none, "GET", "/").errorCode, "AccessDenied")
    }

    func testAnotherTenantsBucketIsNoSuchBucketAndItsObjectsAreNeverRead() {
        let acme = gw.addUser("acme", "admin", everything)
        let globex = gw.addUser("globex", "admin", everything)
        gw.send(as: acme, "PUT", "/photos")
        gw.send(as: acme, "PUT", "/photos/cat.jpg", body: Array("acme's cat".utf8))
        let upload = between(gw.send(as: acme, "POST", "/photos/big?uploads").text, "<UploadId>", "</UploadId>")
        XCTAssertFalse(upload.isEmpty)
        XCTAssertEqual(gw.send("PUT", "/shared").status, 200)

        // Every way of reading acme's bucket, by globex and by the default tenant's root; with
        // the name percent-encoded as the store's qualified name, too.
        for (key, secret) in [(globex.accessKey, globex.secret), (TestGateway.accessKey, TestGateway.secretKey)] {
            for bucket in ["photos", "acme%2Fphotos"] {
                for (method, uri) in [
                    ("GET", "/\(bucket)/cat.jpg"), ("HEAD", "/\(bucket)/cat.jpg"),
                    ("GET", "/\(bucket)/cat.jpg?tagging"),
                    ("GET", "/\(bucket)/cat.jpg?acl"), ("GET", "/\(bucket)?list-type=2"), ("GET", "/\(bucket)"),
                    ("GET", "/\(bucket)?uploads"), ("GET", "/\(bucket)?versions"), ("GET", "/\(bucket)?location"),
                    ("GET", "/\(bucket)?acl"), ("GET", "/\(bucket)?tagging"), ("HEAD", "/\(bucket)"),
                    ("GET", "/\(bucket)/big?uploadId=\(upload)"), ("DELETE", "/\(bucket)/cat.jpg"),
                    ("DELETE", "/\(bucket)"), ("PUT", "/\(bucket)/cat.jpg?tagging"),
                    ("DELETE", "/\(bucket)/big?uploadId=\(upload)"),
                ] {
                    let r = gw.send(method, uri, accessKey: key, secret: secret)
                    XCTAssertEqual(r.status, 404, "\(key) \(method) \(uri): \(r.text)")
                    XCTAssertFalse(r.text.contains("acme's cat"))
                    if method != "HEAD" { XCTAssertEqual(r.errorCode, "NoSuchBucket", "\(key) \(method) \(uri)") }
                }
                // As a copy source, into a bucket of the caller's own.
                let own = key == globex.accessKey ? "/mine" : "/shared"
                gw.send("PUT", own, accessKey: key, secret: secret)
                let copy = gw.send(
                    "PUT", own + "/stolen", headers: [("x-amz-copy-source", "/\(bucket)/cat.jpg")], accessKey: key,
                    secret: secret)
                XCTAssertEqual(copy.errorCode, "NoSuchBucket", "\(key) copy from \(bucket)")
                XCTAssertEqual(gw.send("GET", own + "/stolen", accessKey: key, secret: secret).errorCode, "NoSuchKey")
            }
        }
        // And acme cannot reach into the default tenant either.
        XCTAssertEqual(gw.send(as: acme, "GET", "/shared?list-type=2").errorCode, "NoSuchBucket")
        // Nothing of acme's moved.
        XCTAssertEqual(gw.send(as: acme, "GET", "/photos/cat.jpg").text, "acme's cat")
        XCTAssertEqual(try gw.metadata.upload(id: upload)?.key, "big")
    }

    func testCreateBucketOfAnOwnNameIsAlreadyOwnedByYou() throws {
        let acme = gw.addUser("acme", "admin", everything)
        let other = gw.addUser("acme", "other", ["s3:CreateBucket": ["*"]])
        let globex = gw.addUser("globex", "admin", everything)
        XCTAssertEqual(gw.send(as: acme, "PUT", "/photos").status, 200)
        let again = gw.send(as: acme, "PUT", "/photos")
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.errorCode, "BucketAlreadyOwnedByYou")
        // Any user of the tenant: the name is the tenant's.
        XCTAssertEqual(gw.send(as: other, "PUT", "/photos").errorCode, "BucketAlreadyOwnedByYou")
        XCTAssertEqual(try gw.metadata.bucket(named: "acme/photos")?.owner, acme.userID)
        // Another tenant's namespace is its own.
        XCTAssertEqual(gw.send(as: globex, "PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send(as: acme, "PUT", "/acme%2Fphotos").errorCode, "InvalidBucketName")
    }

    // MARK: - Permissions

    /// The tenant's state that any request could change: buckets (with tags), objects (with tags),
    /// uploads and the zone's blobs.
    func snapshot() throws -> String {
        var out: [String] = []
        for b in try gw.metadata.allBuckets(after: "", limit: 1000) {
            out.append("\(b)")
            out += try gw.metadata.listObjects(bucket: b.name, query: ListQuery()).objects.map { "\($0)" }
            out += try gw.metadata.uploads(bucket: b.name, prefix: "", keyMarker: "", uploadIdMarker: "", limit: 1000)
                .map { "\($0)" }
        }
        out.append("blobs \(gw.zone.blobCount) buckets \(try gw.zone.listBackendBuckets())")
        return out.joined(separator: "\n")
    }

    /// Every routed S3 operation, tried by users who lack its permission: AccessDenied, and
    /// nothing stored, changed or removed.
    func testEveryRouteIsDeniedWithoutItsPermission() throws {
        let acme = gw.addUser("acme", "admin", everything)
        gw.send(as: acme, "PUT", "/photos")
        gw.send(as: acme, "PUT", "/photos/k", body: Array("original".utf8))
        let upload = between(gw.send(as: acme, "POST", "/photos/k?uploads").text, "<UploadId>", "</UploadId>")
        XCTAssertEqual(gw.send(as: acme, "PUT", "/photos/k?partNumber=1&uploadId=\(upload)", body: [1, 2]).status, 200)
        let before = try snapshot()

        let tagging = Array("<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>".utf8)
        let nobody = gw.addUser("acme", "nobody", [:])
        let elsewhere = gw.addUser("acme", "elsewhere", ["s3:*": ["other", "photos/k2", "photo"]])
        let readOnly = gw.addUser("acme", "reader", ["s3:Get*": ["*"], "s3:List*": ["*"]])
        var tried = 0
        for route in S3Router.routes {
            guard let action = route.action else { continue }
            var uri: String
            switch route.level {
            case .service: uri = "/"
            case .bucket: uri = "/photos"
            case .object: uri = "/photos/k"
            }
            if let sub = route.subresource {
                uri += sub == "uploadId" ? "?partNumber=1&uploadId=\(upload)" : "?\(sub)"
            }
            let body: [UInt8] =
                route.subresource == "tagging" ? tagging : route.method == "PUT" && route.level == .object ? [9] : []
            // ListBuckets lists what the patterns match (nothing, for these two) rather than refusing.
            let users =
                route.level == .service
                ? [nobody]
                : [nobody, elsewhere] + (action.hasPrefix("s3:Get") || action.hasPrefix("s3:List") ? [] : [readOnly])
            for user in users {
                let r = gw.send(as: user, route.method, uri, body: body)
                XCTAssertEqual(r.status, 403, "\(user.name): \(route.method) \(uri) (\(action)): \(r.text)")
                if route.method != "HEAD" {
                    XCTAssertEqual(r.errorCode, "AccessDenied", "\(user.name): \(route.method) \(uri)")
                }
                tried += 1
            }
        }
        XCTAssertGreaterThan(tried, 100)
        // The copy and create forms, and a multipart completion with a real part list.
        for user in [nobody, elsewhere, readOnly] {
            let copy = gw.send(as: user, "PUT", "/photos/k2", headers: [("x-amz-copy-source", "/photos/k")])
            XCTAssertEqual(copy.errorCode, "AccessDenied", user.name)
            XCTAssertEqual(gw.send(as: user, "PUT", "/fresh").errorCode, "AccessDenied", user.name)
            let parts = Array(
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"
                    .utf8)
            XCTAssertEqual(
                gw.send(as: user, "POST", "/photos/k?uploadId=\(upload)", body: parts).errorCode, "AccessDenied")
            XCTAssertEqual(
                gw.send(as: user, "PUT", "/photos/k?tagging", body: tagging, headers: []).errorCode, "AccessDenied")
        }
        XCTAssertEqual(try snapshot(), before)
        XCTAssertEqual(gw.send(as: acme, "GET", "/photos/k").text, "original")
    }

    /// A sub-resource the gateway does not implement is NotImplemented once the bucket exists; a
    /// missing bucket is NoSuchBucket first, to every caller (S3 tells even anonymous callers).
    func testUnimplementedSubresourcesAnswerNoSuchBucketFirst() {
        let admin = gw.addUser("acme", "admin", everything)
        gw.send(as: admin, "PUT", "/photos")
        XCTAssertEqual(gw.send(as: admin, "GET", "/photos?analytics").status, 501)
        XCTAssertEqual(gw.send(as: admin, "GET", "/nothing?analytics").errorCode, "NoSuchBucket")
        let outsider = gw.addUser("acme", "outsider", ["s3:GetObject": ["logs"]])
        XCTAssertEqual(gw.send(as: outsider, "GET", "/photos?analytics").status, 501)
        XCTAssertEqual(gw.send(as: outsider, "GET", "/photos/k?restore").status, 501)
        XCTAssertEqual(gw.send(as: outsider, "GET", "/nothing?analytics").errorCode, "NoSuchBucket")
        XCTAssertEqual(gw.send("GET", "/nothing?analytics", sign: false).errorCode, "NoSuchBucket")
    }

    /// The writer limited to a prefix: what it may do works, the rest is denied.
    func testWriterLimitedToAPrefix() {
        let admin = gw.addUser("acme", "admin", everything)
        gw.send(as: admin, "PUT", "/photos")
        gw.send(as: admin, "PUT", "/photos/top.jpg", body: [1])
        let writer = gw.addUser(
            "acme", "writer",
            [
                "s3:PutObject": ["photos/uploads/*"], "s3:GetObject": ["photos/uploads/*"],
                "s3:ListBucket": ["photos/uploads/*"],
            ])
        XCTAssertEqual(gw.send(as: writer, "PUT", "/photos/uploads/a.jpg", body: [2]).status, 200)
        XCTAssertEqual(gw.send(as: writer, "GET", "/photos/uploads/a.jpg").body, [2])
        let listed = gw.send(as: writer, "GET", "/photos?list-type=2&prefix=uploads/")
        XCTAssertEqual(listed.status, 200, listed.text)
        XCTAssert(listed.text.contains("<Key>uploads/a.jpg</Key>"))
        XCTAssertFalse(listed.text.contains("top.jpg"))
        for (method, uri) in [
            ("GET", "/photos?list-type=2"), ("GET", "/photos?list-type=2&prefix=up"), ("GET", "/photos/top.jpg"),
            ("PUT", "/photos/top.jpg"), ("PUT", "/photos/elsewhere.jpg"), ("DELETE", "/photos/uploads/a.jpg"),
            ("GET", "/"), ("PUT", "/newbucket"), ("DELETE", "/photos"),
        ] {
            XCTAssertEqual(gw.send(as: writer, method, uri, body: [3]).errorCode, "AccessDenied", "\(method) \(uri)")
        }
        XCTAssertEqual(gw.send(as: admin, "GET", "/photos/top.jpg").body, [1])
        XCTAssertEqual(gw.send(as: admin, "GET", "/photos/elsewhere.jpg").errorCode, "NoSuchKey")
        XCTAssertEqual(gw.send(as: admin, "GET", "/photos/uploads/a.jpg").body, [2])
    }

    func testCopyNeedsGetObjectOnTheSource() throws {
        let admin = gw.addUser("acme", "admin", everything)
        gw.send(as: admin, "PUT", "/photos")
        gw.send(as: admin, "PUT", "/photos/secret/plan", body: Array("secret".utf8))
        gw.send(as: admin, "PUT", "/photos/public/a", body: Array("public".utf8))
        let copier = gw.addUser(
            "acme", "copier", ["s3:PutObject": ["photos/*"], "s3:GetObject": ["photos/public/*"]])
        let denied = gw.send(as: copier, "PUT", "/photos/mine", headers: [("x-amz-copy-source", "photos/secret/plan")])
        XCTAssertEqual(denied.errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "acme/photos", key: "mine"))
        let allowed = gw.send(as: copier, "PUT", "/photos/mine", headers: [("x-amz-copy-source", "photos/public/a")])
        XCTAssertEqual(allowed.status, 200, allowed.text)
        XCTAssertEqual(gw.send(as: admin, "GET", "/photos/mine").text, "public")

        // UploadPartCopy: the same rule, and the upload keeps no part.
        let upload = between(gw.send(as: copier, "POST", "/photos/big?uploads").text, "<UploadId>", "</UploadId>")
        let part = gw.send(
            as: copier, "PUT", "/photos/big?partNumber=1&uploadId=\(upload)",
            headers: [("x-amz-copy-source", "photos/secret/plan")])
        XCTAssertEqual(part.errorCode, "AccessDenied")
        XCTAssertEqual(try gw.metadata.parts(uploadId: upload, after: 0, limit: 10).count, 0)
        // The destination needs PutObject, whatever the source allows.
        let reader = gw.addUser("acme", "reader", ["s3:GetObject": ["*"]])
        XCTAssertEqual(
            gw.send(as: reader, "PUT", "/photos/copy", headers: [("x-amz-copy-source", "photos/public/a")]).errorCode,
            "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "acme/photos", key: "copy"))
    }

    func testDeleteObjectsReportsAccessDeniedPerKey() throws {
        let admin = gw.addUser("acme", "admin", everything)
        gw.send(as: admin, "PUT", "/photos")
        for k in ["tmp/a", "keep/b"] { gw.send(as: admin, "PUT", "/photos/" + k, body: [1]) }
        let cleaner = gw.addUser("acme", "cleaner", ["s3:DeleteObject": ["photos/tmp/*"]])
        let body = Array(
            "<Delete><Object><Key>tmp/a</Key></Object><Object><Key>keep/b</Key></Object></Delete>".utf8)
        let md5 = Data(Digest.hash(.md5, body)).base64EncodedString()
        let r = gw.send(as: cleaner, "POST", "/photos?delete", body: body, headers: [("content-md5", md5)])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssert(r.text.contains("<Deleted><Key>tmp/a</Key></Deleted>"), r.text)
        XCTAssert(r.text.contains("<Error><Key>keep/b</Key><Code>AccessDenied</Code>"), r.text)
        XCTAssertNil(try gw.metadata.object(bucket: "acme/photos", key: "tmp/a"))
        XCTAssertNotNil(try gw.metadata.object(bucket: "acme/photos", key: "keep/b"))
        // Another tenant's bucket of the same name is not there for it.
        let globex = gw.addUser("globex", "admin", everything)
        let other = gw.send(as: globex, "POST", "/photos?delete", body: body, headers: [("content-md5", md5)])
        XCTAssertEqual(other.errorCode, "NoSuchBucket")
        XCTAssertNotNil(try gw.metadata.object(bucket: "acme/photos", key: "keep/b"))
    }

    /// A browser POST form is authorized as the user who signed its policy: that user's tenant
    /// names the bucket and that user's permissions decide.
    func testPostFormIsAuthorizedAsItsSigner() throws {
        let acme = gw.addUser("acme", "admin", everything)
        let globex = gw.addUser("globex", "admin", everything)
        gw.send(as: acme, "PUT", "/photos")
        gw.send(as: globex, "PUT", "/photos")
        let uploader = gw.addUser("acme", "uploader", ["s3:PutObject": ["photos/uploads/*"]])

        XCTAssertEqual(postForm(uploader, bucket: "photos", key: "uploads/a.jpg", file: "form bytes").status, 204)
        XCTAssertEqual(gw.send(as: acme, "GET", "/photos/uploads/a.jpg").text, "form bytes")
        XCTAssertEqual(gw.send(as: globex, "GET", "/photos/uploads/a.jpg").errorCode, "NoSuchKey")

        let before = try snapshot()
        XCTAssertEqual(postForm(uploader, bucket: "photos", key: "top.jpg", file: "x").errorCode, "AccessDenied")
        // A root-signed request carrying the uploader's form is still the uploader's.
        XCTAssertEqual(
            postForm(uploader, bucket: "photos", key: "top.jpg", file: "x", signRequest: true).errorCode,
            "AccessDenied")
        XCTAssertEqual(postForm(uploader, bucket: "nope", key: "uploads/b", file: "x").errorCode, "NoSuchBucket")
        try gw.identityStore.setCredentialStatus(accessKey: uploader.accessKey, .inactive)
        XCTAssertEqual(
            postForm(uploader, bucket: "photos", key: "uploads/c", file: "x").errorCode, "InvalidAccessKeyId")
        XCTAssertEqual(try snapshot(), before)
        // globex's form lands in globex's photos.
        XCTAssertEqual(postForm(globex, bucket: "photos", key: "g", file: "globex form").status, 204)
        XCTAssertEqual(gw.send(as: globex, "GET", "/photos/g").text, "globex form")
        XCTAssertEqual(gw.send(as: acme, "GET", "/photos/g").errorCode, "NoSuchKey")
    }

    // MARK: - Owners

    func testOwnerElementsNameTheUser() throws {
        let alice = gw.addUser("acme", "alice", everything)
        gw.send(as: alice, "PUT", "/photos")
        gw.send(as: alice, "PUT", "/photos/k", body: [1])
        gw.send(as: alice, "POST", "/photos/big?uploads")
        let owner = "<ID>\(alice.userID)</ID><DisplayName>alice</DisplayName>"
        XCTAssertNotEqual(alice.userID, gw.rootID)
        for uri in [
            "/photos?acl", "/photos/k?acl", "/photos", "/photos?list-type=2&fetch-owner=true", "/", "/photos?uploads",
            "/photos?versions",
        ] {
            let r = gw.send(as: alice, "GET", uri)
            XCTAssertEqual(r.status, 200, "\(uri): \(r.text)")
            XCTAssert(r.text.contains("<Owner>\(owner)</Owner>"), "\(uri): \(r.text)")
        }
        XCTAssert(gw.send(as: alice, "GET", "/photos?acl").text.contains(owner + "</Grantee>"))
        XCTAssert(gw.send(as: alice, "GET", "/photos?uploads").text.contains("<Initiator>\(owner)</Initiator>"))
        XCTAssertFalse(gw.send(as: alice, "GET", "/photos?list-type=2").text.contains("<Owner>"))
        // The root user's own buckets show the root user.
        gw.send("PUT", "/rootbucket")
        XCTAssert(
            gw.send("GET", "/rootbucket?acl").text.contains("<ID>\(gw.rootID)</ID><DisplayName>root</DisplayName>"))
    }

    // MARK: - Key and permission changes

    func testDeactivatedDeletedOrChangedKeysTakeEffectOnTheNextRequest() throws {
        let admin = gw.addUser("acme", "admin", everything)
        gw.send(as: admin, "PUT", "/photos")
        let user = gw.addUser("acme", "user", ["s3:GetObject": ["*"], "s3:PutObject": ["*"]])
        XCTAssertEqual(gw.send(as: user, "PUT", "/photos/a", body: [1]).status, 200)

        try gw.identityStore.setCredentialStatus(accessKey: user.accessKey, .inactive)
        let inactive = gw.send(as: user, "GET", "/photos/a")
        XCTAssertEqual(inactive.status, 403)
        XCTAssertEqual(inactive.errorCode, "InvalidAccessKeyId")
        XCTAssertEqual(gw.send(as: user, "PUT", "/photos/b", body: [1]).errorCode, "InvalidAccessKeyId")
        XCTAssertNil(try gw.metadata.object(bucket: "acme/photos", key: "b"))
        try gw.identityStore.setCredentialStatus(accessKey: user.accessKey, .active)
        XCTAssertEqual(gw.send(as: user, "GET", "/photos/a").body, [1])

        // Narrowed permissions: the next request is judged by them.
        try gw.identityStore.setPermissions(tenant: "acme", user: "user", PermissionSet(["s3:GetObject": ["*"]]))
        XCTAssertEqual(gw.send(as: user, "PUT", "/photos/c", body: [1]).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: user, "GET", "/photos/a").body, [1])

        // A second key of the same user works alongside; deleting one leaves the other.
        let second = gw.addKey(tenant: "acme", user: "user")
        XCTAssertEqual(gw.send(as: second, "GET", "/photos/a").body, [1])
        try gw.identityStore.deleteCredential(accessKey: user.accessKey)
        XCTAssertEqual(gw.send(as: user, "GET", "/photos/a").errorCode, "InvalidAccessKeyId")
        XCTAssertEqual(gw.send(as: second, "GET", "/photos/a").body, [1])
        // A deleted user's keys are gone with it.
        try gw.identityStore.deleteUser(tenant: "acme", name: "user")
        XCTAssertEqual(gw.send(as: second, "GET", "/photos/a").errorCode, "InvalidAccessKeyId")
    }

    /// Temporary credentials: the session policy narrows every route, ListBuckets included.
    func testSessionPolicyNarrowsEveryRouteAndListBuckets() throws {
        let admin = gw.addUser("acme", "admin", everything)
        for name in ["photos", "logs"] { gw.send(as: admin, "PUT", "/" + name) }
        gw.send(as: admin, "PUT", "/photos/a", body: [1])
        let getOnly = gw.addSession(
            of: admin, policy: #"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#)
        XCTAssertEqual(gw.send(as: getOnly, "GET", "/photos/a").body, [1])
        XCTAssertEqual(gw.send(as: getOnly, "GET", "/").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: getOnly, "PUT", "/photos/b", body: [2]).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "acme/photos", key: "b"))
        let listsPhotos = gw.addSession(
            of: admin,
            policy: #"{"Statement": {"Effect": "Allow", "Action": "s3:List*", "Resource": "arn:aws:s3:::photos"}}"#)
        XCTAssertEqual(names(gw.send(as: listsPhotos, "GET", "/")), ["photos"])
        XCTAssertEqual(gw.send(as: listsPhotos, "GET", "/logs?list-type=2").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: listsPhotos, "GET", "/photos/a").errorCode, "AccessDenied")
        // Without its token, or with another, the session key is refused.
        var tokenless = listsPhotos
        tokenless.token = nil
        XCTAssertEqual(gw.send(as: tokenless, "GET", "/").errorCode, "InvalidToken")
        tokenless.token = "forged"
        XCTAssertEqual(gw.send(as: tokenless, "GET", "/").errorCode, "InvalidToken")
    }

    // MARK: - Helpers

    func names(_ r: TestGateway.Response) -> [String] {
        r.text.components(separatedBy: "<Name>").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    func between(_ s: String, _ a: String, _ b: String) -> String {
        guard let r = s.range(of: a), let e = s.range(of: b, range: r.upperBound..<s.endIndex) else { return "" }
        return String(s[r.upperBound..<e.lowerBound])
    }

    /// A browser POST form whose policy is signed (SigV4) by `key`; the request itself is
    /// anonymous unless `signRequest` (then the root key signs it).
    func postForm(
        _ key: TestGateway.UserKey, bucket: String, key objectKey: String, file: String, signRequest: Bool = false
    ) -> TestGateway.Response {
        let date = String(TestGateway.amzDate.prefix(8))
        let credential = "\(key.accessKey)/\(date)/us-east-1/s3/aws4_request"
        let json = """
            {"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bucket": "\(bucket)"}, ["starts-with", "$key", ""],
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": "\(credential)"}, {"x-amz-date": "\(TestGateway.amzDate)"}]}
            """
        let policy = Data(json.utf8).base64EncodedString()
        let signingKey = Signer.signingKey(secret: key.secret, date: date, region: "us-east-1", service: "s3")
        let fields = [
            ("key", objectKey), ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
            ("x-amz-date", TestGateway.amzDate), ("policy", policy),
            ("x-amz-signature", Signer.signature(signingKey: signingKey, stringToSign: policy)),
        ]
        let boundary = "----tenants"
        var body = ""
        for (name, value) in fields {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n\(file)\r\n"
        body += "--\(boundary)--\r\n"
        return gw.send(
            "POST", "/" + bucket, body: Array(body.utf8),
            headers: [("content-type", "multipart/form-data; boundary=\(boundary)")], sign: signRequest)
    }
}

extension TestGateway {
    /// A key pair of a user created directly in the identity store.
    struct UserKey {
        let accessKey: String
        let secret: String
        let name: String
        let userID: String
        /// Temporary credentials only: the session token sent with each request.
        var token: String? = nil
    }

    /// A user of `tenant` (created too when missing) with `rules`, and one active key.
    func addUser(_ tenant: String, _ name: String, _ rules: [String: [String]]) -> UserKey {
        if try! identityStore.tenant(id: tenant) == nil {
            try! identityStore.createTenant(TenantRecord(id: tenant, displayName: tenant, createdAt: Self.now))
        }
        try! identityStore.createUser(
            UserRecord(
                tenant: tenant, name: name, id: CanonicalID.make(), permissions: PermissionSet(rules),
                createdAt: Self.now))
        return addKey(tenant: tenant, user: name)
    }

    /// Another active key of an existing user, its secret sealed as the admin API seals it.
    func addKey(tenant: String, user: String) -> UserKey {
        let (accessKey, secret) = NewCredential.make()
        try! identityStore.createCredential(
            CredentialRecord(
                accessKey: accessKey, tenant: tenant, user: user,
                sealedSecret: Self.box.seal(secret, context: accessKey),
                createdAt: Self.now),
            maxKeysPerUser: 2)
        let u = try! identityStore.user(tenant: tenant, name: user)!
        return UserKey(accessKey: accessKey, secret: secret, name: user, userID: u.id)
    }

    /// Temporary credentials of `parent`'s user narrowed by `policy`, valid for an hour, as the
    /// gateway's STS stores them.
    func addSession(of parent: UserKey, policy: String?) -> UserKey {
        let (accessKey, secret) = NewCredential.make(prefix: "ASIA")
        let token = NewCredential.random(64, "abcdefghijklmnopqrstuvwxyz0123456789")
        let c = try! identityStore.credential(accessKey: parent.accessKey)!.0
        try! identityStore.createCredential(
            CredentialRecord(
                accessKey: accessKey, tenant: c.tenant, user: c.user,
                sealedSecret: Self.box.seal(secret, context: accessKey), createdAt: Self.now,
                expiresAt: Self.now + 3600, parentKey: parent.accessKey,
                tokenHash: hexEncode(Digest.hash(.sha256, Array(token.utf8))), sessionPolicy: policy),
            maxKeysPerUser: 2)
        return UserKey(accessKey: accessKey, secret: secret, name: parent.name, userID: parent.userID, token: token)
    }

    @discardableResult
    func send(
        as key: UserKey, _ method: String, _ uri: String, body: [UInt8] = [], headers: [(String, String)] = []
    ) -> Response {
        let token = key.token.map { [("x-amz-security-token", $0)] } ?? []
        return send(method, uri, body: body, headers: headers + token, accessKey: key.accessKey, secret: key.secret)
    }
}
