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
    public func actions(versions: [ObjectRecord], now: Double) -> [Action] {
        var pass = KeyPass(self, now: now)
        var out: [Action] = []
        for v in versions { out += pass.next(v) }
        return out + pass.finish()
    }

    /// One key's versions judged as they stream by, newest first, so a key with a great many
    /// versions is never held in memory: across versions only what the rules need is kept
    /// (the latest, the version before, how many newer noncurrent versions each rule kept).
    public struct KeyPass: Sendable {
        let evaluator: LifecycleEvaluator
        let now: Double
        let enabled: [LifecycleRule]
        /// The key's newest entry (the first fed).
        public private(set) var latest: ObjectRecord?
        var previous: ObjectRecord?
        var count = 0
        /// Per enabled rule: the noncurrent versions it kept (NewerNoncurrentVersions).
        var newerKept: [Int]

        public init(_ evaluator: LifecycleEvaluator, now: Double) {
            self.evaluator = evaluator
            self.now = now
            enabled = evaluator.configuration.rules.filter(\.enabled)
            newerKept = Array(repeating: 0, count: enabled.count)
        }

        /// The actions due for `v`, the key's next version (older than the one before): the
        /// current version's expiry for the first, a removal for a noncurrent one. A delete
        /// marker on top is judged by `finish`, once it is known whether it is alone.
        public mutating func next(_ v: ObjectRecord) -> [Action] {
            defer {
                previous = v
                count += 1
            }
            guard let replacedBy = previous else {
                latest = v
                if !v.isDeleteMarker, let (date, ruleId) = evaluator.expiration(for: v), now >= date {
                    return [.expireCurrent(ruleId: ruleId)]
                }
                return []
            }
            // Noncurrent: each rule on its own, counting the versions it keeps; the first rule
            // to let the version go takes it.
            var out: [Action] = []
            for (i, rule) in enabled.enumerated() {
                guard let n = rule.noncurrentExpiration,
                    rule.filter.matches(key: v.key, size: v.size, tags: v.tags)
                else { continue }
                if let keep = n.newerNoncurrentVersions, newerKept[i] < keep {
                    newerKept[i] += 1
                    continue
                }
                // Rows older than the noncurrent_since column count from the write that replaced them.
                let since = v.noncurrentSince > 0 ? v.noncurrentSince : replacedBy.lastModified
                if out.isEmpty, now >= LifecycleEvaluator.due(from: since, days: n.noncurrentDays) {
                    out.append(.removeVersion(versionId: v.versionId, ruleId: rule.id))
                }
            }
            return out
        }

        /// After the key's last version: removes a delete marker that is the only version left
        /// (an expired object delete marker) under an ExpiredObjectDeleteMarker rule, or under
        /// an Expiration Days / Date rule once the marker is old enough for it (S3, "Managing
        /// delete markers": with Days, S3 cleans up expired object delete markers that satisfy
        /// the age criteria).
        public func finish() -> [Action] {
            guard count == 1, let m = latest, m.isDeleteMarker else { return [] }
            for rule in enabled where rule.filter.matchesMarker(key: m.key) {
                switch rule.expiration {
                case .expiredObjectDeleteMarker(true)?:
                    return [.removeVersion(versionId: m.versionId, ruleId: rule.id)]
                case .days(let d)? where now >= LifecycleEvaluator.due(from: m.lastModified, days: d):
                    return [.removeVersion(versionId: m.versionId, ruleId: rule.id)]
                case .date(let t)? where now >= t:
                    return [.removeVersion(versionId: m.versionId, ruleId: rule.id)]
                default: continue
                }
            }
            return []
        }
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
    /// on tags or on size never matches one (S3 refuses both beside the actions meant for
    /// them: ExpiredObjectDeleteMarker, AbortIncompleteMultipartUpload).
    func matchesMarker(key: String) -> Bool {
        if let prefix, !key.hasPrefix(prefix) { return false }
        return tags.isEmpty && !hasSize
    }
}
