import ArgumentParser
import Foundation
import GatewayCore

/// Sends the commands' calls through a transport and prints the answers: the API's JSON as it
/// is with `--json`, a table or a list of fields otherwise. Errors become
/// `s3gw: <code>: <message>` on stderr and exit status 1 (see `AdminOptions.run`).
struct AdminClient {
    let transport: any AdminTransport
    /// Print JSON instead of tables.
    let json: Bool

    /// One call; its JSON answer (nil for an empty one, 204), or the API's error as a failure.
    @discardableResult
    func send(_ call: AdminCall) throws(AdminFailure) -> JSONValue? {
        let reply = try transport.send(call)
        let document = reply.body.isEmpty ? nil : JSONValue.parse(reply.body)
        guard (200..<300).contains(reply.status) else { throw Self.failure(reply, document) }
        if !reply.body.isEmpty && document == nil {
            throw AdminFailure(code: "InvalidAnswer", message: "the answer is not JSON")
        }
        return document
    }

    /// A call whose answer is a file, streamed into `sink`; the API's error as a failure.
    func download(_ call: AdminCall, into sink: any ByteSink) throws(AdminFailure) {
        let reply = try transport.download(call, into: sink)
        guard (200..<300).contains(reply.status) else {
            throw Self.failure(reply, reply.body.isEmpty ? nil : JSONValue.parse(reply.body))
        }
    }

    /// An answer that is not a success, as the failure it reports: the admin API's
    /// `{"code", "message"}` or the web API's `{"error": {"code", "message"}}`.
    static func failure(_ reply: AdminReply, _ document: JSONValue?) -> AdminFailure {
        let error = document?["error"] ?? document
        if let code = error?["code"]?.string, let message = error?["message"]?.string {
            return AdminFailure(code: code, message: message)
        }
        return AdminFailure(
            code: "HTTP\(reply.status)",
            message: "the endpoint answered HTTP \(reply.status) without an API error (is it an s3gw API?)")
    }

    /// Every item of a list endpoint, following `next_marker` to the end.
    func list(_ call: AdminCall) throws(AdminFailure) -> [JSONValue] {
        var items: [JSONValue] = []
        try eachPage(call) { page, _ in items += page }
        return items
    }

    /// Each page of a list endpoint in turn (its items, and the whole answer for what else it
    /// holds), following `next_marker` to the end.
    func eachPage(_ call: AdminCall, _ body: ([JSONValue], JSONValue) -> Void) throws(AdminFailure) {
        var call = call
        var seen: Set<String> = []
        while true {
            let page = try send(call)
            guard let pageItems = page?["items"]?.array else {
                throw AdminFailure(code: "InvalidAnswer", message: "a list answer lacks its items")
            }
            body(pageItems, page ?? .null)
            guard let marker = page?["next_marker"]?.string, !marker.isEmpty else { return }
            // A server handing out the same marker twice would keep us here for ever.
            guard seen.insert(marker).inserted else {
                throw AdminFailure(code: "InvalidAnswer", message: "the list repeats its marker \(marker)")
            }
            call.query["marker"] = marker
        }
    }

    // MARK: output

    /// A table column: its header and how a cell is made from an item.
    struct Column {
        let header: String
        let cell: (JSONValue) -> String

        init(_ header: String, _ key: String) {
            self.header = header
            cell = { $0[key]?.cell ?? "-" }
        }

        init(_ header: String, cell: @escaping (JSONValue) -> String) {
            self.header = header
            self.cell = cell
        }
    }

    /// A list: `{"items": [...]}` with `--json`, else a table (or `empty` when there is nothing).
    func printList(_ items: [JSONValue], columns: [Column], empty: String) {
        if json {
            print(JSONValue.object(["items": .array(items)]).pretty)
        } else if items.isEmpty {
            print(empty)
        } else {
            printTable([columns.map(\.header)] + items.map { item in columns.map { $0.cell(item) } })
        }
    }

    /// One object: the JSON with `--json`, else one line per field in `fields` (snake_case
    /// keys, shown with spaces); nested objects take a line per key, an empty value says (none).
    func printObject(_ value: JSONValue?, fields: [String]) {
        guard let value else { return }
        if json {
            print(value.pretty)
            return
        }
        var rows: [[String]] = []
        for field in fields {
            let label = field.replacingOccurrences(of: "_", with: " ")
            guard let v = value[field] else { continue }
            if let o = v.object, !o.isEmpty {
                let width = o.keys.map(\.count).max() ?? 0
                for (i, k) in o.keys.sorted().enumerated() {
                    rows.append([
                        i == 0 ? label : "", k.padding(toLength: width + 2, withPad: " ", startingAt: 0) + o[k]!.cell,
                    ])
                }
            } else {
                // An empty object, list or string: said, so no line lacks its value.
                let cell = v.object != nil ? "" : v.cell
                rows.append([label, cell.isEmpty ? "(none)" : cell])
            }
        }
        if !rows.isEmpty { printTable(rows) }
    }

    /// What a command did when the API answers nothing (204): a line for people, nothing for
    /// scripts (the exit status says it).
    func done(_ message: String) {
        if !json { print(message) }
    }

    /// A note for the operator beside the output (stderr, so `--json` output stays parseable).
    func note(_ message: String) {
        FileHandle.standardError.write(Data("s3gw: \(message)\n".utf8))
    }
}

/// Rows of cells in columns two spaces apart, each as wide as its widest cell.
func printTable(_ rows: [[String]]) {
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    for r in rows {
        let line = zip(r, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }
        print(String(line.joined(separator: "  ").reversed().drop { $0 == " " }.reversed()))
    }
}

/// How long ago `t` (seconds since 1970) was: "42s ago", "5m ago", "3h ago".
func ago(_ t: Double) -> String {
    let s = Int(Date().timeIntervalSince1970 - t)
    return s < 120 ? "\(s)s ago" : s < 7200 ? "\(s / 60)m ago" : "\(s / 3600)h ago"
}
