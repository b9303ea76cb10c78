import GatewayCore
import XCTest

final class CORSConfigurationTests: XCTestCase {
    func rule(
        _ origins: [String] = ["*"], methods: [String] = ["GET"], headers: [String] = [], expose: [String] = [],
        maxAge: Int? = nil, id: String? = nil
    ) -> CORSRule {
        CORSRule(
            id: id, allowedMethods: methods, allowedOrigins: origins, allowedHeaders: headers, exposeHeaders: expose,
            maxAgeSeconds: maxAge)
    }

    func testOriginPatternsHaveOneCaseSensitiveWildcard() {
        let cases: [(String, String, Bool)] = [
            ("*", "https://example.com", true),
            ("*", "null", true),
            ("https://example.com", "https://example.com", true),
            ("https://example.com", "http://example.com", false),
            ("https://example.com", "https://example.com:8443", false),
            ("https://example.com", "https://EXAMPLE.com", false),
            ("https://*.example.com", "https://www.example.com", true),
            ("https://*.example.com", "https://a.b.example.com", true),
            ("https://*.example.com", "https://example.com", false),
            ("https://*.example.com", "https://www.Example.com", false),
            ("https://*.example.com", "https://www.example.com.evil", false),
            ("https://example.com:*", "https://example.com:8443", true),
            ("https://example.com:*", "https://example.com", false),
            ("http*", "https://x", true),
            // Prefix and suffix may not overlap in the origin.
            ("https://a*a", "https://aa", true),
            ("https://a*a", "https://a", false),
        ]
        for (pattern, origin, matches) in cases {
            let c = CORSConfiguration(rules: [rule([pattern])])
            XCTAssertEqual(c.match(origin: origin, method: "GET") != nil, matches, "\(pattern) vs \(origin)")
        }
    }

    func testMethodsAreExact() {
        let c = CORSConfiguration(rules: [rule(methods: ["GET", "PUT"])])
        XCTAssertNotNil(c.match(origin: "o", method: "PUT"))
        XCTAssertNil(c.match(origin: "o", method: "HEAD"))
        XCTAssertNil(c.match(origin: "o", method: "get"))
        XCTAssertNil(c.match(origin: "o", method: "OPTIONS"))
    }

    func testEveryRequestedHeaderMustBeAllowedCaseInsensitively() {
        let cases: [([String], String?, Bool)] = [
            ([], nil, true),
            ([], "content-type", false),
            (["content-type"], "Content-Type", true),
            (["Content-Type"], "content-type", true),
            (["content-type"], "content-type, x-amz-date", false),
            (["content-type", "X-Amz-*"], " X-AMZ-DATE ,content-type", true),
            (["x-amz-*"], "x-amz-", true),
            (["x-amz-*"], "x-amzn-trace-id", false),
            (["*"], "authorization, x-custom", true),
            (["x-*-id"], "x-request-id", true),
            (["x-*-id"], "x-id", false),
            (["content-type"], " , ,", true),
        ]
        for (allowed, requested, matches) in cases {
            let c = CORSConfiguration(rules: [rule(headers: allowed)])
            let names = CORSConfiguration.requestHeaderNames(requested)
            XCTAssertEqual(
                c.match(origin: "o", method: "GET", requestHeaders: names) != nil, matches,
                "\(allowed) vs \(requested ?? "nil")")
        }
        XCTAssertEqual(
            CORSConfiguration.requestHeaderNames("Content-Type,X-Amz-Date ,  x-amz-meta-Name"),
            ["content-type", "x-amz-date", "x-amz-meta-name"])
    }

    func testTheFirstRuleMatchingOriginMethodAndHeadersWins() {
        let exact = rule(["https://example.com"], methods: ["GET", "PUT"], id: "exact")
        let pattern = rule(["https://*.com"], headers: ["*"], id: "pattern")
        let any = rule(["*"], methods: ["GET", "HEAD"], id: "any")
        let c = CORSConfiguration(rules: [exact, pattern, any])
        XCTAssertEqual(c.match(origin: "https://example.com", method: "GET")?.rule.id, "exact")
        XCTAssertEqual(c.match(origin: "https://example.com", method: "HEAD")?.rule.id, "any")
        XCTAssertEqual(
            c.match(origin: "https://example.com", method: "GET", requestHeaders: ["x-amz-date"])?.rule.id, "pattern")
        XCTAssertNil(c.match(origin: "https://example.com", method: "DELETE"))
        // Origin, method and headers must all be allowed by one rule.
        let split = CORSConfiguration(rules: [rule(["https://a"], methods: ["PUT"]), rule(["https://b"])])
        XCTAssertNil(split.match(origin: "https://a", method: "GET"))
        XCTAssertNil(CORSConfiguration(rules: []).match(origin: "https://a", method: "GET"))
    }

