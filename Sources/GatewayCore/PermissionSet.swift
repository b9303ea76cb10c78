/// What a user may do, in the form administrators write it (DESIGN.md): action → resource
/// patterns, e.g. `{"s3:GetObject": ["my-bucket", "shared-*", "logs/2026/*"], "s3:*": ["admin"]}`.
/// Deny by default: a request is allowed only when some entry's action and one of its patterns
/// both match.
///
/// Actions are AWS's names (`s3:GetObject`), the gateway's `admin:*` and `sts:*` families, with
/// `*` as a wildcard, compared case-insensitively as IAM does. Patterns:
/// - `bucket`, `prefix-*`, `*`: the buckets they match and every object in them;
/// - `bucket/path/*` (a `/` after the bucket part): objects whose keys match the key part only,
///   and listings of that bucket whose prefix stays inside it (`logs/2026/*` lets ListObjects ask
///   for prefix `2026/03/`, not for the whole bucket);
/// - for `admin:`, `discovery:` and `migration:` actions, tenant ids (`*` for all; gateway-wide
///   operations need `*`).
public struct PermissionSet: Sendable, Equatable, Codable {
    public var rules: [String: [String]]

    public init(_ rules: [String: [String]] = [:]) { self.rules = rules }

    /// What a request touches.
    public enum Resource: Sendable, Equatable {
        case bucket(String)
        case object(bucket: String, key: String)
        /// Listing keys of `bucket` under `prefix`.
        case listing(bucket: String, prefix: String)
        /// An admin action on one tenant's users, credentials or buckets.
        case tenant(String)
        /// A gateway-wide admin action (zones, replication, failover, tenants themselves).
        case gateway
    }

    public func allows(_ action: String, on resource: Resource) -> Bool {
        let a = action.lowercased()
        for (pattern, resources) in rules {
            let p = pattern.lowercased()
            guard Self.globMatch(p, a) else { continue }
            // A pattern means a bucket for s3 actions but a tenant or a user name for admin and
            // sts ones: an action glob that names no family (`*`) reaches those only through
            // the resource `*`, so `{"*": ["team-*"]}` never makes anyone a tenant's admin.
            let crossesFamilies = Self.family(p) == nil && !a.hasPrefix("s3:")
            if resources.contains(where: { crossesFamilies ? $0 == "*" : Self.matches($0, resource) }) { return true }
        }
        return false
    }

    /// "s3" of `s3:Get*`; nil when the family itself is a wildcard (`*`, `*:Get*`).
    static func family(_ actionPattern: String) -> String? {
        guard let colon = actionPattern.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let f = actionPattern[..<colon]
        return f.contains("*") || f.contains("?") ? nil : String(f)
    }

    /// Whether everything `other` grants is granted here too. Decided conservatively for the
    /// shapes permissions take (`*`, a literal, a literal head and a trailing `*`): a grant this
    /// set might not cover counts as not covered. The admin API asks it so nobody hands out, or
    /// takes over a user holding, more than they hold themselves.
    public func covers(_ other: PermissionSet) -> Bool {
        other.rules.allSatisfy { action, patterns in
            let a = action.lowercased()
            return patterns.allSatisfy { p in
                rules.contains { mine, minePatterns in
                    Self.globCovers(mine.lowercased(), a) && minePatterns.contains { Self.patternCovers($0, p) }
                }
            }
        }
    }

    /// A resource pattern covers another when its bucket part covers theirs and, if it limits
    /// keys at all, its key part covers theirs (a bare bucket pattern covers its objects).
    static func patternCovers(_ wide: String, _ narrow: String) -> Bool {
        func split(_ p: String) -> (String, String?) {
            guard let slash = p.firstIndex(of: "/") else { return (p, nil) }
            return (String(p[..<slash]), String(p[p.index(after: slash)...]))
        }
        let (wb, wk) = split(wide)
        let (nb, nk) = split(narrow)
        guard globCovers(wb, nb) else { return false }
        guard let wk else { return true }
        guard let nk else { return false }
        return globCovers(wk, nk)
    }

    /// Whether every string `narrow` matches, `wide` matches too: equal, `*`, or `head*` whose
    /// head starts `narrow`'s literal text.
    static func globCovers(_ wide: String, _ narrow: String) -> Bool {
        if wide == narrow || wide == "*" { return true }
        guard wide.hasSuffix("*") else { return false }
        let head = wide.dropLast()
        guard !head.contains("*"), !head.contains("?") else { return false }
        // Every string `narrow` matches begins with `narrow`'s text up to its first wildcard.
        let literal = narrow.prefix { $0 != "*" && $0 != "?" }
        return literal.hasPrefix(head)
    }

    /// Whether any pattern names `bucket` (or objects in it), whatever the action: what a
    /// request the gateway does not implement may learn about the bucket's existence.
    public func reaches(bucket: String) -> Bool {
        rules.values.contains { patterns in
            patterns.contains { Self.globMatch(String($0.prefix { $0 != "/" }), bucket) }
        }
    }

    /// The resource patterns of every entry whose action matches `action`.
    public func patterns(for action: String) -> [String] {
        rules.filter { Self.globMatch($0.key.lowercased(), action.lowercased()) }.flatMap(\.value)
    }

