import GatewayCore

/// The `<CORSConfiguration>` document: read (PutBucketCors's body, and the canonical copy the
/// store keeps) and written back (GetBucketCors). The document's shape is checked here first
/// (S3's MalformedXML), then the rules' values (`CORSConfiguration.validate`, InvalidRequest).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html
public enum CORSXML {
    static let ruleElements: Set<String> = [
        "ID", "AllowedMethod", "AllowedOrigin", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds",
    ]

    /// Parses and validates a configuration.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> CORSConfiguration {
        let c = try shape(bytes)
        try c.validate()
        return c
    }

    /// The configuration as written, its shape checked but not its values: 1 to 100 rules, each
    /// with at least one AllowedMethod and AllowedOrigin, at most one ID (≤ 255 characters) and
    /// MaxAgeSeconds (a non-negative 32-bit integer), nothing else, no stray text.
    static func shape(_ bytes: [UInt8]) throws(S3Error) -> CORSConfiguration {
        guard let root = XMLNode.parse(bytes), root.name == "CORSConfiguration", isBlank(root.text) else {
            throw S3Error(.malformedXML)
        }
        let ruleNodes = root.children
        guard !ruleNodes.isEmpty, ruleNodes.count <= CORSConfiguration.maxRules,
            ruleNodes.allSatisfy({ $0.name == "CORSRule" })
        else { throw S3Error(.malformedXML) }
        var rules: [CORSRule] = []
        for node in ruleNodes { rules.append(try rule(node)) }
        return CORSConfiguration(rules: rules)
    }

    static func rule(_ node: XMLNode) throws(S3Error) -> CORSRule {
        guard isBlank(node.text) else { throw S3Error(.malformedXML) }
        for c in node.children {
            // A value holds text only.
            guard ruleElements.contains(c.name), c.children.isEmpty else { throw S3Error(.malformedXML) }
        }
        let ids = node.children("ID")
        let ages = node.children("MaxAgeSeconds")
        guard ids.count <= 1, ages.count <= 1 else { throw S3Error(.malformedXML) }
        let r = CORSRule(
            id: ids.first?.text,
            allowedMethods: node.children("AllowedMethod").map(\.text),
            allowedOrigins: node.children("AllowedOrigin").map(\.text),
            allowedHeaders: node.children("AllowedHeader").map(\.text),
            exposeHeaders: node.children("ExposeHeader").map(\.text),
            maxAgeSeconds: try ages.first.map { a throws(S3Error) in try maxAge(a.text) })
        guard !r.allowedMethods.isEmpty, !r.allowedOrigins.isEmpty,
            (r.id?.count ?? 0) <= CORSConfiguration.maxIdLength
        else { throw S3Error(.malformedXML) }
        return r
    }

    /// Digits only (no sign, fraction, exponent or unit), within a 32-bit signed integer.
    static func maxAge(_ text: String) throws(S3Error) -> Int {
        let t = text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed()
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && $0.isNumber }), t.count <= 10, let v = Int(String(t)),
            v <= Int(Int32.max)
        else { throw S3Error(.malformedXML) }
        return v
    }

    static func isBlank(_ s: String) -> Bool { s.allSatisfy(\.isWhitespace) }

    /// The canonical document: what the store keeps and GET answers, each rule's elements in
    /// S3's order.
    public static func render(_ c: CORSConfiguration) -> String {
        var x = XMLWriter()
        x.open("CORSConfiguration", namespace: XMLWriter.s3Namespace)
        for r in c.rules {
            x.open("CORSRule")
            if let id = r.id { x.element("ID", id) }
            for m in r.allowedMethods { x.element("AllowedMethod", m) }
            for o in r.allowedOrigins { x.element("AllowedOrigin", o) }
            for h in r.allowedHeaders { x.element("AllowedHeader", h) }
            if let age = r.maxAgeSeconds { x.element("MaxAgeSeconds", age) }
            for h in r.exposeHeaders { x.element("ExposeHeader", h) }
            x.close("CORSRule")
        }
        x.close("CORSConfiguration")
        return x.document
    }
}
