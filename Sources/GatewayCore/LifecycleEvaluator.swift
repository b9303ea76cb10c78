/// What a lifecycle configuration asks of one key's versions at a given time: pure, so the
/// runner, the `x-amz-expiration` header and the tests share one reading of the rules.
///
/// Ages follow S3: a version's Days count from when it was written (current versions) or from
/// when it stopped being the latest (noncurrent ones), and the moment they run out is rounded
/// up to the next midnight UTC (`due(from:days:)`).
public struct LifecycleEvaluator: Sendable {
    public let configuration: LifecycleConfiguration

    public init(_ configuration: LifecycleConfiguration) { self.configuration = configuration }

    /// One change to make to a key.
    public enum Action: Sendable, Equatable {
        /// The current version has expired: DELETE without a version id (a delete marker in a
        /// versioned bucket, removal in an unversioned one).
        case expireCurrent(ruleId: String)
        /// Remove this version (a noncurrent version, or an expired delete marker) for good.
        case removeVersion(versionId: String, ruleId: String)
    }

    static let day = 86_400.0

    /// `time` + `days`, rounded up to midnight UTC: an object written 2014-01-15 10:30 UTC with
    /// a 3-day rule expires 2014-01-19 00:00 UTC.
    public static func due(from time: Double, days: Int) -> Double {
        ((time + Double(days) * day) / day).rounded(.up) * day
    }

    /// The actions due at `now` for one key. `versions`: all of the key's versions, delete
    /// markers included, newest first (as `listVersions` gives them); the first is the latest.
    /// `versioned`: the bucket is (or was) versioning-Enabled, so noncurrent versions exist.
    public func actions(versions: [ObjectRecord], now: Double) -> [Action] {
        guard let latest = versions.first else { return [] }
        var out: [Action] = []
        let enabled = configuration.rules.filter(\.enabled)

        if latest.isDeleteMarker {
            // An expired object delete marker: the only version left.
            if versions.count == 1,
                let rule = enabled.first(where: {
                    $0.expiration == .expiredObjectDeleteMarker(true) && $0.filter.matchesMarker(key: latest.key)
                })
            {
                out.append(.removeVersion(versionId: latest.versionId, ruleId: rule.id))
            }
        } else if let (date, ruleId) = expiration(for: latest), now >= date {
            out.append(.expireCurrent(ruleId: ruleId))
        }

        // Noncurrent versions, each rule on its own: the first to let a version go takes it.
        var taken = Set<Int>()
        for rule in enabled {
            guard let n = rule.noncurrentExpiration else { continue }
            var newerKept = 0
            for i in versions.indices.dropFirst() {
                let v = versions[i]
                guard rule.filter.matches(key: v.key, size: v.size, tags: v.tags) else { continue }
                if let keep = n.newerNoncurrentVersions, newerKept < keep {
                    newerKept += 1
                    continue
                }
                // Rows older than the noncurrent_since column count from the write that replaced them.
                let since = v.noncurrentSince > 0 ? v.noncurrentSince : versions[i - 1].lastModified
                if now >= Self.due(from: since, days: n.noncurrentDays), taken.insert(i).inserted {
                    out.append(.removeVersion(versionId: v.versionId, ruleId: rule.id))
                }
            }
        }
        return out
    }

    /// When the current version `object` expires under an Expiration Days or Date rule, and
    /// which rule (the earliest when several match): `x-amz-expiration`.
    public func expiration(for object: ObjectRecord) -> (date: Double, ruleId: String)? {
        guard !object.isDeleteMarker else { return nil }
        var best: (date: Double, ruleId: String)?
        for rule in configuration.rules where rule.enabled {
            guard rule.filter.matches(key: object.key, size: object.size, tags: object.tags) else { continue }
            let date: Double
            switch rule.expiration {
            case .days(let d): date = Self.due(from: object.lastModified, days: d)
            case .date(let t): date = t
            default: continue
            }
            if best.map({ date < $0.date }) ?? true { best = (date, rule.id) }
        }
        return best
    }

    /// When an upload of `key` initiated at `initiated` is aborted by an
    /// AbortIncompleteMultipartUpload rule, and which (the earliest): `x-amz-abort-date`.
    public func abortDate(key: String, initiated: Double) -> (date: Double, ruleId: String)? {
        var best: (date: Double, ruleId: String)?
        for rule in configuration.rules where rule.enabled {
            // Only the prefix applies: an upload has no size or tags yet (S3 refuses tag
            // filters on this action).
            guard let days = rule.abortIncompleteUploadDays, rule.filter.matchesMarker(key: key) else { continue }
            let date = Self.due(from: initiated, days: days)
            if best.map({ date < $0.date }) ?? true { best = (date, rule.id) }
        }
        return best
    }

    /// `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`: the rule
    /// id URL-encoded, as S3 sends it.
    public static func header(date: Double, ruleId: String) -> String {
        "expiry-date=\"\(HTTPDate.rfc1123(date))\", rule-id=\"\(urlEncode(ruleId))\""
    }

    /// RFC 3986 unreserved characters stay, every other byte is %XX.
    static func urlEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
            }
        }
        return out
    }
}

extension LifecycleFilter {
    /// A delete marker or an upload: no size or tags to test, only the key's prefix; a filter
    /// on tags never matches one.
    func matchesMarker(key: String) -> Bool {
        if let prefix, !key.hasPrefix(prefix) { return false }
        return tags.isEmpty
    }
}