    static func matches(_ pattern: String, _ resource: Resource) -> Bool {
        let slash = pattern.utf8.firstIndex(of: UInt8(ascii: "/"))
        let bucketPart = slash.map { String(pattern[..<$0]) } ?? pattern
        let keyPart = slash.map { String(pattern[pattern.utf8.index(after: $0)...]) }
        switch resource {
        case .bucket(let b):
            return keyPart == nil && globMatch(bucketPart, b)
        case .object(let b, let k):
            return globMatch(bucketPart, b) && (keyPart.map { globMatch($0, k) } ?? true)
        case .listing(let b, let prefix):
            guard globMatch(bucketPart, b) else { return false }
            guard let keyPart else { return true }
            return Self.bounds(keyPart, listingOf: prefix)
        case .tenant(let t):
            return keyPart == nil && globMatch(bucketPart, t)
        case .gateway:
            return pattern == "*"
        }
    }

    /// Whether every key a listing under `prefix` can return matches the key pattern, so the
    /// listing shows no name the pattern does not cover. That holds exactly when the pattern is
    /// a head without `*` followed only by stars, and the prefix begins with (bytes matching) that
    /// head: `2026/*` bounds `2026/03/`, but `*.pdf` bounds nothing (`a.txt` would show), nor
    /// does an exact key (its prefix also lists longer keys). `?` stands for one Unicode scalar, as in
    /// `globMatch`.
    static func bounds(_ keyPattern: String, listingOf prefix: String) -> Bool {
        let p = Array(keyPattern.unicodeScalars)
        guard let star = p.firstIndex(of: "*"), p[star...].allSatisfy({ $0 == "*" }) else { return false }
        let head = p[..<star]
        let text = Array(prefix.unicodeScalars)
        guard text.count >= head.count else { return false }
        return zip(head, text).allSatisfy { $0 == "?" || $0 == $1 }
    }

    /// `*` matches any run of characters (including `/`), `?` exactly one Unicode scalar;
    /// everything else is literal. Iterative with one backtrack point: linear in practice,
    /// never exponential.
    public static func globMatch(_ pattern: String, _ text: String) -> Bool {
        // Most patterns are plain names: compare bytes (scalars are equal exactly when their
        // UTF-8 is).
        let p = pattern.utf8
        let wildcard = p.firstIndex { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
        guard let wildcard else { return p.elementsEqual(text.utf8) }
        // `*` and `head*`, the shapes most permissions take, without splitting into atoms: a
        // head of whole scalars begins the text exactly when its UTF-8 begins the text's.
        if p[wildcard] == UInt8(ascii: "*") && p.index(after: wildcard) == p.endIndex {
            return text.utf8.starts(with: p[..<wildcard])
        }
        return globMatch(pattern.unicodeScalars.map(GlobAtom.init), text)
    }

    /// One element of a glob: a literal scalar, `*` (any run) or `?` (one scalar). Bucket
    /// policies build globs whose `*` and `?` are literal (`${*}`, substituted variables).
    public enum GlobAtom: Sendable, Equatable {
        case scalar(Unicode.Scalar)
        case any
        case one

        /// `*` and `?` as wildcards, anything else literal.
        init(_ s: Unicode.Scalar) {
            self = s == "*" ? .any : s == "?" ? .one : .scalar(s)
        }

        /// The scalar as written (a wildcard as its character).
        public var scalar: Unicode.Scalar {
            switch self {
            case .scalar(let s): s
            case .any: "*"
            case .one: "?"
            }
        }
    }

    /// `globMatch` over a glob already split into atoms.
    public static func globMatch(_ p: [GlobAtom], _ text: String) -> Bool {
        let t = Array(text.unicodeScalars)
        var pi = 0
        var ti = 0
        var star = -1
        var mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == .one || p[pi] == .scalar(t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == .any {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == .any { pi += 1 }
        return pi == p.count
    }

    /// The action families: S3's, the admin API's, STS's and the web API's (`/api/discovery`,
    /// `/api/migration`), whose patterns are tenant ids as for `admin:`.
    public static let families: Set<String> = ["s3", "admin", "sts", "discovery", "migration"]

    /// Why the set cannot be stored (nil when it can): unknown action names, empty or
    /// malformed patterns. `known` holds every action the gateway implements.
    public func problem(knownActions known: Set<String>) -> String? {
        let lowered = Set(known.map { $0.lowercased() })
        for (action, patterns) in rules.sorted(by: { $0.key < $1.key }) {
            let a = action.lowercased()
            let family = a.split(separator: ":", maxSplits: 1)
            guard a == "*" || family.count == 2 && Self.families.contains(String(family[0])) else {
                return "action \"\(action)\" must be s3:…, admin:…, sts:…, discovery:… or migration:…"
            }
            if !a.contains("*") && !a.contains("?") && !lowered.contains(a) {
                return "unknown action \"\(action)\""
            }
            guard !patterns.isEmpty else { return "action \"\(action)\" has no resource patterns" }
            for p in patterns {
                guard !p.isEmpty, p.utf8.count <= 1024, !p.hasPrefix("/"),
                    p.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F })
                else { return "resource pattern \"\(p)\" of \"\(action)\" is not valid" }
            }
        }
        return nil
    }
}
