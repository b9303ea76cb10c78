import Foundation
import GatewayCore
import SigV4
import XCTest

/// Object Lock on the request side, against the in-memory store: CreateBucket with lock,
/// Put/GetObjectLockConfiguration, the lock headers of every write (validated, the bucket's
/// default applied, S3's digest rule), the lock headers of GET/HEAD, and the validation of
/// Put/GetObjectRetention and Put/GetObjectLegalHold.
final class ObjectLockHandlerTests: XCTestCase {
    var gw: TestGateway!
    static let later = "2030-01-01T00:00:00Z"
    static let laterTime: Double = 1_893_456_000

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/locked", headers: [("x-amz-bucket-object-lock-enabled", "true")]).status, 200)
        XCTAssertEqual(gw.send("PUT", "/plain").status, 200)
    }

    static func md5(_ body: [UInt8]) -> (String, String) { ("Content-MD5", base64Encode(Digest.hash(.md5, body))) }

    static func crc32(_ body: [UInt8]) -> String {
        let h = ChecksumAlgorithm.crc32.makeHasher()
        h.update(body)
        return base64Encode(h.finalize())
    }

    /// A PUT with a body and its Content-MD5.
    @discardableResult
    func put(_ uri: String, _ text: String = "data", _ headers: [(String, String)] = []) -> TestGateway.Response {
        let body = Array(text.utf8)
        return gw.send("PUT", uri, body: body, headers: [Self.md5(body)] + headers)
    }

    func lockConfig(_ inner: String, enabled: String? = "Enabled") -> [UInt8] {
        let e = enabled.map { "<ObjectLockEnabled>\($0)</ObjectLockEnabled>" } ?? ""
        return Array(
            "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(e)\(inner)</ObjectLockConfiguration>"
                .utf8)
    }

    func rule(_ mode: String, _ period: String) -> String {
        "<Rule><DefaultRetention><Mode>\(mode)</Mode>\(period)</DefaultRetention></Rule>"
    }

    // MARK: CreateBucket

    func testCreateBucketWithLockTurnsVersioningOnInTheSameRecord() throws {
        let b = try XCTUnwrap(gw.metadata.bucket(named: "locked"))
        XCTAssertEqual(b.versioning, .enabled)
        XCTAssertEqual(b.objectLock, ObjectLockConfig())
        let plain = try XCTUnwrap(gw.metadata.bucket(named: "plain"))
        XCTAssertEqual(plain.versioning, .unversioned)
        XCTAssertNil(plain.objectLock)
        XCTAssertEqual(gw.send("PUT", "/off", headers: [("x-amz-bucket-object-lock-enabled", "false")]).status, 200)
        XCTAssertNil(try gw.metadata.bucket(named: "off")?.objectLock)
        let create = try gw.metadata.auditRecords(AuditQuery(change: "bucket.create")).first { $0.bucket == "locked" }
        let detail = try XCTUnwrap(create?.detail)
        XCTAssert(detail.contains("\"object_lock\":true"), detail)
        XCTAssert(detail.contains("\"versioning\":\"Enabled\""), detail)

        let get = gw.send("GET", "/locked?object-lock")
        XCTAssertEqual(get.status, 200)
        XCTAssert(get.text.contains("<ObjectLockEnabled>Enabled</ObjectLockEnabled>"), get.text)
        XCTAssertFalse(get.text.contains("<Rule>"), get.text)
        XCTAssertEqual(gw.send("GET", "/plain?object-lock").errorCode, "ObjectLockConfigurationNotFoundError")
    }

    // MARK: Put/GetObjectLockConfiguration

    func testPutObjectLockConfigurationStoresTheDefaultRetention() throws {
        for (period, days, years) in [("<Days>3</Days>", 3, nil), ("<Years>2</Years>", nil, 2 as Int?)] {
            let body = lockConfig(rule("GOVERNANCE", period))
            let r = gw.send("PUT", "/locked?object-lock", body: body, headers: [Self.md5(body)])
            XCTAssertEqual(r.status, 200, r.text)
            let stored = try gw.metadata.bucket(named: "locked")?.objectLock?.defaultRetention
            XCTAssertEqual(stored, .init(mode: .governance, days: days, years: years))
            let get = gw.send("GET", "/locked?object-lock").text
            XCTAssert(get.contains("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode>\(period)"), get)
        }
        // Without a rule the default goes; the lock stays.
        let body = lockConfig("")
        XCTAssertEqual(gw.send("PUT", "/locked?object-lock", body: body, headers: [Self.md5(body)]).status, 200)
        XCTAssertEqual(try gw.metadata.bucket(named: "locked")?.objectLock, ObjectLockConfig())
    }

    func testPutObjectLockConfigurationValidatesAsS3() throws {
        let cases: [(String, [UInt8], String)] = [
            ("days and years", lockConfig(rule("COMPLIANCE", "<Days>1</Days><Years>1</Years>")), "MalformedXML"),
            ("no period", lockConfig(rule("COMPLIANCE", "")), "MalformedXML"),
            ("no mode", lockConfig("<Rule><DefaultRetention><Days>1</Days></DefaultRetention></Rule>"), "MalformedXML"),
            ("bad mode", lockConfig(rule("FOREVER", "<Days>1</Days>")), "MalformedXML"),
            ("zero days", lockConfig(rule("COMPLIANCE", "<Days>0</Days>")), "InvalidArgument"),
            ("negative years", lockConfig(rule("COMPLIANCE", "<Years>-1</Years>")), "InvalidArgument"),
            ("too many days", lockConfig(rule("COMPLIANCE", "<Days>36501</Days>")), "InvalidArgument"),
            ("not a number", lockConfig(rule("COMPLIANCE", "<Days>one</Days>")), "MalformedXML"),
            ("rule without retention", lockConfig("<Rule></Rule>"), "MalformedXML"),
            ("disabled", lockConfig("", enabled: "Disabled"), "MalformedXML"),
            ("wrong root", Array("<LockConfiguration/>".utf8), "MalformedXML"),
            ("not XML", Array("Enabled".utf8), "MalformedXML"),
        ]
        for (name, body, code) in cases {
            let r = gw.send("PUT", "/locked?object-lock", body: body, headers: [Self.md5(body)])
            XCTAssertEqual(r.errorCode, code, "\(name): \(r.text)")
            XCTAssertEqual(try gw.metadata.bucket(named: "locked")?.objectLock, ObjectLockConfig(), name)
        }
        // S3's digest rule: neither Content-MD5 nor x-amz-checksum-*.
        let body = lockConfig(rule("COMPLIANCE", "<Days>1</Days>"))
        let r = gw.send("PUT", "/locked?object-lock", body: body)
        XCTAssertEqual(r.errorCode, "InvalidRequest")
        XCTAssert(r.text.contains("Content-MD5 OR x-amz-checksum- HTTP header is required"), r.text)
        let crc = gw.send(
            "PUT", "/locked?object-lock", body: body,
            headers: [("x-amz-checksum-crc32", Self.crc32(body))])
        XCTAssertEqual(crc.status, 200, crc.text)
    }

    func testObjectLockNeedsVersioningEnabled() throws {
        let body = lockConfig(rule("COMPLIANCE", "<Days>1</Days>"))
        let r = gw.send("PUT", "/plain?object-lock", body: body, headers: [Self.md5(body)])
        XCTAssertEqual(r.status, 409)
        XCTAssertEqual(r.errorCode, "InvalidBucketState")
        XCTAssertNil(try gw.metadata.bucket(named: "plain")?.objectLock)
        // On a versioning-Enabled bucket it turns lock on (the element may not be left out then).
        try gw.metadata.setVersioning(bucket: "plain", .enabled)
        let omitted = lockConfig(rule("COMPLIANCE", "<Days>1</Days>"), enabled: nil)
        XCTAssertEqual(
            gw.send("PUT", "/plain?object-lock", body: omitted, headers: [Self.md5(omitted)]).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("PUT", "/plain?object-lock", body: body, headers: [Self.md5(body)]).status, 200)
        XCTAssertEqual(
            try gw.metadata.bucket(named: "plain")?.objectLock,
            ObjectLockConfig(defaultRetention: .init(mode: .compliance, days: 1)))
    }

    // MARK: lock headers on writes

    func testPutValidatesLockHeadersAndStoresNothingOnRefusal() throws {
        let cases: [([(String, String)], String)] = [
            ([("x-amz-object-lock-mode", "COMPLIANCE")], "InvalidArgument"),
            ([("x-amz-object-lock-retain-until-date", Self.later)], "InvalidArgument"),
            (
                [("x-amz-object-lock-mode", "FOREVER"), ("x-amz-object-lock-retain-until-date", Self.later)],
                "InvalidArgument"
            ),
            (
                [("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", "tomorrow")],
                "InvalidArgument"
            ),
            (
                [
                    ("x-amz-object-lock-mode", "COMPLIANCE"),
                    ("x-amz-object-lock-retain-until-date", "2020-01-01T00:00:00Z"),
                ],
                "InvalidArgument"
            ),
            ([("x-amz-object-lock-legal-hold", "MAYBE")], "InvalidArgument"),
        ]
        for (headers, code) in cases {
            let r = put("/locked/k", "data", headers)
            XCTAssertEqual(r.errorCode, code, "\(headers): \(r.text)")
            XCTAssertEqual(r.status, 400)
        }
        let past = put(
            "/locked/k", "data",
            [("x-amz-object-lock-mode", "GOVERNANCE"), ("x-amz-object-lock-retain-until-date", "2020-01-01T00:00:00Z")])
        XCTAssert(past.text.contains("The retain until date must be in the future!"), past.text)
        // Valid headers without a digest: S3's rule.
        let noDigest = gw.send(
            "PUT", "/locked/k", body: Array("data".utf8), headers: [("x-amz-object-lock-legal-hold", "ON")])
        XCTAssertEqual(noDigest.errorCode, "InvalidRequest")
        XCTAssert(noDigest.text.contains("Content-MD5 OR x-amz-checksum- HTTP header is required"), noDigest.text)
        XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: "k"))
        XCTAssertEqual(gw.zone.blobCount, 0)
        // On a bucket without Object Lock the headers are still refused as S3 does.
        let plain = put("/plain/k", "data", [("x-amz-object-lock-legal-hold", "ON")])
        XCTAssertEqual(plain.errorCode, "InvalidRequest")
        XCTAssert(plain.text.contains("Bucket is missing ObjectLockConfiguration"), plain.text)
    }

    func testPutStoresTheLockItNames() throws {
        let r = put(
            "/locked/k", "data",
            [
                ("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", Self.later),
                ("x-amz-object-lock-legal-hold", "ON"),
            ])
        XCTAssertEqual(r.status, 200, r.text)
        let o = try XCTUnwrap(gw.metadata.latestVersion(bucket: "locked", key: "k"))
        XCTAssertEqual(o.retention, Retention(mode: .compliance, until: Self.laterTime))
        XCTAssertTrue(o.legalHold)
        // A checksum header is as good as Content-MD5; no lock header and no default: no digest needed.
        let body = Array("crc".utf8)
        let crc = gw.send(
            "PUT", "/locked/c", body: body,
            headers: [
                ("x-amz-checksum-crc32", Self.crc32(body)),
                ("x-amz-object-lock-legal-hold", "OFF"),
            ])
        XCTAssertEqual(crc.status, 200, crc.text)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "c")?.legalHold, false)
        XCTAssertEqual(gw.send("PUT", "/locked/plain", body: Array("x".utf8)).status, 200)
        XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: "plain")?.retention)
    }

    func testTheBucketDefaultAppliesWhenTheRequestNamesNone() throws {
        try gw.metadata.setObjectLock(
            bucket: "locked", ObjectLockConfig(defaultRetention: .init(mode: .governance, days: 2)))
        // The default is a lock parameter too: the digest is required.
        XCTAssertEqual(gw.send("PUT", "/locked/k", body: Array("x".utf8)).errorCode, "InvalidRequest")
        XCTAssertEqual(put("/locked/k").status, 200)
        XCTAssertEqual(
            try gw.metadata.latestVersion(bucket: "locked", key: "k")?.retention,
            Retention(mode: .governance, until: TestGateway.now + 2 * 86_400))
        // A hold alone keeps the default retention; an explicit retention replaces it.
        XCTAssertEqual(put("/locked/h", "x", [("x-amz-object-lock-legal-hold", "ON")]).status, 200)
        let h = try XCTUnwrap(gw.metadata.latestVersion(bucket: "locked", key: "h"))
        XCTAssertEqual(h.retention?.mode, .governance)
        XCTAssertTrue(h.legalHold)
        let explicit = put(
            "/locked/e", "x",
            [("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", Self.later)])
        XCTAssertEqual(explicit.status, 200)
        XCTAssertEqual(
            try gw.metadata.latestVersion(bucket: "locked", key: "e")?.retention,
            Retention(mode: .compliance, until: Self.laterTime))
    }

    func testCopyTakesTheLockOfItsRequestNotOfItsSource() throws {
        put(
            "/locked/src", "source",
            [("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", Self.later)])
        XCTAssertEqual(
            gw.send("PUT", "/locked/plain-copy", headers: [("x-amz-copy-source", "/locked/src")]).status, 200)
        XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: "plain-copy")?.retention)
        let r = gw.send(
            "PUT", "/locked/held-copy",
            headers: [("x-amz-copy-source", "/locked/src"), ("x-amz-object-lock-legal-hold", "ON")])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "held-copy")?.legalHold, true)
        let bad = gw.send(
            "PUT", "/locked/bad",
            headers: [("x-amz-copy-source", "/locked/src"), ("x-amz-object-lock-mode", "GOVERNANCE")])
        XCTAssertEqual(bad.errorCode, "InvalidArgument")
        let plain = gw.send(
            "PUT", "/plain/c", headers: [("x-amz-copy-source", "/locked/src"), ("x-amz-object-lock-legal-hold", "ON")])
        XCTAssertEqual(plain.errorCode, "InvalidRequest")
    }

    func testMultipartKeepsTheLockUntilCompleteAndItsPartsNeedADigest() throws {
        let create = gw.send(
            "POST", "/locked/mp?uploads",
            headers: [("x-amz-object-lock-mode", "GOVERNANCE"), ("x-amz-object-lock-retain-until-date", Self.later)])
        XCTAssertEqual(create.status, 200, create.text)
        let id = try XCTUnwrap(
            create.text.components(separatedBy: "<UploadId>").last?.components(separatedBy: "<").first)
        XCTAssertEqual(
            try gw.metadata.upload(id: id)?.lock,
            LockSettings(retention: Retention(mode: .governance, until: Self.laterTime)))
        let part = Array("part".utf8)
        let noDigest = gw.send("PUT", "/locked/mp?partNumber=1&uploadId=\(id)", body: part)
        XCTAssertEqual(noDigest.errorCode, "InvalidRequest", noDigest.text)
        let ok = gw.send("PUT", "/locked/mp?partNumber=1&uploadId=\(id)", body: part, headers: [Self.md5(part)])
        XCTAssertEqual(ok.status, 200, ok.text)
        let etag = try XCTUnwrap(ok.header("ETag"))
        let complete = Array(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
                .utf8)
        let done = gw.send("POST", "/locked/mp?uploadId=\(id)", body: complete)
        XCTAssertEqual(done.status, 200, done.text)
        XCTAssertEqual(
            try gw.metadata.latestVersion(bucket: "locked", key: "mp")?.retention,
            Retention(mode: .governance, until: Self.laterTime))
        // Refused before an upload opens.
        let bad = gw.send("POST", "/locked/bad?uploads", headers: [("x-amz-object-lock-legal-hold", "YES")])
        XCTAssertEqual(bad.errorCode, "InvalidArgument")
        XCTAssertEqual(
            gw.send("POST", "/plain/x?uploads", headers: [("x-amz-object-lock-legal-hold", "ON")]).errorCode,
            "InvalidRequest")
    }

    func testPostFormFieldsSetTheLock() throws {
        let r = postForm(
            bucket: "locked",
            [
                "key": "p", "x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": Self.later,
                "x-amz-object-lock-legal-hold": "ON",
            ])
        XCTAssertEqual(r.status, 204, r.text)
        let o = try XCTUnwrap(gw.metadata.latestVersion(bucket: "locked", key: "p"))
        XCTAssertEqual(o.retention, Retention(mode: .compliance, until: Self.laterTime))
        XCTAssertTrue(o.legalHold)
        XCTAssertEqual(
            postForm(bucket: "locked", ["key": "q", "x-amz-object-lock-mode": "COMPLIANCE"]).errorCode,
            "InvalidArgument")
        XCTAssertEqual(
            postForm(bucket: "plain", ["key": "q", "x-amz-object-lock-legal-hold": "ON"]).errorCode, "InvalidRequest")
    }

    // MARK: GET/HEAD

    func testGetAndHeadShowTheLockToWhoMayReadIt() throws {
        put(
            "/locked/k", "data",
            [
                ("x-amz-object-lock-mode", "GOVERNANCE"), ("x-amz-object-lock-retain-until-date", Self.later),
                ("x-amz-object-lock-legal-hold", "ON"),
            ])
        for method in ["GET", "HEAD"] {
            let r = gw.send(method, "/locked/k")
            XCTAssertEqual(r.header("x-amz-object-lock-mode"), "GOVERNANCE", method)
            XCTAssertEqual(r.header("x-amz-object-lock-retain-until-date"), "2030-01-01T00:00:00.000Z", method)
            XCTAssertEqual(r.header("x-amz-object-lock-legal-hold"), "ON", method)
        }
        try gw.addUser(
            "reader", permissions: ["s3:GetObject": ["locked/*"], "s3:GetObjectLegalHold": ["locked/*"]],
            accessKey: "AKIDREADER", secret: "reader-secret")
        let r = gw.send("HEAD", "/locked/k", accessKey: "AKIDREADER", secret: "reader-secret")
        XCTAssertEqual(r.status, 200)
        XCTAssertNil(r.header("x-amz-object-lock-mode"))
        XCTAssertNil(r.header("x-amz-object-lock-retain-until-date"))
        XCTAssertEqual(r.header("x-amz-object-lock-legal-hold"), "ON")
        put("/locked/free")
        XCTAssertNil(gw.send("HEAD", "/locked/free").header("x-amz-object-lock-mode"))
    }

    // MARK: retention and legal hold requests (validation before the store)

    func retentionBody(_ mode: String, _ until: String) -> [UInt8] {
        Array("<Retention><Mode>\(mode)</Mode><RetainUntilDate>\(until)</RetainUntilDate></Retention>".utf8)
    }

    func testRetentionRequestsOnABucketWithoutLockAnswerInvalidRequest() {
        put("/plain/k")
        let body = retentionBody("COMPLIANCE", Self.later)
        for (method, uri, b) in [
            ("PUT", "/plain/k?retention", body), ("GET", "/plain/k?retention", []),
            ("PUT", "/plain/k?legal-hold", Array("<LegalHold><Status>ON</Status></LegalHold>".utf8)),
            ("GET", "/plain/k?legal-hold", []),
        ] {
            let r = gw.send(method, uri, body: b, headers: b.isEmpty ? [] : [Self.md5(b)])
            XCTAssertEqual(r.errorCode, "InvalidRequest", "\(method) \(uri)")
            XCTAssert(r.text.contains("Bucket is missing Object Lock Configuration"), r.text)
        }
    }

    func testRetentionRequestsAreValidated() {
        put("/locked/k")
        let cases: [(String, [UInt8], String)] = [
            ("retention", retentionBody("FOREVER", Self.later), "MalformedXML"),
            ("retention", retentionBody("COMPLIANCE", "soon"), "MalformedXML"),
            ("retention", retentionBody("COMPLIANCE", "2020-01-01T00:00:00Z"), "InvalidArgument"),
            ("retention", Array("<Retention><Mode>COMPLIANCE</Mode></Retention>".utf8), "MalformedXML"),
            ("retention", Array("<LegalHold/>".utf8), "MalformedXML"),
            ("legal-hold", Array("<LegalHold><Status>on</Status></LegalHold>".utf8), "MalformedXML"),
            ("legal-hold", Array("<LegalHold/>".utf8), "MalformedXML"),
        ]
        for (sub, body, code) in cases {
            let r = gw.send("PUT", "/locked/k?\(sub)", body: body, headers: [Self.md5(body)])
            XCTAssertEqual(r.errorCode, code, "\(sub) \(String(decoding: body, as: UTF8.self)): \(r.text)")
        }
        for sub in ["retention", "legal-hold"] {
            let body =
                sub == "retention"
                ? retentionBody("COMPLIANCE", Self.later) : Array("<LegalHold><Status>ON</Status></LegalHold>".utf8)
            let r = gw.send("PUT", "/locked/k?\(sub)", body: body)
            XCTAssertEqual(r.errorCode, "InvalidRequest", sub)
            XCTAssert(r.text.contains("Content-MD5 OR x-amz-checksum- HTTP header is required"), r.text)
            XCTAssertEqual(gw.send("GET", "/locked/k?\(sub)&versionId=nope").errorCode, "InvalidArgument", sub)
            XCTAssertEqual(
                gw.send("GET", "/locked/k?\(sub)&versionId=\(String(repeating: "a", count: 32))").errorCode,
                "NoSuchVersion", sub)
            XCTAssertEqual(gw.send("GET", "/locked/none?\(sub)").errorCode, "NoSuchKey", sub)
        }
        XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: "k")?.retention)
    }

    func testGetRetentionAndLegalHold() {
        put("/locked/free")
        XCTAssertEqual(gw.send("GET", "/locked/free?retention").errorCode, "NoSuchObjectLockConfiguration")
        XCTAssertEqual(gw.send("GET", "/locked/free?retention").status, 404)
        XCTAssert(gw.send("GET", "/locked/free?legal-hold").text.contains("<Status>OFF</Status>"))
        put(
            "/locked/k", "data",
            [
                ("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", Self.later),
                ("x-amz-object-lock-legal-hold", "ON"),
            ])
        let r = gw.send("GET", "/locked/k?retention")
        XCTAssertEqual(r.status, 200)
        XCTAssert(r.text.contains("<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"), r.text)
        XCTAssert(
            r.text.contains("<Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate>"),
            r.text)
        XCTAssert(gw.send("GET", "/locked/k?legal-hold").text.contains("<Status>ON</Status>"))
    }

    // MARK: retention and legal hold changes (the store decides)

    func lockedObject(_ key: String, _ mode: String, until: String = ObjectLockHandlerTests.later) {
        let r = put(
            "/locked/\(key)", "data",
            [("x-amz-object-lock-mode", mode), ("x-amz-object-lock-retain-until-date", until)])
        XCTAssertEqual(r.status, 200, r.text)
    }

    func putRetention(
        _ key: String, _ body: [UInt8], bypass: Bool = false, accessKey: String = TestGateway.accessKey,
        secret: String = TestGateway.secretKey
    ) -> TestGateway.Response {
        var headers = [Self.md5(body)]
        if bypass { headers.append(("x-amz-bypass-governance-retention", "true")) }
        return gw.send(
            "PUT", "/locked/\(key)?retention", body: body, headers: headers, accessKey: accessKey, secret: secret)
    }

    /// Mode × change × bypass header × permission → allowed (200) or AccessDenied (403), and the
    /// stored retention changed only when allowed.
    func testRetentionChangesByModeBypassHeaderAndPermission() throws {
        try gw.addUser(
            "clerk", permissions: ["s3:PutObjectRetention": ["locked/*"], "s3:BypassGovernanceRetention": ["other/*"]],
            accessKey: "AKIDCLERK", secret: "clerk-secret")
        let sooner = "2029-01-01T00:00:00Z"
        let further = "2031-01-01T00:00:00Z"
        // (mode, new mode, new date or nil to remove, bypass header, caller may bypass) → allowed
        let rows: [(String, String?, String?, Bool, Bool, Bool)] = [
            ("GOVERNANCE", "GOVERNANCE", further, false, false, true),
            ("GOVERNANCE", "COMPLIANCE", Self.later, false, false, true),
            ("GOVERNANCE", "GOVERNANCE", sooner, false, false, false),
            ("GOVERNANCE", "GOVERNANCE", sooner, false, true, false),
            ("GOVERNANCE", "GOVERNANCE", sooner, true, false, false),
            ("GOVERNANCE", "GOVERNANCE", sooner, true, true, true),
            ("GOVERNANCE", nil, nil, false, true, false),
            ("GOVERNANCE", nil, nil, true, false, false),
            ("GOVERNANCE", nil, nil, true, true, true),
            ("COMPLIANCE", "COMPLIANCE", further, false, false, true),
            ("COMPLIANCE", "COMPLIANCE", sooner, true, true, false),
            ("COMPLIANCE", "GOVERNANCE", further, true, true, false),
            ("COMPLIANCE", nil, nil, true, true, false),
        ]
        for (i, (mode, newMode, newDate, header, permitted, allowed)) in rows.enumerated() {
            let key = "k\(i)"
            lockedObject(key, mode)
            let body =
                newMode.map { retentionBody($0, newDate!) } ?? Array("<Retention></Retention>".utf8)
            let r =
                permitted
                ? putRetention(key, body, bypass: header)
                : putRetention(key, body, bypass: header, accessKey: "AKIDCLERK", secret: "clerk-secret")
            let context = "\(mode) → \(newMode ?? "none") \(newDate ?? "") header \(header) permission \(permitted)"
            XCTAssertEqual(r.status, allowed ? 200 : 403, "\(context): \(r.text)")
            if !allowed { XCTAssertEqual(r.errorCode, "AccessDenied", context) }
            let stored = try gw.metadata.latestVersion(bucket: "locked", key: key)?.retention
            let expected =
                allowed
                ? newMode.map {
                    Retention(mode: ObjectLockMode(rawValue: $0)!, until: HTTPDate.parseISO8601(newDate!)!)
                }
                : Retention(mode: ObjectLockMode(rawValue: mode)!, until: Self.laterTime)
            XCTAssertEqual(stored, expected, context)
        }
    }

    func testRetentionOfANamedVersionAndOfADeleteMarker() throws {
        lockedObject("k", "GOVERNANCE")
        let first = try XCTUnwrap(gw.metadata.latestVersion(bucket: "locked", key: "k"))
        var second = first
        second.retention = nil
        second.blob = "second-blob"
        let stored = try gw.metadata.putVersion(second, condition: nil).stored
        XCTAssertNotEqual(stored.versionId, first.versionId)
        let body = retentionBody("COMPLIANCE", "2031-01-01T00:00:00Z")
        let r = gw.send(
            "PUT", "/locked/k?retention&versionId=\(first.versionId)", body: body, headers: [Self.md5(body)])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(
            try gw.metadata.version(bucket: "locked", key: "k", versionId: first.versionId)?.retention?.mode,
            .compliance)
        XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: "k")?.retention, "the latest is untouched")
        XCTAssert(
            gw.send("GET", "/locked/k?retention&versionId=\(first.versionId)").text.contains("<Mode>COMPLIANCE</Mode>"))
        XCTAssertEqual(gw.send("GET", "/locked/k?retention").errorCode, "NoSuchObjectLockConfiguration")

        let marker = try XCTUnwrap(
            gw.metadata.deleteVersion(bucket: "locked", key: "k", versionId: nil, bypassGovernance: false, now: 1)
                .marker)
        for uri in ["/locked/k?retention", "/locked/k?legal-hold", "/locked/k?retention&versionId=\(marker.versionId)"]
        {
            let get = gw.send("GET", uri)
            XCTAssertEqual(get.status, 405, uri)
            XCTAssertEqual(get.errorCode, "MethodNotAllowed", uri)
        }
        let hold = Array("<LegalHold><Status>ON</Status></LegalHold>".utf8)
        XCTAssertEqual(gw.send("PUT", "/locked/k?legal-hold", body: hold, headers: [Self.md5(hold)]).status, 405)
    }

    func testLegalHoldOnAndOff() throws {
        put("/locked/k")
        for status in ["ON", "OFF", "ON"] {
            let body = Array("<LegalHold><Status>\(status)</Status></LegalHold>".utf8)
            XCTAssertEqual(gw.send("PUT", "/locked/k?legal-hold", body: body, headers: [Self.md5(body)]).status, 200)
            XCTAssert(gw.send("GET", "/locked/k?legal-hold").text.contains("<Status>\(status)</Status>"), status)
            XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "k")?.legalHold, status == "ON")
        }
        XCTAssertEqual(gw.send("HEAD", "/locked/k").header("x-amz-object-lock-legal-hold"), "ON")
        let audit = try gw.metadata.auditRecords(AuditQuery(change: "object.legal-hold"))
        XCTAssertEqual(audit.count, 3)
    }

    // MARK: POST form helper

    /// A browser POST form signed with SigV2 whose policy allows every given field.
    func postForm(
        bucket: String, _ fields: [String: String], accessKey: String = TestGateway.accessKey,
        secret: String = TestGateway.secretKey
    ) -> TestGateway.Response {
        gw.postForm(bucket: bucket, fields, accessKey: accessKey, secret: secret)
    }
}
