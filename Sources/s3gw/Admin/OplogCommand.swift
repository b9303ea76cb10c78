import ArgumentParser
import Foundation
import Gateway

/// `s3gw oplog`: the operations log's records, newest last: what each request was, who sent it,
/// what it answered (docs/OBSERVABILITY.md, "Operations log").
struct OplogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oplog", abstract: "Show the operations log: one record per request, newest last.",
        discussion: """
            Reads the log's current and rotated files on the gateway host (-c), or on the host \
            --endpoint reaches (GET /admin/oplog). Filters combine; without them the newest --limit \
            records are shown. --json prints the API's answer: {"records": [...], "next": cursor}.
            """)
    @OptionGroup var admin: AdminOptions
    @Option(help: "Only requests naming this bucket.") var bucket: String?
    @Option(help: "Only requests of this tenant.") var tenant: String?
    @Option(
        help: ArgumentHelp(
            "Only requests started since then: an RFC 3339 time or an age (90s, 15m, 2h, 7d).", valueName: "time"))
    var since: String?
    @Flag(help: "Only failed requests (status 400 or more).") var errors = false
    @Option(help: "Only this operation (PutObject, admin:CreateUser…).") var operation: String?
    @Option(help: "How many records, at most (1 to 1000).") var limit = 100

    func validate() throws {
        guard OplogQuery.limits.contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
    }

    var query: [String: String] {
        var q = ["limit": String(limit)]
        q["bucket"] = bucket
        q["tenant"] = tenant
        q["since"] = since
        q["operation"] = operation
        if errors { q["errors"] = "true" }
        return q
    }

    func run() throws {
        try admin.run { client throws(AdminFailure) in
            let page = try client.send(AdminCall("GET", ["oplog"], query: query)) ?? .null
            if client.json {
                print(page.pretty)
                return
            }
            let records = page["records"]?.array ?? []
            guard !records.isEmpty else {
                print("no records")
                return
            }
            func s(_ v: JSONValue?) -> String { v.map { OplogText.cell($0.cell) } ?? "-" }
            printTable(
                [
                    [
                        "TIME", "STATUS", "OPERATION", "BUCKET", "KEY", "ERROR", "IN", "OUT", "MS", "ACCESS KEY",
                        "ZONES", "CLIENT",
                    ]
                ]
                    + records.map { r in
                        [
                            s(r["time"]), s(r["status"]), s(r["operation"]), s(r["bucket"]), s(r["key"]),
                            s(r["error_code"] ?? r["auth_failure"]), s(r["bytes_in"]), s(r["bytes_out"]),
                            String(format: "%.1f", r["latency_ms"]?.double ?? 0), s(r["access_key_id"]),
                            (r["zones"]?.array ?? []).map { OplogText.cell($0.cell) }.joined(separator: ","),
                            s(r["client_ip"]),
                        ].map { $0.isEmpty ? "-" : $0 }
                    })
        }
    }
}

enum OplogText {
    /// A value as a table cell: a client chose the key, so no control character reaches the
    /// terminal raw, and no run of spaces splits the column.
    static func cell(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u.value {
            case 0..<0x20, 0x7F, 0x80..<0xA0, 0x2028, 0x2029: out += "\\u{\(String(u.value, radix: 16))}"
            case 0x20 where out.hasSuffix(" "): out += "\\u{20}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
