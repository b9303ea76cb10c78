import Foundation
import Gateway
import GatewayCore
import XCTest

/// The endpoints discovery may connect to: what the default and a configured list allow, how
/// endpoints are normalized, and the URLs that try to reach something else (an internal address
/// spelled as a number, user info, a path) refused naming the host only.
final class EndpointAllowListTests: XCTestCase {
    let list = EndpointAllowList(
        patterns: EndpointAllowList.awsPatterns + [
            "https://minio.example.net:9000", "http://127.0.0.1:5000", "https://*.objects.example.org",
            "https://ceph-*.example.com", "http://[::1]:7480",
        ])

    /// Allowed endpoints and what `check` returns for them.
    static let allowed: [(String, String)] = [
        ("https://s3.amazonaws.com", "https://s3.amazonaws.com"),
        ("https://s3.amazonaws.com/", "https://s3.amazonaws.com"),
        ("HTTPS://S3.AmazonAWS.com", "https://s3.amazonaws.com"),
        ("https://s3.amazonaws.com:443", "https://s3.amazonaws.com"),
        ("https://s3.eu-west-1.amazonaws.com", "https://s3.eu-west-1.amazonaws.com"),
        ("https://s3-eu-west-1.amazonaws.com", "https://s3-eu-west-1.amazonaws.com"),
        ("https://minio.example.net:9000", "https://minio.example.net:9000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://fsn1.objects.example.org", "https://fsn1.objects.example.org"),
        ("https://ceph-hel1.example.com", "https://ceph-hel1.example.com"),
        ("http://[::1]:7480", "http://[::1]:7480"),
    ]

    /// Refused endpoints and the host the error names.
    static let refused: [(String, String)] = [
        // Not listed.
        ("https://evil.example.com", "evil.example.com"),
        ("https://s3.amazonaws.com.evil.example.com", "s3.amazonaws.com.evil.example.com"),
        ("https://evils3.amazonaws.com", "evils3.amazonaws.com"),
        ("https://169.254.169.254", "169.254.169.254"),
        ("http://localhost:5000", "localhost"),
        // A * is one label, never a dot.
        ("https://s3.a.b.amazonaws.com", "s3.a.b.amazonaws.com"),
        ("https://s3..amazonaws.com", ""),
        ("https://bucket.s3.eu-west-1.amazonaws.com", "bucket.s3.eu-west-1.amazonaws.com"),
        ("https://s3-.amazonaws.com", "s3-.amazonaws.com"),
        ("https://objects.example.org", "objects.example.org"),
        ("https://a.b.objects.example.org", "a.b.objects.example.org"),
        // Scheme and port matter.
        ("http://s3.amazonaws.com", "s3.amazonaws.com"),
        ("https://s3.amazonaws.com:8443", "s3.amazonaws.com"),
        ("https://minio.example.net", "minio.example.net"),
        ("http://minio.example.net:9000", "minio.example.net"),
        ("https://127.0.0.1:5000", "127.0.0.1"),
        ("http://127.0.0.1", "127.0.0.1"),
        ("ftp://s3.amazonaws.com", ""),
        ("file:///etc/passwd", ""),
        ("gopher://127.0.0.1:5000", ""),
        ("s3.amazonaws.com", ""),
        ("//s3.amazonaws.com", ""),
        // Nothing but scheme, host and port.
        ("https://user:secret@s3.amazonaws.com", ""),
        ("https://s3.amazonaws.com@169.254.169.254", ""),
        ("https://s3.amazonaws.com/bucket", ""),
        ("https://s3.amazonaws.com?X-Amz-Signature=abc", ""),
        ("https://s3.amazonaws.com#frag", ""),
        ("https://s3.amazonaws.com\\@evil.com", ""),
        ("https://s3.amazonaws.com:", ""),
        ("https://s3.amazonaws.com:99999", ""),
        ("https://s3.amazonaws.com:+443", ""),
        ("https://s3.amazonaws.com.", ""),
        ("https://s3.amazon%61ws.com", ""),
        ("https://s3.amazonaws.com %0d%0aHost: x", ""),
        ("https://s3.ａmazonaws.com", ""),
        ("https://", ""),
        ("", ""),
        // The listed address in any other spelling.
        ("http://2130706433:5000", ""),
        ("http://0x7f000001:5000", ""),
        ("http://0x7f.0.0.1:5000", ""),
        ("http://0177.0.0.1:5000", ""),
        ("http://127.1:5000", ""),
        ("http://127.0.1:5000", ""),
        ("http://127.0.0.01:5000", ""),
        ("http://127.000.000.001:5000", ""),
        ("http://[::ffff:127.0.0.1]:5000", "[::ffff:127.0.0.1]"),
        ("http://[0:0:0:0:0:0:0:1]:7480", "[0:0:0:0:0:0:0:1]"),
        ("http://[::1%25eth0]:7480", ""),
        ("http://1.2.3.4.5:5000", ""),
        ("http://256.0.0.1:5000", ""),
        ("https://s3.1", ""),
    ]

