/// A bucket's CORS configuration (PutBucketCors), as validated: the rules a preflight `OPTIONS`
/// and every request carrying `Origin` are answered from. S3Protocol reads it from and renders it
/// to XML (`CORSXML`); the store keeps that canonical XML (`BucketRecord.cors`).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManageCorsUsing.html
public struct CORSConfiguration: Sendable, Equatable {
    /// S3's limits.
    public static let maxRules = 100
    public static let maxIdLength = 255
    /// The only methods a rule may allow (S3 has no CORS for OPTIONS, PATCH and the like).
    public static let methods: Set<String> = ["GET", "PUT", "HEAD", "POST", "DELETE"]

    public var rules: [CORSRule]

    public init(rules: [CORSRule]) { self.rules = rules }

    /// S3's checks beyond the XML's shape, in S3's order: rule by rule, the methods, then the
    /// origins, the allowed headers and the exposed ones (InvalidRequest with S3's texts).
    /// The document's shape (rule count, required elements, ID length) is MalformedXML, checked
    /// by the parser before this.
    public func validate() throws(S3Error) {
        for rule in rules {
            for m in rule.allowedMethods where !Self.methods.contains(m) {
                throw S3Error(
                    .invalidRequest, "Found unsupported HTTP method in CORS config. Unsupported method is \(m)")
            }
            for o in rule.allowedOrigins where Self.wildcards(o) > 1 {
                throw S3Error(.invalidRequest, "AllowedOrigin \"\(o)\" can not have more than one wildcard.")
            }
            for h in rule.allowedHeaders where Self.wildcards(h) > 1 {
                throw S3Error(.invalidRequest, "AllowedHeader \"\(h)\" can not have more than one wildcard.")
            }
            for h in rule.exposeHeaders where Self.wildcards(h) > 0 {
                throw S3Error(
                    .invalidRequest,
                    "ExposeHeader \"\(h)\" contains wildcard. We currently do not support wildcard for ExposeHeader.")
            }
        }
    }

    static func wildcards(_ s: String) -> Int { s.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "*") ? 1 : 0) } }

    /// The first rule that allows `origin` with `method` and every one of `requestHeaders`
    /// (lowercased names, `requestHeaderNames`), with the `Access-Control-Allow-Origin` it answers:
    /// `*` when the rule allows every origin by a literal `*`, else the origin itself.
    public func match(origin: String, method: String, requestHeaders: [String] = []) -> CORSMatch? {
        for rule in rules where rule.allowedMethods.contains(method) {
            guard rule.allowedOrigins.contains(where: { Self.matches(pattern: $0, origin) }) else { continue }
            guard
                requestHeaders.allSatisfy({ h in
                    rule.allowedHeaders.contains { Self.matches(pattern: $0.lowercased(), h) }
                })
            else { continue }
            return CORSMatch(rule: rule, allowOrigin: rule.allowedOrigins.contains("*") ? "*" : origin)
        }
        return nil
    }

    /// `pattern` with at most one `*` standing for any run of characters (none included);
    /// byte for byte otherwise (origins are compared case-sensitively, headers are lowercased
    /// by the caller).
    static func matches(pattern: String, _ value: String) -> Bool {
        let p = Array(pattern.utf8)
        guard let star = p.firstIndex(of: UInt8(ascii: "*")) else { return pattern == value }
        let v = Array(value.utf8)
        let prefix = p[..<star]
        let suffix = p[(star + 1)...]
        return v.count >= prefix.count + suffix.count && v.starts(with: prefix)
            && v.reversed().starts(with: suffix.reversed())
    }

    /// The names of an `Access-Control-Request-Headers` value: comma-separated, trimmed,
    /// lowercased (header names are case-insensitive), empty ones dropped.
    public static func requestHeaderNames(_ value: String?) -> [String] {
        guard let value else { return [] }
        return value.split(separator: ",").map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
    }

    /// What `Vary` names on every CORS answer: the answer depends on these request headers.
    public static let vary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
}

/// One `<CORSRule>`.
public struct CORSRule: Sendable, Equatable {
    /// nil when the client gave none (S3 makes none up).
    public var id: String?
    public var allowedMethods: [String]
    public var allowedOrigins: [String]
    public var allowedHeaders: [String]
    public var exposeHeaders: [String]
    public var maxAgeSeconds: Int?

    public init(
        id: String? = nil, allowedMethods: [String], allowedOrigins: [String], allowedHeaders: [String] = [],
        exposeHeaders: [String] = [], maxAgeSeconds: Int? = nil
    ) {
        self.id = id
        self.allowedMethods = allowedMethods
        self.allowedOrigins = allowedOrigins
        self.allowedHeaders = allowedHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAgeSeconds = maxAgeSeconds
    }
}

/// The rule a cross-origin request matched, and the response headers that follow from it.
public struct CORSMatch: Sendable, Equatable {
    public var rule: CORSRule
    /// `Access-Control-Allow-Origin`'s value.
    public var allowOrigin: String

    public init(rule: CORSRule, allowOrigin: String) {
        self.rule = rule
        self.allowOrigin = allowOrigin
    }

    /// The headers of the answer, in S3's order. A preflight names the request headers it
    /// allowed (`allowedHeaders`, the requested names); an actual request has none. Credentials
    /// are allowed unless the answer is for every origin (`*`, which browsers refuse with them).
    public func headers(allowedHeaders: [String] = []) -> [Header] {
        var h = [
            Header("Access-Control-Allow-Origin", allowOrigin),
            Header("Access-Control-Allow-Methods", rule.allowedMethods.joined(separator: ", ")),
        ]
        if !allowedHeaders.isEmpty {
            h.append(Header("Access-Control-Allow-Headers", allowedHeaders.joined(separator: ", ")))
        }
        if !rule.exposeHeaders.isEmpty {
            h.append(Header("Access-Control-Expose-Headers", rule.exposeHeaders.joined(separator: ", ")))
        }
        if let age = rule.maxAgeSeconds { h.append(Header("Access-Control-Max-Age", String(age))) }
        if allowOrigin != "*" { h.append(Header("Access-Control-Allow-Credentials", "true")) }
        h.append(Header("Vary", CORSConfiguration.vary))
        return h
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
