import GatewayCore

/// The audit chain through the admin API: `GET /admin/audit/events` (records, filtered, oldest
/// first) and `GET /admin/audit/digests` (the signed digests and the keys that check them).
extension AdminAPI {
    public struct AuditRecordView: Codable, Sendable {
        public var seq: Int64
        public var time: String
        public var requestId: String
        public var origin: String
        public var tenant: String
        public var accessKeyId: String
        public var operation: String
        public var change: String
        public var bucket: String
        public var key: String
        /// A JSON object as text (exactly the bytes the hash covers).
        public var detail: String
        public var clientIp: String
        public var prevHash: String
        public var hash: String

        init(_ r: AuditRecord) {
            seq = r.seq
            time = HTTPDate.iso8601(Double(r.time) / 1000)
            requestId = r.requestId
            origin = r.origin
            tenant = r.tenant
            accessKeyId = r.accessKey
            operation = r.operation
            change = r.change
            bucket = r.bucket
            key = r.key
            detail = r.detail
            clientIp = r.clientIP
            prevHash = r.prevHash
            hash = r.hash
        }
    }

    public struct AuditEventsView: Codable, Sendable {
        public var records: [AuditRecordView]
        /// Pass as `after` for the next page; nil at the end.
        public var next: String?
    }

    public struct AuditDigestView: Codable, Sendable {
        public var id: Int64
        public var digestStartTime: String
        public var digestEndTime: String
        public var digest: AuditDigest
    }

    public struct AuditDigestsView: Codable, Sendable {
        public var digests: [AuditDigestView]
        public var keys: [AuditKey]
        public var next: String?
    }

    static let auditRoutes: [Route] = [
        Route("GET", "audit/events", "admin:ReadAuditLog", .gateway) { r, _, ctx throws(AdminError) in
            var q = AuditQuery()
            q.limit = try r.page().limit
            q.after = try seq(r.query["after"], "after")
            if let s = r.query["since"] {
                // Whole seconds up to the year 9999 (the CLI converts RFC 3339 times).
                guard !s.isEmpty, s.count <= 12, s.allSatisfy({ $0.isASCII && $0.isNumber }), let t = Int64(s),
                    t <= 253_402_300_799
                else { throw .invalid("since is a number of seconds since the epoch") }
                q.since = t * 1000
            }
            q.bucket = r.query["bucket"]
            q.tenant = r.query["tenant"]
            q.operation = r.query["operation"]
            q.change = r.query["change"]
            switch r.query["newest"] {
            case nil, "false": q.newest = false
            case "true": q.newest = true
            default: throw .invalid("newest is true or false")
            }
            let wanted = q.limit
            q.limit += 1
            let found = try store { () throws(StoreError) in try ctx.metadata.auditRecords(q) }
            // The newest page is the last one: there is no next.
            let page = q.newest ? Array(found.suffix(wanted)) : Array(found.prefix(wanted))
            let more = !q.newest && found.count > wanted
            return .json(
                AuditEventsView(
                    records: page.map(AuditRecordView.init), next: more ? page.last.map { String($0.seq) } : nil))
        },
        Route("GET", "audit/digests", "admin:ReadAuditLog", .gateway) { r, _, ctx throws(AdminError) in
            let (_, limit) = try r.page()
            let after = try seq(r.query["after"], "after")
            let found = try store { () throws(StoreError) in
                try ctx.metadata.auditDigests(after: after, limit: limit + 1, newest: false)
            }
            let keys = try store { () throws(StoreError) in try ctx.metadata.auditKeys() }
            let page = Array(found.prefix(limit))
            return .json(
                AuditDigestsView(
                    digests: page.map {
                        AuditDigestView(
                            id: $0.id, digestStartTime: HTTPDate.iso8601(Double($0.periodStart) / 1000),
                            digestEndTime: HTTPDate.iso8601(Double($0.periodEnd) / 1000), digest: $0)
                    }, keys: keys, next: found.count > limit ? page.last.map { String($0.id) } : nil))
        },
    ]

    private static func seq(_ text: String?, _ name: String) throws(AdminError) -> Int64 {
        guard let text else { return 0 }
        guard text.count <= 19, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(text) else {
            throw .invalid("\(name) is a sequence number")
        }
        return n
    }
}