    func testAllowedEndpointsAreNormalized() {
        for (endpoint, normalized) in Self.allowed {
            XCTAssertEqual(try list.check(endpoint), normalized, endpoint)
        }
    }

    func testEverythingElseIsRefusedNamingTheHostOnly() {
        for (endpoint, host) in Self.refused {
            do {
                let accepted = try list.check(endpoint)
                XCTFail("\(endpoint) was accepted as \(accepted)")
            } catch {
                XCTAssertEqual(error, .endpointNotAllowed(host), endpoint)
                XCTAssertFalse(error.message.contains("secret"), error.message)
                XCTAssertFalse(error.message.contains("Signature"), error.message)
            }
        }
    }

    /// Patterns that would allow far more than meant, or nothing usable, are not patterns.
    func testBadPatternsAreRefused() {
        for pattern in [
            "https://*", "https://*.com", "https://s3.*", "https://*.*.amazonaws.com.*", "https://a.*.com",
            "https://**.example.com", "https://s*3*.example.com", "http://10.0.0.*", "http://10.*.0.1",
            "http://2130706433", "http://127.1", "https://user@s3.amazonaws.com", "https://s3.amazonaws.com/path",
            "ftp://s3.amazonaws.com", "s3.amazonaws.com", "https://s3.amazonaws.com:0", "",
        ] {
            XCTAssertNotNil(EndpointAllowList.problem(with: pattern), pattern)
            XCTAssertThrowsError(try EndpointAllowList(patterns: [pattern]).check("https://s3.amazonaws.com"), pattern)
        }
        for pattern in EndpointAllowList.awsPatterns + [
            "http://127.0.0.1:9000", "https://*.example.org", "http://[::1]",
        ] {
            XCTAssertNil(EndpointAllowList.problem(with: pattern), pattern)
        }
    }

    func testAnEmptyListAllowsNothing() {
        let empty = EndpointAllowList(patterns: [])
        XCTAssertEqual(
            Result { () throws(SourceError) in try empty.check("https://s3.amazonaws.com") }.failure,
            .endpointNotAllowed("s3.amazonaws.com"))
    }

    // MARK: configuration

    let zones = """
        [[zones]]
        name = "local"
        path = "/data/local"

        [[zones]]
        name = "fi-hel-uc-1"
        kind = "s3"
        endpoint = "https://fi-hel1.upcloudobjects.com"
        access_key = "a"
        secret_key = "b"

        [[zones]]
        name = "moto"
        kind = "s3"
        endpoint = "http://127.0.0.1:5000"
        access_key = "a"
        secret_key = "b"
        """

