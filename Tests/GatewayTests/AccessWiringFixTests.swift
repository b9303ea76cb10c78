import Foundation
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// The access wiring's review fixes: condition keys each request supplies (per DeleteObjects
/// entry, TLS version, signature age, request tags, conditional headers, the bucket's account),
/// tagged writes needing s3:PutObjectTagging, s3:ExistingObjectTag where the object appears late,
/// a copy source's errors, the owner's view of the operations log, expected bucket owners.
final class AccessWiringFixTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() { gw = TestGateway() }

    func policy(_ statements: String...) -> [UInt8] {
        Array(#"{"Version":"2012-10-17","Statement":[\#(statements.joined(separator: ","))]}"#.utf8)
    }

    func putPolicy(_ bucket: String, _ statements: String...) -> TestGateway.Response {
        gw.send(
            "PUT", "/\(bucket)?policy",
            body: Array(#"{"Version":"2012-10-17","Statement":[\#(statements.joined(separator: ","))]}"#.utf8))
    }

    func md5(_ body: [UInt8]) -> (String, String) {
        ("content-md5", Data(Digest.hash(.md5, body)).base64EncodedString())
    }

    let versioningEnabled = Array(
        #"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#
            .utf8)

    // MARK: 1. DeleteObjects entries carry their s3:VersionId

    func testDeleteObjectsEntryVersionIdIsItsCondition() throws {
        gw.send("PUT", "/ver")
        gw.send("PUT", "/ver?versioning", body: versioningEnabled)
        let first = gw.send("PUT", "/ver/k", body: [1]).header("x-amz-version-id") ?? ""
        let second = gw.send("PUT", "/ver/k", body: [2]).header("x-amz-version-id") ?? ""
        XCTAssertEqual(
            putPolicy(
                "ver",
                #"{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObjectVersion","Resource":"arn:aws:s3:::ver/*","Condition":{"StringEquals":{"s3:VersionId":"\#(first)"}}}"#
            ).status, 204)
        let body = Array(
            "<Delete><Object><Key>k</Key><VersionId>\(first)</VersionId></Object><Object><Key>k</Key><VersionId>\(second)</VersionId></Object></Delete>"
                .utf8)
        let r = gw.send("POST", "/ver?delete", body: body, headers: [md5(body)])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertTrue(r.text.contains("<Error><Key>k</Key><VersionId>\(first)</VersionId><Code>AccessDenied"), r.text)
        XCTAssertTrue(r.text.contains("<Deleted><Key>k</Key><VersionId>\(second)</VersionId>"), r.text)
        XCTAssertNotNil(try gw.metadata.version(bucket: "ver", key: "k", versionId: first))
        XCTAssertNil(try gw.metadata.version(bucket: "ver", key: "k", versionId: second))
    }

    /// NoSuchVersion is for callers who may list the bucket, as NoSuchKey is; the version a
    /// policy's decision read is the one the handler answers with.
    func testMissingVersionIsHiddenFromCallersWhoMayNotList() {
        gw.send("PUT", "/ver")
        gw.send("PUT", "/ver?versioning", body: versioningEnabled)
        let other = gw.send("PUT", "/ver/other", body: [1]).header("x-amz-version-id") ?? ""
        let v =
            gw.send("PUT", "/ver/k", body: Array("v1".utf8), headers: [("x-amz-tagging", "t=1")])
            .header("x-amz-version-id") ?? ""
        let reader = gw.addUser(
            TenantRecord.defaultID, "reader",
            ["s3:GetObjectVersion": ["ver/*"], "s3:GetObjectVersionTagging": ["ver/*"]])
        XCTAssertEqual(gw.send(as: reader, "GET", "/ver/k?versionId=\(other)").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=\(other)").errorCode, "NoSuchVersion")
        // With a policy the decision reads the version; the answer is that version.
        XCTAssertEqual(
            putPolicy(
                "ver",
                #"{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectVersionTagging","Resource":"arn:aws:s3:::ver/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/t":"2"}}}"#
            ).status, 204)
        XCTAssertEqual(gw.send(as: reader, "GET", "/ver/k?versionId=\(v)").text, "v1")
        XCTAssertTrue(gw.send(as: reader, "GET", "/ver/k?tagging&versionId=\(v)").text.contains("<Key>t</Key>"))
        XCTAssertEqual(gw.send(as: reader, "GET", "/ver/k?versionId=\(other)").errorCode, "AccessDenied")
    }

    // MARK: 2. Condition keys PutBucketPolicy accepts have a source

    func testConditionKeysWithoutASourceAreRefused() {
        gw.send("PUT", "/bkt")
        for key in ["s3:LocationConstraint", "s3:ObjectCreationOperation", "s3:DataAccessPointArn"] {
            let r = putPolicy(
                "bkt",
                #"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"StringEquals":{"\#(key)":"x"}}}"#
            )
            XCTAssertEqual(r.errorCode, "MalformedPolicy", key)
            XCTAssertTrue(r.text.contains("Policy has an invalid condition key"), r.text)
        }
        XCTAssertEqual(gw.send("GET", "/bkt?policy").errorCode, "NoSuchBucketPolicy")
    }

    func testRequestConditionKeys() {
        let head = RequestHead(
            method: "PUT", rawURI: "/bkt/k",
            headers: [
                ("x-amz-date", "20231114T221310Z"), ("x-amz-tagging", "class=secret&team=a"),
                ("if-none-match", "*"), ("if-match", "\"abc\""),
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ])
        var r = S3Request(
            head: head, requestId: "r", auth: AuthContext(accessKey: "", method: .v4Header, payload: .unsigned),
            principal: nil, bucketName: "b", key: "k", query: [:], body: MemorySource([]), now: TestGateway.now)
        r.tlsProtocol = "TLSv1.2"
        var bucket = BucketRecord(
            name: "acme/b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "bb")
        bucket.tenant = "acme"
        let c = r.policyContext(action: "s3:PutObject", key: "k", bucket: bucket)
        XCTAssertEqual(c["s3:TlsVersion"], ["1.2"])
        XCTAssertEqual(c["s3:signatureAge"], ["10000"], "ms since X-Amz-Date")
        XCTAssertEqual(c["s3:RequestObjectTag/class"], ["secret"])
        XCTAssertEqual(c["s3:RequestObjectTagKeys"]?.sorted(), ["class", "team"])
        XCTAssertEqual(c["s3:if-none-match"], ["*"])
        XCTAssertEqual(c["s3:if-match"], ["\"abc\""])
        XCTAssertEqual(c["s3:x-amz-server-side-encryption-customer-algorithm"], ["AES256"])
        XCTAssertEqual(c["s3:ResourceAccount"], ["acme"])
        r.tlsProtocol = ""
        XCTAssertNil(r.policyContext(action: "s3:PutObject")["s3:TlsVersion"], "plain HTTP has none")
        // A presigned URL's age counts from its X-Amz-Date.
        let presigned = S3Request(
            head: RequestHead(method: "GET", rawURI: "/bkt/k?X-Amz-Date=20231114T221220Z", headers: []),
            requestId: "r", auth: AuthContext(accessKey: "", method: .v4Query, payload: .unsigned), principal: nil,
            bucketName: "b", key: "k", query: ["X-Amz-Date": "20231114T221220Z"], body: MemorySource([]),
            now: TestGateway.now)
        XCTAssertEqual(presigned.policyContext(action: "s3:GetObject")["s3:signatureAge"], ["60000"])
    }

    /// s3:TlsVersion from nginx's SSL_PROTOCOL; s3:RequestObjectTag from PutObjectTagging's body
    /// and the x-amz-tagging header.
    func testTlsVersionAndRequestTagConditionsDecide() {
        gw.send("PUT", "/bkt")
        gw.send("PUT", "/bkt/k", body: [1])
        XCTAssertEqual(
            putPolicy(
                "bkt",
                #"{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"NumericLessThan":{"s3:TlsVersion":"1.3"}}}"#,
                #"{"Effect":"Deny","Principal":"*","Action":["s3:PutObject","s3:PutObjectTagging"],"Resource":"arn:aws:s3:::bkt/*","Condition":{"StringEquals":{"s3:RequestObjectTag/class":"secret"}}}"#
            ).status, 204)
        XCTAssertEqual(gw.send("GET", "/bkt/k", params: ["SSL_PROTOCOL": "TLSv1.2"]).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("GET", "/bkt/k", params: ["SSL_PROTOCOL": "TLSv1.3"]).status, 200)

        let tagging = { (value: String) in
            Array(
                "<Tagging><TagSet><Tag><Key>class</Key><Value>\(value)</Value></Tag></TagSet></Tagging>".utf8)
        }
        let secret = tagging("secret")
        XCTAssertEqual(gw.send("PUT", "/bkt/k?tagging", body: secret, headers: [md5(secret)]).errorCode, "AccessDenied")
        XCTAssertEqual(try gw.metadata.object(bucket: "bkt", key: "k")?.tags.count, 0)
        let open = tagging("open")
        XCTAssertEqual(gw.send("PUT", "/bkt/k?tagging", body: open, headers: [md5(open)]).status, 200)
        XCTAssertEqual(
            gw.send("PUT", "/bkt/n", body: [1], headers: [("x-amz-tagging", "class=secret")]).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("PUT", "/bkt/n", body: [1], headers: [("x-amz-tagging", "class=open")]).status, 200)
    }

    // MARK: 3. Tagged writes need s3:PutObjectTagging

    func testWritesCarryingTagsNeedPutObjectTagging() {
        gw.send("PUT", "/bkt")
        // New buckets block public policies; this one takes one.
        XCTAssertEqual(gw.send("DELETE", "/bkt?publicAccessBlock").status, 204)
        gw.send("PUT", "/bkt/src", body: Array("source".utf8))
        let writer = gw.addUser(
            TenantRecord.defaultID, "writer", ["s3:PutObject": ["bkt/*"], "s3:GetObject": ["bkt/*"]])
        let tags = [("x-amz-tagging", "a=1")]
        XCTAssertEqual(gw.send(as: writer, "PUT", "/bkt/t", body: [1], headers: tags).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: writer, "POST", "/bkt/t?uploads", headers: tags).errorCode, "AccessDenied")
        let copy = [("x-amz-copy-source", "/bkt/src"), ("x-amz-tagging-directive", "REPLACE")] + tags
        XCTAssertEqual(gw.send(as: writer, "PUT", "/bkt/t", headers: copy).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "bkt", key: "t"))
        XCTAssertEqual(gw.send(as: writer, "PUT", "/bkt/t", body: [1]).status, 200, "untagged writes need no more")

        let tagger = gw.addUser(
            TenantRecord.defaultID, "tagger",
            ["s3:PutObject": ["bkt/*"], "s3:GetObject": ["bkt/*"], "s3:PutObjectTagging": ["bkt/*"]])
        XCTAssertEqual(gw.send(as: tagger, "PUT", "/bkt/t", body: [1], headers: tags).status, 200)
        XCTAssertEqual(gw.send(as: tagger, "PUT", "/bkt/c", headers: copy).status, 200)

        // Anonymous writers too: a policy granting PutObject alone admits untagged writes only.
        XCTAssertEqual(
            putPolicy(
                "bkt", #"{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bkt/*"}"#
            ).status, 204)
        XCTAssertEqual(
            gw.send("PUT", "/bkt/anon", body: [1], headers: tags, sign: false).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("PUT", "/bkt/anon", body: [1], sign: false).status, 200)
        XCTAssertEqual(
            postForm(
                "/bkt", key: "form",
                tagging: "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
            ).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "bkt", key: "form"))
        XCTAssertEqual(postForm("/bkt", key: "form", tagging: nil).status, 204)
    }

    func postForm(_ uri: String, key: String, tagging: String?) -> TestGateway.Response {
        let boundary = "----anon"
        var body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n\(key)\r\n"
        if let tagging {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"tagging\"\r\n\r\n\(tagging)\r\n"
        }
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nform\r\n"
        body += "--\(boundary)--\r\n"
        return gw.send(
            "POST", uri, body: Array(body.utf8),
            headers: [("content-type", "multipart/form-data; boundary=\(boundary)")], sign: false)
    }

    // MARK: 4. s3:ExistingObjectTag where the decision saw no object

    let denyTaggedReads =
        #"{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/secret":"yes"}}}"#

    func testConditionalDeletesReadTheObjectsTags() throws {
        gw.send("PUT", "/bkt")
        let etag = gw.send("PUT", "/bkt/k", body: [1], headers: [("x-amz-tagging", "secret=yes")]).header("ETag") ?? ""
        XCTAssertEqual(putPolicy("bkt", denyTaggedReads).status, 204)
        XCTAssertEqual(gw.send("DELETE", "/bkt/k", headers: [("if-match", etag)]).errorCode, "AccessDenied")
        let body = Array("<Delete><Object><Key>k</Key><ETag>\(etag)</ETag></Object></Delete>".utf8)
        let r = gw.send("POST", "/bkt?delete", body: body, headers: [md5(body)])
        XCTAssertTrue(r.text.contains("<Error><Key>k</Key><Code>AccessDenied"), r.text)
        XCTAssertNotNil(try gw.metadata.object(bucket: "bkt", key: "k"))
        XCTAssertEqual(gw.send("DELETE", "/bkt/k").status, 204, "an unconditional delete reads nothing")
    }

    final class CopyingRun: ReadThroughFetcher {
        let before = Mutex<(@Sendable () -> Void)?>(nil)
        func fetch(_ route: ReadThroughRoute, key: String) -> ReadThroughAnswer {
            before.withLock { $0 }?()
            return .copied
        }
    }

    func testReadThroughDecidesAgainWithTheCopiedObject() throws {
        let run = CopyingRun()
        gw = TestGateway(configure: { $0.migration.readThrough = run })
        gw.send("PUT", "/bkt")
        XCTAssertEqual(putPolicy("bkt", denyTaggedReads).status, 204)
        try gw.metadata.setReadThrough(ReadThroughRoute(bucket: "bkt", runId: "r", socket: "/nowhere"))
        nonisolated(unsafe) let gw = self.gw!
        run.before.withLock {
            $0 = { _ = gw.send("PUT", "/bkt/late", body: [1], headers: [("x-amz-tagging", "secret=yes")]) }
        }
        XCTAssertEqual(gw.send("GET", "/bkt/late").errorCode, "AccessDenied")
        XCTAssertNotNil(try gw.metadata.object(bucket: "bkt", key: "late"), "copied in all the same")
    }

    // MARK: 5. A copy source's NoSuchKey is judged at the source

    func testCopySourceMissingKeyIsJudgedAtTheSource() {
        gw.send("PUT", "/src")
        gw.send("PUT", "/dst")
        let copier = gw.addUser(
            TenantRecord.defaultID, "copier",
            ["s3:GetObject": ["src/*"], "s3:ListBucket": ["src"], "s3:PutObject": ["dst/*"]])
        let r = gw.send(as: copier, "PUT", "/dst/k", headers: [("x-amz-copy-source", "/src/missing")])
        XCTAssertEqual(r.errorCode, "NoSuchKey", r.text)
        let blind = gw.addUser(
            TenantRecord.defaultID, "blind", ["s3:GetObject": ["src/*"], "s3:PutObject": ["dst/*"]])
        XCTAssertEqual(
            gw.send(as: blind, "PUT", "/dst/k", headers: [("x-amz-copy-source", "/src/missing")]).errorCode,
            "AccessDenied")
    }

    // MARK: 6. The operations log names the bucket's tenant

    final class Collector: RequestObserver, @unchecked Sendable {
        let traces = Mutex<[RequestTrace]>([])
        func requestStarted(_ trace: RequestTrace) {}
        func requestFinished(_ trace: RequestTrace) { traces.withLock { $0.append(trace) } }
    }

    func testTraceNamesTheBucketsTenantForForeignCallers() throws {
        let collector = Collector()
        gw = TestGateway { $0.observers = [collector] }
        let acme = gw.addUser("acme", "admin", ["s3:*": ["*"]])
        let globex = gw.addUser("globex", "admin", ["s3:*": ["*"]])
        gw.send(as: acme, "PUT", "/photos")
        gw.send(as: acme, "PUT", "/photos/k", body: [1])
        gw.send(as: globex, "PUT", "/photos")
        gw.send(as: globex, "GET", "/acme:photos/k")
        gw.send("GET", "/acme:photos/k", sign: false)
        gw.send(as: globex, "GET", "/photos/k")
        let records = collector.traces.withLock { $0 }.compactMap { t in
            OplogLine.encode(t).dropLast().withUnsafeBytes { OplogRecord.parse($0) }
        }
        XCTAssertEqual(records.count, 6)
        let owners = OplogQuery(bucket: "photos", tenant: "acme")
        let seen = records.filter(owners.matches)
        XCTAssertEqual(seen.map(\.method), ["PUT", "PUT", "GET", "GET"])
        XCTAssertEqual(seen.map(\.tenant), ["acme", "acme", "globex", nil], "the caller stays the actor")
        XCTAssertEqual(seen.map(\.bucketTenant), ["acme", "acme", "acme", "acme"])
        XCTAssertEqual(seen.map(\.bucket), ["photos", "photos", "photos", "photos"])
        XCTAssertEqual(records.filter(OplogQuery(bucket: "photos", tenant: "globex").matches).count, 2)
        XCTAssertEqual(records.filter(OplogQuery(tenant: "globex").matches).count, 3, "globex.s own and on its bucket")
    }

    // MARK: 7. Virtual-hosted names never carry a tenant

    func testVirtualHostedTenantBucketIsInvalid() {
        gw.send("PUT", "/photos")
        for host in ["default:photos.s3.example.test", "default:photos.s3.example.test:8080"] {
            XCTAssertEqual(gw.send("GET", "/k", host: host).errorCode, "InvalidBucketName", host)
        }
        XCTAssertEqual(gw.send("GET", "/", host: "photos.s3.example.test:8080").status, 200)
    }

    // MARK: 8. The gateway's own writes come from 127.0.0.1

    func testInProcessWritesComeFromLoopback() throws {
        gw.send("PUT", "/bkt")
        XCTAssertEqual(
            putPolicy(
                "bkt",
                #"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"NotIpAddress":{"aws:SourceIp":"127.0.0.1/32"}}}"#
            ).status, 204)
        let principal = try XCTUnwrap(gw.context.identities.resolve(TestGateway.accessKey)?.principal)
        let writes = GatewayWrites(ctx: gw.context, principal: principal, logger: Logger(label: "migration"))
        let bytes = Array("migrated".utf8)
        _ = try writes.putObject(
            bucket: "bkt", key: "m", size: Int64(bytes.count), headers: [], body: MemorySource(bytes))
        XCTAssertEqual(try gw.metadata.object(bucket: "bkt", key: "m")?.size, Int64(bytes.count))
        XCTAssertEqual(gw.send("PUT", "/bkt/c", body: [1], remoteAddress: "192.0.2.1").errorCode, "AccessDenied")
    }

    // MARK: 9. Expected bucket owners

    func testExpectedBucketOwnerIsTheBucketsTenant() {
        gw.send("PUT", "/bkt")
        gw.send("PUT", "/bkt/k", body: [1])
        let mine = [("x-amz-expected-bucket-owner", TenantRecord.defaultID)]
        let other = [("x-amz-expected-bucket-owner", "acme")]
        XCTAssertEqual(gw.send("GET", "/bkt/k", headers: mine).status, 200)
        XCTAssertEqual(gw.send("GET", "/bkt/k", headers: other).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("PUT", "/bkt/n", body: [1], headers: other).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "bkt", key: "n"))
        let copy = [("x-amz-copy-source", "/bkt/k")]
        XCTAssertEqual(
            gw.send("PUT", "/bkt/c", headers: copy + [("x-amz-source-expected-bucket-owner", "acme")]).errorCode,
            "AccessDenied")
        XCTAssertEqual(
            gw.send("PUT", "/bkt/c", headers: copy + [("x-amz-source-expected-bucket-owner", TenantRecord.defaultID)])
                .status, 200)
    }
}
