import Foundation
import GatewayCore
import GatewayTesting
import Logging
import Metrics
import SigV4
import XCTest

@testable import Gateway
@testable import MetadataSQL
@testable import Metrics

/// `/metrics`, `/admin/metrics`, `/healthz` and `/readyz` through S3Gateway.handle, counting into
/// a real counter file: what a request does shows in the text, and who may read it.
final class MetricsEndpointTests: XCTestCase {
    var root: String!

    override func setUp() { root = NSTemporaryDirectory() + "metrics-gw-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func gateway(
        zones: [ZoneCatalog.Zone] = [ZoneCatalog.Zone(name: "zone-a", country: "se", region: "se-sto")],
        allow: [String] = ["127.0.0.1", "::1"]
    ) throws -> TestGateway {
        var settings = MetricsSettings()
        settings.allow = allow.compactMap(AddressRange.init)
        let directory = CounterDirectory(path: root)
        let metrics = GatewayMetrics(
            settings: settings, directory: directory,
            recorder: MetricsRecorder(file: try directory.create(kind: "worker")))
        return TestGateway(zones: zones, metrics: metrics) {
            $0.observers = [MetricsObserver(recorder: metrics.recorder!)]
        }
    }

    func scrape(_ gw: TestGateway) -> [String] {
        let r = gw.send("GET", "/metrics", sign: false, remoteAddress: "127.0.0.1")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return r.text.split(separator: "\n").map(String.init)
    }

