import Foundation
import GatewayCore
import SigV4
import XCTest

@testable import S3Backend

/// S3SourceClient against a real S3 implementation: a `moto_server` standing in for an existing
/// account (two buckets in two regions, features configured on one, a listing of two pages,
/// metadata, checksums, a body of megabytes). Skipped where moto_server is not installed.
final class S3SourceMotoTests: XCTestCase {
    nonisolated(unsafe) static var moto: Process?
    nonisolated(unsafe) static var endpoint = ""

    static func findMoto() -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/moto_server"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    override class func setUp() {
        CurlGlobal.initializeOnce()
        guard let path = findMoto(), let probe = try? LocalServer() else { return }
        let port = probe.port
        probe.stop()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        moto = process
        endpoint = "http://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? SimpleHTTP.send(method: "GET", url: endpoint + "/", headers: [], timeout: 1)) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    override class func tearDown() {
        moto?.terminate()
        moto?.waitUntilExit()
    }

    override func setUpWithError() throws {
        guard Self.moto != nil else { throw XCTSkip("moto_server is not on PATH") }
    }

    /// moto checks no signature, but takes the region of a request from its credential scope.
    @discardableResult
    func put(
        _ path: String, _ body: [UInt8] = [], region: String = "us-east-1", headers: [(String, String)] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Int {
        let auth =
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/\(region)/s3/aws4_request, SignedHeaders=host, Signature=0"
        let response = try SimpleHTTP.send(
            method: "PUT", url: Self.endpoint + path,
            headers: [("Authorization", auth)] + headers.map { (name: $0.0, value: $0.1) }, body: body)
        XCTAssertEqual(
            response.status, 200, "PUT \(path): \(String(decoding: response.body, as: UTF8.self))", file: file,
            line: line)
        return response.status
    }

    func putXML(_ path: String, _ xml: String, region: String = "us-east-1") throws {
        try put(path, Array(xml.utf8), region: region, headers: [("Content-Type", "application/xml")])
    }

    func testAnAccountIsReadAsItIs() throws {
        let s3 = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
        try put("/alpha")
        try putXML(
            "/beta",
            "<CreateBucketConfiguration \(s3)><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
            region: "eu-west-1")
        try putXML(
            "/beta?versioning", "<VersioningConfiguration \(s3)><Status>Enabled</Status></VersioningConfiguration>",
            region: "eu-west-1")
        try putXML(
            "/beta?lifecycle",
            "<LifecycleConfiguration \(s3)><Rule><ID>old</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>",
            region: "eu-west-1")
        try putXML(
            "/beta?encryption",
            "<ServerSideEncryptionConfiguration \(s3)><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
            region: "eu-west-1")
        try put(
            "/beta?policy",
            Array(
                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::beta/*\"}]}"
                    .utf8), region: "eu-west-1")
        try put("/beta/x", Array("in beta".utf8), region: "eu-west-1")

        try put(
            "/alpha/dir/a%20b%2Bc.txt", Array("hello world".utf8),
            headers: [
                ("Content-Type", "text/plain"), ("Cache-Control", "max-age=60"), ("x-amz-meta-color", "blue"),
                ("x-amz-sdk-checksum-algorithm", "SHA256"),
                ("x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
            ])
        var big = [UInt8](repeating: 0, count: 5 << 20)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        try put("/alpha/caf%C3%A9/%C3%BC.bin", big, headers: [("x-amz-storage-class", "STANDARD_IA")])
        for i in 0..<1001 { try put("/alpha/many/\(String(format: "%05d", i))", [UInt8(i & 0xff)]) }

        let source = try S3SourceClient(
            SourceSpec(
                endpoint: Self.endpoint, region: "us-east-1",
                credentials: SourceCredentials(
                    accessKey: "AKIDEXAMPLE", secretKey: "moto-secret", sessionToken: "moto-session-token")))

        XCTAssertEqual(Set(try source.listBuckets().map(\.name)), ["alpha", "beta"])
        XCTAssertEqual(try source.region(of: "alpha"), "us-east-1")
        XCTAssertEqual(try source.region(of: "beta"), "eu-west-1")

        var disabled = SourceBucketFeatures()
        (disabled.versioning, disabled.encryption, disabled.lifecycle) = (.disabled, .disabled, .disabled)
        (disabled.replication, disabled.objectLock, disabled.policy) = (.disabled, .disabled, .disabled)
        XCTAssertEqual(source.features(of: "alpha", region: "us-east-1"), disabled)
        var beta = disabled
        (beta.versioning, beta.encryption, beta.lifecycle, beta.policy) = (.enabled, .enabled, .enabled, .enabled)
        XCTAssertEqual(source.features(of: "beta", region: "eu-west-1"), beta)

        var objects: [SourceObject] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try source.listObjects(bucket: "alpha", region: "us-east-1", continuation: token)
            objects += page.objects
            token = page.next
            pages += 1
        } while token != nil && pages < 10
        XCTAssertEqual(pages, 2)
        XCTAssertEqual(objects.count, 1003)
        XCTAssertEqual(
            objects.map(\.key), objects.map(\.key).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        let byKey = Dictionary(uniqueKeysWithValues: objects.map { ($0.key, $0) })
        XCTAssertEqual(byKey["dir/a b+c.txt"]?.size, 11)
        XCTAssertEqual(byKey["dir/a b+c.txt"]?.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3")
        XCTAssertEqual(byKey["café/ü.bin"]?.size, Int64(big.count))
        XCTAssertEqual(byKey["café/ü.bin"]?.storageClass, "STANDARD_IA")
        XCTAssertGreaterThan(byKey["many/01000"]?.lastModified ?? 0, 1_700_000_000)

        let small = try source.open(bucket: "alpha", region: "us-east-1", key: "dir/a b+c.txt")
        XCTAssertEqual(small.head.size, 11)
        XCTAssertEqual(small.head.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3")
        XCTAssertEqual(small.head.contentType, "text/plain")
        XCTAssertEqual(small.head.headers["cache-control"], "max-age=60")
        XCTAssertEqual(small.head.headers["x-amz-meta-color"], "blue")
        XCTAssertEqual(small.head.checksums["sha256"], "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")
        XCTAssertEqual(try readAll(small), Array("hello world".utf8))

        let reader = try source.open(bucket: "alpha", region: "us-east-1", key: "café/ü.bin")
        XCTAssertEqual(reader.head.etag, hexEncode(Digest.hash(.md5, big)))
        XCTAssertEqual(try readAll(reader), big)

        XCTAssertEqual(
            try readAll(try source.open(bucket: "beta", region: "eu-west-1", key: "x")), Array("in beta".utf8))
        XCTAssertEqual(
            sourceError { _ = try source.listObjects(bucket: "nope", region: "us-east-1", continuation: nil) },
            .noSuchBucket("nope"))
        XCTAssertEqual(
            sourceError { _ = try source.open(bucket: "alpha", region: "us-east-1", key: "missing") },
            .noSuchKey("missing"))
    }
}