    /// Without [discovery]: AWS S3 and every provider zone, nothing else.
    func testTheDefaultIsAWSAndTheProviderZones() throws {
        let config = try GatewayConfig.parse(zones, file: "t.toml")
        XCTAssertNil(config.discoveryEndpoints)
        let list = EndpointAllowList(config: config)
        XCTAssertEqual(
            list.sources,
            EndpointAllowList.awsPatterns + ["https://fi-hel1.upcloudobjects.com", "http://127.0.0.1:5000"])
        for allowed in ["https://s3.amazonaws.com", "https://s3.eu-north-1.amazonaws.com", "http://127.0.0.1:5000"] {
            XCTAssertNoThrow(try list.check(allowed), allowed)
        }
        XCTAssertEqual(try list.check("HTTPS://FI-HEL1.upcloudobjects.com/"), "https://fi-hel1.upcloudobjects.com")
        XCTAssertThrowsError(try list.check("http://127.0.0.1:5001"))
        XCTAssertThrowsError(try list.check("https://minio.example.net"))
    }

    /// A zone's CA bundle goes with its endpoint, whatever spelling the zone uses.
    func testZoneCABundlesAreKeyedByTheNormalizedEndpoint() throws {
        let config = try GatewayConfig.parse(
            zones.replacingOccurrences(
                of: "endpoint = \"https://fi-hel1.upcloudobjects.com\"",
                with: "endpoint = \"https://FI-HEL1.upcloudobjects.com:443\"\nca_bundle = \"/etc/s3gw/uc.pem\""),
            file: "t.toml")
        let bundles = EndpointAllowList.zoneCABundles(config)
        XCTAssertEqual(bundles, ["https://fi-hel1.upcloudobjects.com": "/etc/s3gw/uc.pem"])
        XCTAssertEqual(
            bundles[try EndpointAllowList(config: config).check("https://fi-hel1.upcloudobjects.com")],
            "/etc/s3gw/uc.pem")
    }

    func testAConfiguredListReplacesTheDefault() throws {
        let config = try GatewayConfig.parse(
            "[discovery]\nendpoints = [\"https://minio.example.net:9000\", \"https://s3.*.amazonaws.com\"]\n\n" + zones,
            file: "t.toml")
        XCTAssertEqual(config.discoveryEndpoints, ["https://minio.example.net:9000", "https://s3.*.amazonaws.com"])
        let list = EndpointAllowList(config: config)
        XCTAssertNoThrow(try list.check("https://minio.example.net:9000"))
        XCTAssertNoThrow(try list.check("https://s3.eu-west-1.amazonaws.com"))
        XCTAssertThrowsError(try list.check("https://s3.amazonaws.com"))
        XCTAssertThrowsError(try list.check("http://127.0.0.1:5000"))

        let off = try GatewayConfig.parse("[discovery]\nendpoints = []\n" + zones, file: "t.toml")
        XCTAssertThrowsError(try EndpointAllowList(config: off).check("https://s3.amazonaws.com"))
    }

    func testABadPatternNamesItsLine() {
        for (text, says) in [
            (
                "[discovery]\nendpoints = [\"https://*.com\"]\n",
                "endpoints: \"https://*.com\" is not an endpoint pattern"
            ),
            ("[discovery]\nendpoints = \"https://s3.amazonaws.com\"\n", "endpoints: must be an array of strings"),
            ("[discovery]\nendpoint = []\n", "endpoint: unknown key"),
        ] {
            do {
                _ = try GatewayConfig.parse(text + zones, file: "t.toml")
                XCTFail("accepted: \(text)")
            } catch {
                XCTAssertEqual(error.line, 2, error.description)
                XCTAssertTrue(error.description.contains(says), error.description)
            }
        }
    }

    /// The example configuration documents the section: uncommented, it parses to its patterns.
    func testTheShippedExampleDocumentsTheSection() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../config/s3gw.toml"
        ).path
        let shipped = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertNil(try GatewayConfig.parse(shipped, file: path).discoveryEndpoints, "the default is documented")
        let uncommented = shipped.replacingOccurrences(of: "# [discovery]\n# endpoints", with: "[discovery]\nendpoints")
        XCTAssertNotEqual(uncommented, shipped)
        let config = try GatewayConfig.parse(uncommented, file: path)
        XCTAssertEqual(
            config.discoveryEndpoints, EndpointAllowList.awsPatterns + ["https://minio.example.net:9000"])
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
