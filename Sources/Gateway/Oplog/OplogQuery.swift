import Foundation
import GatewayCore

/// What a reader of the operations log asks for (`s3gw oplog`, `GET /admin/oplog`): filters,
/// how many records, and where to continue from.
public struct OplogQuery: Sendable, Equatable {
    public var bucket: String?
    public var tenant: String?
    public var operation: String?
    /// Seconds since 1970: only requests started at or after it.
    public var since: Double?
    /// Only failed requests (status 400 or more).
    public var errors = false
    public var limit = 100
    /// Continue after this point, oldest first; nil: the newest `limit` records.
    public var after: OplogCursor?

    public static let limits = 1...1000

    public init(
        bucket: String? = nil, tenant: String? = nil, operation: String? = nil, since: Double? = nil,
        errors: Bool = false, limit: Int = 100, after: OplogCursor? = nil
    ) {
        self.bucket = bucket
        self.tenant = tenant
        self.operation = operation
        self.since = since
        self.errors = errors
        self.limit = limit
        self.after = after
    }

    /// The query an API call's parameters ask for; `now` anchors a relative `since` (`15m`).
    /// A parameter that cannot be read is named in the error.
    public init(parameters q: [String: String], now: Double) throws(Invalid) {
        func nonEmpty(_ name: String) throws(Invalid) -> String? {
            guard let v = q[name] else { return nil }
            guard !v.isEmpty else { throw Invalid("\(name) must not be empty") }
            return v
        }
        bucket = try nonEmpty("bucket")
        tenant = try nonEmpty("tenant")
        operation = try nonEmpty("operation")
        if let s = q["since"] {
            guard let t = Self.parseSince(s, now: now) else {
                throw Invalid("since must be an RFC 3339 time (2026-11-29T14:00:00Z) or an age like 15m, 2h, 7d")
            }
            since = t
        }
        if let e = q["errors"] {
            guard e == "true" || e == "false" else { throw Invalid("errors must be true or false") }
            errors = e == "true"
        }
        if let l = q["limit"] {
            guard let n = Int(l), Self.limits.contains(n) else {
                throw Invalid("limit must be \(Self.limits.lowerBound) to \(Self.limits.upperBound)")
            }
            limit = n
        }
        if let a = q["after"] {
            guard let c = OplogCursor(a) else { throw Invalid("after is not a cursor this log handed out") }
            after = c
        }
    }

    public struct Invalid: Error, Sendable, Equatable {
        public let message: String
        init(_ message: String) { self.message = message }
    }

    public func matches(_ r: OplogRecord) -> Bool {
        if let bucket, r.bucket != bucket { return false }
        if let tenant {
            // The bucket owner's view: with a bucket, requests on that tenant's bucket whoever
            // sent them; without, also what the tenant's own users did elsewhere. Lines written
            // before bucket_tenant was recorded name only the caller's tenant.
            let owner = r.bucketTenant ?? r.tenant
            if bucket != nil ? owner != tenant : (r.tenant != tenant && owner != tenant) { return false }
        }
        if let operation, r.operation != operation { return false }
        if errors && r.status < 400 { return false }
        if let since {
            guard let t = r.started, t >= since else { return false }
        }
        return true
    }

    /// Byte strings a line must contain to match (each as `OplogLine` writes it, so a line that
    /// lacks one is skipped without decoding it).
    var needles: [[UInt8]] {
        var out: [[UInt8]] = []
        // Not the tenant: it may be in `tenant` or `bucket_tenant`.
        for (name, value) in [("bucket", bucket), ("operation", operation)] {
            if let value { out.append(Array("\"\(name)\":".utf8) + OplogLine.quoted(value)) }
        }
        return out
    }

    /// `since` as an RFC 3339 time in upper case (`2026-11-29T14:00:00Z`,
    /// `2026-11-29T15:00:00.5+01:00`) or an age before `now`: up to 9 digits and s, m, h or d
    /// (`90s`, `15m`, `2h`, `7d`). Exactly what docs/admin-api.yaml's pattern allows, no more.
    public static func parseSince(_ s: String, now: Double) -> Double? {
        let u = Array(s.utf8)
        func digits(_ r: Range<Int>) -> Int? {
            guard r.lowerBound >= 0, r.upperBound <= u.count, !r.isEmpty else { return nil }
            var v = 0
            for c in u[r] {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int(c - UInt8(ascii: "0"))
            }
            return v
        }
        if let unit = u.last, (2...10).contains(u.count), let n = digits(0..<(u.count - 1)) {
            switch unit {
            case UInt8(ascii: "s"): return now - Double(n)
            case UInt8(ascii: "m"): return now - Double(n) * 60
            case UInt8(ascii: "h"): return now - Double(n) * 3600
            case UInt8(ascii: "d"): return now - Double(n) * 86400
            default: return nil
            }
        }
        // An RFC 3339 time as GatewayCore reads it, within the document's pattern: seconds below
        // 60, at most nine fraction digits.
        guard u.count >= 20, u[17] >= UInt8(ascii: "0"), u[17] <= UInt8(ascii: "5") else { return nil }
        if u[19] == UInt8(ascii: ".") {
            var end = 20
            while end < u.count && u[end] >= UInt8(ascii: "0") && u[end] <= UInt8(ascii: "9") { end += 1 }
            guard end - 20 <= 9 else { return nil }
        }
        return HTTPDate.parseISO8601(s)
    }
}

/// A point in the log: after the line ending at `offset` in the file with inode `inode` whose
/// first line hashes to `fingerprint` (a file keeps its inode through rotations; the fingerprint
/// tells it from a later file that reuses the inode). Written as `<inode>-<offset>-<fingerprint>`.
public struct OplogCursor: Sendable, Equatable, CustomStringConvertible {
    public var inode: UInt64
    public var offset: Int
    public var fingerprint: UInt64

    public init(inode: UInt64, offset: Int, fingerprint: UInt64) {
        self.inode = inode
        self.offset = offset
        self.fingerprint = fingerprint
    }

    /// As `description` writes it (docs/admin-api.yaml's pattern), nothing else.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Array($0.utf8) }
        func decimal(_ p: [UInt8]) -> Bool { p.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }
        func hex(_ p: [UInt8]) -> Bool {
            p.allSatisfy { decimal([$0]) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
        }
        guard parts.count == 3, (1...19).contains(parts[0].count), decimal(parts[0]),
            (1...18).contains(parts[1].count), decimal(parts[1]), parts[1][0] != UInt8(ascii: "0"),
            (1...16).contains(parts[2].count), hex(parts[2]),
            let i = UInt64(String(decoding: parts[0], as: UTF8.self)),
            let o = Int(String(decoding: parts[1], as: UTF8.self)),
            let f = UInt64(String(decoding: parts[2], as: UTF8.self), radix: 16)
        else { return nil }
        self.init(inode: i, offset: o, fingerprint: f)
    }

    public var description: String { "\(inode)-\(offset)-\(String(fingerprint, radix: 16))" }
}

/// One answer of a query: records oldest first, and where to continue (`after`) for the ones
/// written since (nil when the log holds no record at all).
public struct OplogPage: Encodable, Sendable {
    public var records: [OplogRecord]
    public var next: OplogCursor?

    enum CodingKeys: String, CodingKey { case records, next }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(records, forKey: .records)
        // null, not absent: the document says so, and a client tests for it.
        try c.encode(next?.description, forKey: .next)
    }
}