    func testRequestsShowByOperationAndStatus() throws {
        let gw = try gateway()
        XCTAssertEqual(gw.send("PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: Array(repeating: 1, count: 1000)).status, 200)
        XCTAssertEqual(gw.send("GET", "/photos/a").body.count, 1000)
        XCTAssertEqual(gw.send("GET", "/photos/missing").status, 404)
        XCTAssertEqual(gw.send("GET", "/photos/a", secret: "wrong").status, 403)
        let text = scrape(gw)
        for line in [
            #"s3gw_requests_total{operation="CreateBucket",status="200"} 1"#,
            #"s3gw_requests_total{operation="PutObject",status="200"} 1"#,
            #"s3gw_requests_total{operation="GetObject",status="200"} 1"#,
            #"s3gw_requests_total{operation="GetObject",status="404"} 1"#,
            #"s3gw_requests_total{operation="Unknown",status="403"} 1"#,
            #"s3gw_auth_failures_total{reason="SignatureDoesNotMatch"} 1"#,
            #"s3gw_request_bytes_total{operation="PutObject"} 1000"#,
            #"s3gw_request_duration_seconds_count{operation="GetObject"} 2"#,
            #"s3gw_zone_request_duration_seconds_count{zone="zone-a",call="beginWrite"} 1"#,
            #"s3gw_zone_up{zone="zone-a",country="se"} 1"#,
            "s3gw_requests_in_flight 0",
        ] {
            XCTAssertTrue(text.contains { $0.hasPrefix(line) }, "missing \(line)")
        }
        // The object's 1000 bytes, and the 404's error document.
        let sent = text.first { $0.hasPrefix(#"s3gw_response_bytes_total{operation="GetObject"} "#) }
        XCTAssertGreaterThanOrEqual(sent.flatMap { Double($0.split(separator: " ").last!) } ?? 0, 1000)
        // Scrapes and probes are not requests of the gateway's APIs: not counted.
        gw.send("GET", "/healthz", sign: false)
        XCTAssertEqual(
            scrape(gw).filter { $0.hasPrefix("s3gw_requests_total{") }.count, 5,
            "no series for /metrics or /healthz")
    }

    func testTheAuditChainsLengthAndDigestAgeAreScraped() throws {
        let gw = try gateway()
        XCTAssertEqual(gw.send("PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/a", body: [1]).status, 200)
        let records = try gw.metadata.auditRecords(AuditQuery(limit: 1000)).count
        var text = scrape(gw)
        XCTAssertTrue(text.contains("s3gw_audit_records_total \(records)"), "\(text.filter { $0.contains("audit") })")
        XCTAssertFalse(text.contains { $0.hasPrefix("s3gw_audit_last_digest_age_seconds ") }, "no digest yet")
        let key = Ed25519Key(seed: Array(repeating: 5, count: 32))!
        let now = gw.context.clock.now()
        _ = try AuditDigests(store: gw.metadata, key: key, settings: AuditSettings(), zone: nil).run(now: now)
        text = scrape(gw)
        let age = text.first { $0.hasPrefix("s3gw_audit_last_digest_age_seconds ") }
        let seconds = try XCTUnwrap(age.flatMap { Double($0.split(separator: " ")[1]) })
        XCTAssertTrue((0..<(15 * 60 + 1)).contains(seconds), "\(seconds)")
    }

    func testDisabledMetricsAnswerNotFound() {
        let gw = TestGateway()  // no metrics in its context
        XCTAssertEqual(gw.send("GET", "/metrics", sign: false, remoteAddress: "127.0.0.1").status, 404)
        XCTAssertEqual(gw.send("GET", "/admin/metrics").status, 404)
        XCTAssertEqual(gw.send("GET", "/healthz", sign: false).status, 200)
    }

    func testOnlyAllowedAddressesMayScrape() throws {
        let gw = try gateway(allow: ["10.0.0.0/8"])
        XCTAssertEqual(gw.send("GET", "/metrics", sign: false, remoteAddress: "10.1.2.3").status, 200)
        let denied = gw.send("GET", "/metrics", sign: false, remoteAddress: "127.0.0.1")
        XCTAssertEqual(denied.status, 403)
        XCTAssertFalse(denied.text.contains("s3gw_"))
        XCTAssertEqual(gw.send("GET", "/metrics", sign: false).status, 403, "no address at all")
        XCTAssertEqual(gw.send("POST", "/metrics", sign: false, remoteAddress: "10.1.2.3").status, 405)
    }

    /// nginx lets any signed /metrics through (it cannot tell a virtual-hosted `metrics` key);
    /// the gateway refuses a signed path-style one even from an allowed address.
    func testASignedScrapeIsRefused() throws {
        let gw = try gateway()
        for (uri, headers) in [
            ("/metrics", [("Authorization", "x")]),
            ("/metrics?X-Amz-Signature=abc", []),
            ("/metrics?x-amz-signature=abc", []),
            ("/metrics?Signature=abc&AWSAccessKeyId=k", []),
        ] {
            let r = gw.send("GET", uri, headers: headers, sign: false, remoteAddress: "127.0.0.1")
            XCTAssertEqual(r.status, 403, uri)
            XCTAssertFalse(r.text.contains("s3gw_"), uri)
        }
        let signed = gw.send("GET", "/metrics", remoteAddress: "127.0.0.1")
        XCTAssertEqual(signed.status, 403)
        XCTAssertFalse(signed.text.contains("s3gw_"))
        XCTAssertEqual(
            gw.send("GET", "/metrics?x-amz-signaturex=1", sign: false, remoteAddress: "127.0.0.1").status, 200)
    }

    /// A refused POST's body is read (up to 1 MiB) so nginx delivers the 405, not a reset.
    func testAProbeRefusingAMethodDrainsTheBody() throws {
        let gw = try gateway()
        for path in ["/metrics", "/healthz", "/readyz"] {
            let body = MemorySource(Array(repeating: UInt8(7), count: 300_000))
            let recorder = TestGateway.Recorder()
            gw.gateway.handle(
                params: ["REQUEST_METHOD": "POST", "REQUEST_URI": path, "CONTENT_LENGTH": "300000"], body: body,
                response: recorder)
            XCTAssertEqual(recorder.status, 405, path)
            var rest = [UInt8](repeating: 0, count: 16)
            XCTAssertEqual(try rest.withUnsafeMutableBytes { try body.read(into: $0) }, 0, "\(path): body left unread")
        }
    }

    func testAdminMetricsIsSignedAndCounted() throws {
        let gw = try gateway(allow: [])
        XCTAssertEqual(gw.send("GET", "/admin/metrics", sign: false).status, 403)
        let r = gw.send("GET", "/admin/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), Exposition.contentType)
        XCTAssertEqual(r.headers.filter { $0.name == "Content-Type" }.count, 1)
        let again = gw.send("GET", "/admin/metrics").text
        XCTAssertTrue(again.contains(#"s3gw_requests_total{operation="admin:GetMetrics",status="200"} 1"#), again)
        XCTAssertTrue(again.contains(#"s3gw_requests_total{operation="admin:GetMetrics",status="403"} 1"#))
    }

    func testMetricsIsTheBucketsOnlyVirtualHosted() throws {
        let gw = try gateway()
        // Virtual-hosted, /metrics is a key of a bucket; the bucket name is reserved.
        let create = gw.send("PUT", "/", host: "metrics.s3.example.test")
        XCTAssertEqual(create.status, 400)
        XCTAssertEqual(create.errorCode, "InvalidBucketName")
        for name in ["healthz", "readyz"] {
            XCTAssertEqual(gw.send("PUT", "/", host: "\(name).s3.example.test").errorCode, "InvalidBucketName")
        }
        XCTAssertEqual(gw.send("GET", "/metrics", host: "photos.s3.example.test").errorCode, "NoSuchBucket")
    }

    // MARK: health

    func testHealthzAndReadyz() throws {
        let gw = try gateway(zones: [
            ZoneCatalog.Zone(name: "zone-a", country: "se", region: "se-sto"),
            ZoneCatalog.Zone(name: "zone-b", country: "se", region: "se-got"),
            ZoneCatalog.Zone(name: "zone-c", country: "fi", region: "fi-hel"),
        ])
        gw.send("PUT", "/secret-bucket-name")
        let health = gw.send("GET", "/healthz", sign: false)
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.text, #"{"status":"ok"}"#)
        XCTAssertEqual(health.header("Cache-Control"), "no-store")
        let ready = gw.send("GET", "/readyz", sign: false)
        XCTAssertEqual(ready.status, 200, ready.text)
        XCTAssertEqual(
            ready.text,
            #"{"countries":{"fi":{"healthy":1,"zones":1},"se":{"healthy":2,"zones":2}},"metadata":"ok","status":"ready"}"#
        )

        // One of Sweden's two zones down: still ready. Finland's only zone down: not.
        try gw.metadata.recordZoneHealth(down("zone-a"))
        XCTAssertEqual(gw.send("GET", "/readyz", sign: false).status, 200)
        try gw.metadata.recordZoneHealth(down("zone-c"))
        let notReady = gw.send("GET", "/readyz", sign: false)
        XCTAssertEqual(notReady.status, 503)
        XCTAssertTrue(notReady.text.contains(#""status":"not ready""#), notReady.text)
        XCTAssertTrue(notReady.text.contains(#""problems":["no healthy zone in fi"]"#), notReady.text)
        XCTAssertTrue(notReady.text.contains(#""fi":{"healthy":0,"zones":1}"#), notReady.text)
        for body in [health.text, ready.text, notReady.text] {
            XCTAssertFalse(body.contains("secret-bucket-name") || body.contains("zone-"), body)
        }
        // The exposition agrees.
        XCTAssertTrue(scrape(gw).contains(#"s3gw_zone_up{zone="zone-c",country="fi"} 0"#))
    }

    /// A metadata store whose reads fail (here: its zone_health table is gone) makes /readyz
    /// 503 with `"metadata":"unavailable"`, and the answer names nothing of the store's error.
    func testReadyzIsNotReadyWhenTheMetadataStoreDoesNotAnswer() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let store = try sqlStore(dir: root)
        let (_, identities) = TestGateway.identities(InMemoryMetadataStore())
        let gateway = S3Gateway(
            context: GatewayContext(
                metadata: store, zones: ["zone-a": InMemoryZone(name: "zone-a")],
                catalog: ZoneCatalog(
                    zones: [ZoneCatalog.Zone(name: "zone-a", country: "se", region: "se-sto")], defaultZone: "zone-a"),
                identities: identities, clock: FixedClock(TestGateway.now), installationSecret: [],
                logger: Logger(label: "test")))
        func readyz() -> TestGateway.Recorder {
            let recorder = TestGateway.Recorder()
            gateway.handle(
                params: ["REQUEST_METHOD": "GET", "REQUEST_URI": "/readyz"], body: MemorySource([]), response: recorder)
            return recorder
        }
        XCTAssertEqual(readyz().status, 200)
        try store.withConnection { db throws(StoreError) in try db.exec("DROP TABLE zone_health") }
        let r = readyz()
        let text = String(decoding: r.body, as: UTF8.self)
        XCTAssertEqual(r.status, 503, text)
        XCTAssertEqual(
            text,
            #"{"countries":{},"metadata":"unavailable","problems":["the metadata store does not answer"],"status":"not ready"}"#
        )
        XCTAssertFalse(text.contains("zone_health"), text)
    }

    func testADegradedZoneStillServes() {
        let metadata = gwMetadata()
        try? metadata.recordZoneHealth(
            ZoneHealth(
                zone: "zone-a", state: .degraded, lastError: "slow", latency: 3, checkedAt: 0, consecutiveFailures: 1))
        let r = Readiness.check(
            ZoneCatalog(zones: [ZoneCatalog.Zone(name: "zone-a", country: "se", region: "r")], defaultZone: "zone-a"),
            metadata)
        XCTAssertTrue(r.ready)
        XCTAssertEqual(r.countries["se"], Readiness.Country(zones: 1, healthy: 1))
    }

    func gwMetadata() -> any MetadataStore { TestGateway().metadata }

    func down(_ zone: String) -> ZoneHealth {
        ZoneHealth(zone: zone, state: .down, lastError: "gone", latency: 0, checkedAt: 0, consecutiveFailures: 3)
    }

    // MARK: labels and configuration

    func testOperationLabelsComeFromBoundedSets() {
        func op(_ origin: RequestTrace.Origin, _ operation: String) -> String {
            let t = RequestTrace(requestId: "1", origin: origin, started: 0)
            t.operation = operation
            return MetricsObserver.operation(t)
        }
        XCTAssertEqual(op(.s3, "GetObject"), "GetObject")
        XCTAssertEqual(op(.s3, ""), "Unknown")
        XCTAssertEqual(op(.sts, "AssumeRole"), "AssumeRole")
        XCTAssertEqual(op(.sts, "MadeUp\(UUID())"), "Unknown")
        XCTAssertEqual(op(.admin, "GET /admin/"), "GET /admin/")
        XCTAssertEqual(op(.admin, "BREW\(UUID()) /admin/"), "Unknown")
    }

    func testAddressRanges() {
        func range(_ s: String) -> AddressRange { AddressRange(s)! }
        XCTAssertTrue(range("127.0.0.1").contains("127.0.0.1"))
        XCTAssertFalse(range("127.0.0.1").contains("127.0.0.2"))
        XCTAssertTrue(range("127.0.0.1").contains("::ffff:127.0.0.1"))
        XCTAssertTrue(range("10.0.0.0/8").contains("10.255.1.2"))
        XCTAssertFalse(range("10.0.0.0/8").contains("11.0.0.1"))
        XCTAssertTrue(range("192.168.4.0/22").contains("192.168.7.255"))
        XCTAssertFalse(range("192.168.4.0/22").contains("192.168.8.0"))
        XCTAssertTrue(range("0.0.0.0/0").contains("8.8.8.8"))
        XCTAssertFalse(range("0.0.0.0/0").contains("::1"))
        XCTAssertTrue(range("::1").contains("::1"))
        XCTAssertTrue(range("fd00::/8").contains("fd12:3456::1"))
        XCTAssertFalse(range("fd00::/8").contains("fe80::1"))
        XCTAssertFalse(range("::/0").contains("unix:"))
        XCTAssertFalse(range("127.0.0.1").contains(""))
        for bad in ["", "localhost", "1.2.3.4/33", "1.2.3.4/", "::1/129", "1.2.3.4/-1", "1.2.3"] {
            XCTAssertNil(AddressRange(bad), bad)
        }
    }

    func testMetricsConfiguration() throws {
        let zones = """
            [[zones]]
            name = "z1"
            path = "/data/z1"
            """
        let defaults = try GatewayConfig.parse(zones, file: "t.toml")
        XCTAssertTrue(defaults.metrics.enabled)
        XCTAssertEqual(defaults.metrics.allow.map(\.description), ["127.0.0.1", "::1"])
        let set = try GatewayConfig.parse(
            "[metrics]\nenabled = false\nallow = [\"10.0.0.0/8\", \"fd00::/8\"]\n" + zones, file: "t.toml")
        XCTAssertFalse(set.metrics.enabled)
        XCTAssertNil(GatewayMetrics.open(set, kind: "worker", logger: Logger(label: "t")), "disabled: no counter file")
        XCTAssertTrue(set.metrics.allows("10.9.9.9"))
        XCTAssertFalse(set.metrics.allows("127.0.0.1"))
        XCTAssertThrowsError(try GatewayConfig.parse("[metrics]\nallow = [\"10.0.0.0/33\"]\n" + zones, file: "t.toml"))
        {
            XCTAssertEqual("\($0)", "t.toml:2: allow: \"10.0.0.0/33\" is not an address or a CIDR range")
        }
        XCTAssertThrowsError(try GatewayConfig.parse("[metrics]\nport = 9\n" + zones, file: "t.toml"))
        for bad in ["1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4/", "::1/-0", "1.2.3.4/08x"] {
            XCTAssertNil(AddressRange(bad), bad)
        }
        XCTAssertEqual(AddressRange("10.0.0.0/08")?.contains("10.1.2.3"), true)
    }

    /// A counter file that cannot be created (here: `metrics` is a plain file) must not stop a
    /// worker from starting: it runs without a recorder and its scrapes still answer.
    func testAWorkerWhoseCounterFileCannotBeCreatedStillStarts() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root + "/metrics", contents: Data("x".utf8))
        var config = try GatewayConfig.parse("[[zones]]\nname = \"z1\"\npath = \"/data/z1\"\n", file: "t.toml")
        config.stateDir = root
        let metrics = try XCTUnwrap(GatewayMetrics.open(config, kind: "worker", logger: Logger(label: "t")))
        XCTAssertNil(metrics.recorder)
    }

    /// Zone names and countries become labels, and a zone's name part of counter-file keys: a
    /// name too long for a key would silently go uncounted, so the configuration refuses it.
    func testZoneNamesAndCountriesAreCheckedSoTheirSeriesFit() throws {
        func zone(_ name: String, country: String = "se") -> String {
            "[[zones]]\nname = \"\(name)\"\ncountry = \"\(country)\"\npath = \"/data/z\"\n"
        }
        let longest = String(repeating: "z", count: ZoneLabels.maxNameLength)
        XCTAssertNoThrow(try GatewayConfig.parse(zone(longest), file: "t.toml"))
        XCTAssertNoThrow(try GatewayConfig.parse(zone("fi-hel_1", country: ""), file: "t.toml"))
        for bad in [longest + "z", "a b", "zone\\r", "zöne", "a,b"] {
            XCTAssertThrowsError(try GatewayConfig.parse(zone(bad), file: "t.toml"), bad)
        }
        for bad in ["s e", "se,fi", String(repeating: "x", count: 17), "s\\\""] {
            XCTAssertThrowsError(try GatewayConfig.parse(zone("z1", country: bad), file: "t.toml"), bad)
        }
        // The longest name's series fit a counter file's key for every call and bucket.
        let f = MetricFamily.zoneDuration
        for call in ["listBackendBuckets", "completeMultipart", "listZoneUploads", "beginPartWrite", "commit"] {
            for i in [CounterFile.sumPart] + Array(0...f.buckets.count) {
                let key = SeriesKey.make(f, [longest, call], part: SeriesKey.part(f, i))
                XCTAssertLessThanOrEqual(key.utf8.count, CounterFile.maxKey, key)
            }
        }
    }
}