    func testAllowOriginIsTheOriginUnlessTheRuleAllowsEveryOne() {
        let c = CORSConfiguration(rules: [rule(["https://*.example.com"])])
        XCTAssertEqual(c.match(origin: "https://a.example.com", method: "GET")?.allowOrigin, "https://a.example.com")
        let star = CORSConfiguration(rules: [rule(["https://example.com", "*"])])
        XCTAssertEqual(star.match(origin: "https://example.com", method: "GET")?.allowOrigin, "*")
    }

    func testResponseHeadersInS3Order() {
        let site = rule(
            ["https://example.com"], methods: ["GET", "PUT", "DELETE"], headers: ["content-type", "x-amz-*"],
            expose: ["ETag", "x-amz-request-id"], maxAge: 3000)
        let m = CORSConfiguration(rules: [site]).match(origin: "https://example.com", method: "PUT")!
        let preflight = m.headers(allowedHeaders: ["content-type", "x-amz-date"])
        XCTAssertEqual(
            preflight,
            [
                Header("Access-Control-Allow-Origin", "https://example.com"),
                Header("Access-Control-Allow-Methods", "GET, PUT, DELETE"),
                Header("Access-Control-Allow-Headers", "content-type, x-amz-date"),
                Header("Access-Control-Expose-Headers", "ETag, x-amz-request-id"),
                Header("Access-Control-Max-Age", "3000"),
                Header("Access-Control-Allow-Credentials", "true"),
                Header("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
            ])
        let everyone = CORSConfiguration(rules: [rule(methods: ["GET", "HEAD"])]).match(origin: "x", method: "GET")!
        XCTAssertEqual(
            everyone.headers(),
            [
                Header("Access-Control-Allow-Origin", "*"),
                Header("Access-Control-Allow-Methods", "GET, HEAD"),
                Header("Vary", CORSConfiguration.vary),
            ])
    }

    func testValidationErrorsInS3Order() {
        func error(_ r: CORSRule...) -> String? {
            do {
                try CORSConfiguration(rules: r).validate()
                return nil
            } catch { return error.message }
        }
        XCTAssertNil(error(rule(["https://*.example.com"], methods: ["GET", "PUT", "HEAD", "POST", "DELETE"])))
        XCTAssertEqual(
            error(rule(methods: ["GET", "PATCH"])),
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH")
        XCTAssertEqual(
            error(rule(methods: ["get"])), "Found unsupported HTTP method in CORS config. Unsupported method is get")
        XCTAssertEqual(
            error(rule(["https://*.example.*"])),
            "AllowedOrigin \"https://*.example.*\" can not have more than one wildcard.")
        XCTAssertEqual(
            error(rule(headers: ["x-*-meta-*"])), "AllowedHeader \"x-*-meta-*\" can not have more than one wildcard.")
        XCTAssertEqual(
            error(rule(expose: ["x-amz-*"])),
            "ExposeHeader \"x-amz-*\" contains wildcard. We currently do not support wildcard for ExposeHeader.")
        // Methods are checked before origins, origins before headers, rule by rule.
        XCTAssertEqual(
            error(rule(["*.*"], methods: ["TRACE"], headers: ["*-*"])),
            "Found unsupported HTTP method in CORS config. Unsupported method is TRACE")
        XCTAssertEqual(
            error(rule(["*.*"], headers: ["*-*"])), "AllowedOrigin \"*.*\" can not have more than one wildcard.")
        XCTAssertEqual(
            error(rule(expose: ["x-*"]), rule(methods: ["TRACE"])),
            "ExposeHeader \"x-*\" contains wildcard. We currently do not support wildcard for ExposeHeader.")
    }
}
