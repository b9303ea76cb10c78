import GatewayCore

/// The `<LifecycleConfiguration>` document: read (PutBucketLifecycleConfiguration's body, and
/// the canonical copy the store keeps) and written back (GetBucketLifecycleConfiguration).
/// The XML's shape is checked here (S3's MalformedXML); the rules' values by
/// `LifecycleConfiguration.validate`.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
public enum LifecycleXML {
    /// Storage classes S3 accepts in a Transition; none maps to a zone yet.
    static let transitionClasses: Set<String> = [
        "GLACIER", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "DEEP_ARCHIVE", "GLACIER_IR",
    ]

    /// Parses and validates a configuration. Transitions (to a storage class) are refused with
    /// NotImplemented: no storage class maps to a zone of the bucket yet.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> LifecycleConfiguration {
        guard let root = XMLNode.parse(bytes), root.name == "LifecycleConfiguration" else {
            throw S3Error(.malformedXML)
        }
        try only(root, ["Rule"], repeatable: ["Rule"])
        var rules: [LifecycleRule] = []
        for node in root.children("Rule") { rules.append(try rule(node)) }
        let c = LifecycleConfiguration(rules: rules)
        try c.validate()
        return c
    }

    /// What a `<Rule>` may hold (LifecycleRule in S3's API reference); only the transitions
    /// repeat (flattened lists). Anything else, or a second Expiration, Filter and the like, is
    /// MalformedXML as in S3, never a part of the rule silently dropped.
    static let ruleElements: Set<String> = [
        "ID", "Prefix", "Filter", "Status", "Transition", "Expiration", "NoncurrentVersionTransition",
        "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload",
    ]

    /// MalformedXML unless every child of `node` is one of `allowed`, and only the
    /// `repeatable` ones appear more than once.
    static func only(_ node: XMLNode, _ allowed: Set<String>, repeatable: Set<String> = []) throws(S3Error) {
        var seen: Set<String> = []
        for c in node.children {
            guard allowed.contains(c.name) else { throw S3Error(.malformedXML) }
            guard seen.insert(c.name).inserted || repeatable.contains(c.name) else { throw S3Error(.malformedXML) }
        }
    }

    static func rule(_ node: XMLNode) throws(S3Error) -> LifecycleRule {
        try only(node, ruleElements, repeatable: ["Transition", "NoncurrentVersionTransition"])
        let status = trimmed(node.child("Status")?.text)
        guard status == "Enabled" || status == "Disabled" else { throw S3Error(.malformedXML) }
        let legacy = node.child("Prefix")
        let filterNode = node.child("Filter")
        // Exactly one of the rule-level Prefix (the original API) and Filter.
        guard (legacy == nil) != (filterNode == nil) else { throw S3Error(.malformedXML) }
        let f: LifecycleFilter
        if let legacy {
            f = LifecycleFilter(shape: .legacyPrefix, prefix: legacy.text)
        } else {
            f = try filter(filterNode!)
        }
        var r = LifecycleRule(id: node.child("ID")?.text ?? "", enabled: status == "Enabled", filter: f)
        // S3 names a rule sent without an id.
        if r.id.isEmpty { r.id = RandomID.make() }
        if let e = node.child("Expiration") { r.expiration = try expiration(e) }
        if let n = node.child("NoncurrentVersionExpiration") {
            try only(n, ["NoncurrentDays", "NewerNoncurrentVersions"])
            guard let days = try int(n.child("NoncurrentDays")) else { throw S3Error(.malformedXML) }
            r.noncurrentExpiration = NoncurrentVersionExpiration(
                noncurrentDays: days, newerNoncurrentVersions: try int(n.child("NewerNoncurrentVersions")))
        }
        if let a = node.child("AbortIncompleteMultipartUpload") {
            try only(a, ["DaysAfterInitiation"])
            guard let days = try int(a.child("DaysAfterInitiation")) else { throw S3Error(.malformedXML) }
            r.abortIncompleteUploadDays = days
        }
        for name in ["Transition", "NoncurrentVersionTransition"] {
            for t in node.children(name) {
                try only(
                    t,
                    name == "Transition"
                        ? ["Date", "Days", "StorageClass"]
                        : [
                            "NoncurrentDays", "NewerNoncurrentVersions", "StorageClass",
                        ])
                let storageClass = trimmed(t.child("StorageClass")?.text)
                guard transitionClasses.contains(storageClass) else {
                    throw S3Error(.invalidStorageClass, "The storage class you specified is not valid")
                }
                throw S3Error(
                    .notImplemented,
                    "\(name) (to storage class \(storageClass)) is not implemented by this gateway.")
            }
        }
        return r
    }

    static func filter(_ node: XMLNode) throws(S3Error) -> LifecycleFilter {
        guard node.children.count <= 1 else { throw S3Error(.malformedXML) }
        guard let only = node.children.first else { return LifecycleFilter() }
        var f = LifecycleFilter()
        switch only.name {
        case "And":
            f.shape = .and
            for c in only.children {
                switch c.name {
                case "Prefix":
                    guard f.prefix == nil else { throw S3Error(.malformedXML) }
                    f.prefix = c.text
                case "Tag": f.tags.append(try tag(c))
                case "ObjectSizeGreaterThan":
                    guard f.sizeGreaterThan == nil else { throw S3Error(.malformedXML) }
                    f.sizeGreaterThan = try int64(c)
                case "ObjectSizeLessThan":
                    guard f.sizeLessThan == nil else { throw S3Error(.malformedXML) }
                    f.sizeLessThan = try int64(c)
                default: throw S3Error(.malformedXML)
                }
            }
        case "Prefix": f.prefix = only.text
        case "Tag": f.tags = [try tag(only)]
        case "ObjectSizeGreaterThan": f.sizeGreaterThan = try int64(only)
        case "ObjectSizeLessThan": f.sizeLessThan = try int64(only)
        default: throw S3Error(.malformedXML)
        }
        return f
    }

    static func tag(_ node: XMLNode) throws(S3Error) -> Header {
        try only(node, ["Key", "Value"])
        guard let k = node.child("Key")?.text else { throw S3Error(.malformedXML) }
        return Header(k, node.child("Value")?.text ?? "")
    }

    static func expiration(_ node: XMLNode) throws(S3Error) -> LifecycleExpiration {
        try only(node, ["Days", "Date", "ExpiredObjectDeleteMarker"])
        let days = node.child("Days")
        let date = node.child("Date")
        let marker = node.child("ExpiredObjectDeleteMarker")
        // Exactly one: S3 refuses ExpiredObjectDeleteMarker beside Days or Date.
        guard [days, date, marker].compactMap({ $0 }).count == 1 else { throw S3Error(.malformedXML) }
        if let d = try int(days) { return .days(d) }
        if let marker {
            switch trimmed(marker.text) {
            case "true": return .expiredObjectDeleteMarker(true)
            case "false": return .expiredObjectDeleteMarker(false)
            default: throw S3Error(.malformedXML)
            }
        }
        return .date(try self.date(trimmed(date?.text)))
    }

    /// ISO 8601 (`2026-12-01T00:00:00Z`, `…00.000Z`), or a bare `2026-12-01`.
    static func date(_ s: String) throws(S3Error) -> Double {
        if let t = HTTPDate.parseISO8601(s) { return t }
        let u = Array(s.utf8)
        if u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"),
            let y = Int(s.prefix(4)), let m = Int(s.dropFirst(5).prefix(2)), let d = Int(s.suffix(2)),
            let t = HTTPDate.epoch(y, m, d, 0, 0, 0)
        {
            return Double(t)
        }
        throw S3Error(.invalidArgument, "Invalid date. The date should be in ISO 8601 format")
    }

    static func int(_ node: XMLNode?) throws(S3Error) -> Int? {
        guard let node else { return nil }
        guard let v = Int(trimmed(node.text)) else { throw S3Error(.malformedXML) }
        return v
    }

    static func int64(_ node: XMLNode) throws(S3Error) -> Int64 {
        guard let v = Int64(trimmed(node.text)) else { throw S3Error(.malformedXML) }
        return v
    }

    static func trimmed(_ s: String?) -> String {
        guard let s else { return "" }
        return String(s.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    // MARK: writing

    /// The canonical document: what the store keeps and GET answers. `transitionMinimumSize`:
    /// PUT's `x-amz-transition-default-minimum-object-size` when not S3's default, kept as an
    /// attribute of the root (XML readers skip it) that `stored(_:)` takes off again.
    public static func render(_ c: LifecycleConfiguration, transitionMinimumSize: String? = nil) -> String {
        var x = XMLWriter()
        if let size = transitionMinimumSize, size != defaultTransitionMinimumSize {
            x.openRaw(
                "<LifecycleConfiguration xmlns=\"\(XMLWriter.s3Namespace)\" \(minimumSizeAttribute)=\"\(XMLWriter.escape(size))\">"
            )
        } else {
            x.open("LifecycleConfiguration", namespace: XMLWriter.s3Namespace)
        }
        for r in c.rules {
            x.open("Rule")
            x.element("ID", r.id)
            render(r.filter, &x)
            x.element("Status", r.enabled ? "Enabled" : "Disabled")
            switch r.expiration {
            case .days(let d)?:
                x.open("Expiration")
                x.element("Days", d)
                x.close("Expiration")
            case .date(let t)?:
                x.open("Expiration")
                x.element("Date", HTTPDate.iso8601(t))
                x.close("Expiration")
            case .expiredObjectDeleteMarker(let b)?:
                x.open("Expiration")
                x.element("ExpiredObjectDeleteMarker", b)
                x.close("Expiration")
            case nil: break
            }
            if let n = r.noncurrentExpiration {
                x.open("NoncurrentVersionExpiration")
                x.element("NoncurrentDays", n.noncurrentDays)
                if let keep = n.newerNoncurrentVersions { x.element("NewerNoncurrentVersions", keep) }
                x.close("NoncurrentVersionExpiration")
            }
            if let d = r.abortIncompleteUploadDays {
                x.open("AbortIncompleteMultipartUpload")
                x.element("DaysAfterInitiation", d)
                x.close("AbortIncompleteMultipartUpload")
            }
            x.close("Rule")
        }
        x.close("LifecycleConfiguration")
        return x.document
    }

    public static let defaultTransitionMinimumSize = "all_storage_classes_128K"
    static let minimumSizeAttribute = "transitionDefaultMinimumObjectSize"

    /// A stored document (`render`'s) split into what GET answers: the document without the
    /// stored attribute, and the transition minimum size (S3's default when none was kept).
    public static func stored(_ doc: String) -> (document: String, transitionMinimumSize: String) {
        let open = " \(minimumSizeAttribute)=\""
        guard let start = doc.firstRange(of: open),
            let end = doc[start.upperBound...].firstIndex(of: "\"")
        else { return (doc, defaultTransitionMinimumSize) }
        let value = String(doc[start.upperBound..<end])
        return (String(doc[..<start.lowerBound]) + String(doc[doc.index(after: end)...]), value)
    }

    static func render(_ f: LifecycleFilter, _ x: inout XMLWriter) {
        func conditions(_ x: inout XMLWriter) {
            if let p = f.prefix { x.element("Prefix", p) }
            for t in f.tags {
                x.open("Tag")
                x.element("Key", t.name)
                x.element("Value", t.value)
                x.close("Tag")
            }
            if let g = f.sizeGreaterThan { x.element("ObjectSizeGreaterThan", g) }
            if let l = f.sizeLessThan { x.element("ObjectSizeLessThan", l) }
        }
        switch f.shape {
        case .legacyPrefix:
            x.element("Prefix", f.prefix ?? "")
        case .single:
            x.open("Filter")
            conditions(&x)
            x.close("Filter")
        case .and:
            x.open("Filter")
            x.open("And")
            conditions(&x)
            x.close("And")
            x.close("Filter")
        }
    }
}
