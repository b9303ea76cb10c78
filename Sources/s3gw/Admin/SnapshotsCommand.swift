import ArgumentParser
import Foundation
import GatewayCore

/// `s3gw snapshots`: the discovery snapshots stored on the gateway (docs/DISCOVERY.md), through
/// the web API's `/api/discovery/snapshots…` — locally on the gateway host, or with --endpoint.
struct SnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List, show, download and delete discovery snapshots (locally, or with --endpoint).",
        subcommands: [List.self, Show.self, Download.self, Delete.self])

    /// Which tenant's snapshots: the caller's own by default; another one's for a user of the
    /// default tenant (the local operator is one).
    struct Scope: ParsableArguments {
        @Option(help: "The tenant whose snapshots these are (default: your own; locally: default).")
        var tenant: String?

        var query: [String: String] { tenant.map { ["tenant": $0] } ?? [:] }
    }

    static func call(_ method: String, _ path: [String], _ scope: Scope, query: [String: String] = [:]) -> AdminCall {
        AdminCall(
            method, ["discovery", "snapshots"] + path, query: scope.query.merging(query) { a, _ in a }, api: .web)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the snapshots, newest first.")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var scope: Scope

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let answer = try client.send(SnapshotsCommand.call("GET", [], scope))
                guard let items = answer?["snapshots"]?.array else {
                    throw AdminFailure(code: "InvalidAnswer", message: "the answer lacks its snapshots")
                }
                if client.json {
                    print((answer ?? .null).pretty)
                    return
                }
                client.printList(
                    items,
                    columns: [
                        .init("ID", "id"), .init("CREATED", "created_at"),
                        .init("SOURCE") { "\($0["endpoint_host"]?.cell ?? "-") \($0["region"]?.cell ?? "")" },
                        .init("LEVEL", "sanitization"), .init("BUCKETS", "buckets"), .init("OBJECTS", "objects"),
                        .init("BYTES", "bytes"), .init("FILE BYTES", "file_bytes"),
                    ],
                    empty: "no snapshots")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a snapshot's source and per-bucket summary (without its object entries).")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var scope: Scope
        @Argument(help: "The snapshot id.") var id: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let s = try client.send(SnapshotsCommand.call("GET", [id], scope))
                if client.json {
                    print((s ?? .null).pretty)
                    return
                }
                let meta = s?["snapshot"]
                printTable([
                    ["id", meta?["id"]?.cell ?? id],
                    ["created at", meta?["created_at"]?.cell ?? "-"],
                    [
                        "source",
                        "\(meta?["source"]?["endpoint_host"]?.cell ?? "-") \(meta?["source"]?["region"]?.cell ?? "")",
                    ],
                    ["sanitization", meta?["sanitization"]?.cell ?? "-"],
                    ["prefix depth", meta?["prefix_depth"]?.cell ?? "-"],
                ])
                print()
                let buckets = s?["buckets"]?.array ?? []
                func status(_ b: JSONValue, _ k: String) -> String { b["statuses"]?[k]?.cell ?? "-" }
                client.printList(
                    buckets,
                    columns: [
                        .init("BUCKET", "name"),
                        .init("REGION") { $0["region"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? "?" },
                        .init("LISTING", "listing"),
                        .init("OBJECTS") { $0["summary"]?["object_count"]?.cell ?? "-" },
                        .init("BYTES") { $0["summary"]?["total_bytes"]?.cell ?? "-" },
                        .init("VERSIONING") { status($0, "versioning") },
                        .init("ENCRYPTION") { status($0, "encryption") },
                        .init("LIFECYCLE") { status($0, "lifecycle") },
                        .init("REPLICATION") { status($0, "replication") },
                        .init("OBJECT LOCK") { status($0, "object_lock") },
                        .init("POLICY") { status($0, "policy") },
                    ],
                    empty: "no buckets")
            }
        }
    }

    struct Download: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a snapshot file (streamed to disk).",
            discussion:
                "Without -o the file is snapshot-ID.json (or .json.gz) in the current directory; -o - is stdout.")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var scope: Scope
        @Argument(help: "The snapshot id.") var id: String
        @Flag(help: "Download it gzip-compressed (.json.gz).") var gz = false
        @Option(name: .shortAndLong, help: "Where to write it.") var output: String?

        func run() throws {
            let format = gz ? "json.gz" : "json"
            let path = output ?? "snapshot-\(id).\(format)"
            try admin.run { client throws(AdminFailure) in
                let call = SnapshotsCommand.call("GET", [id, "download"], scope, query: ["format": format])
                if path == "-" {
                    try client.download(call, into: FileSink(FileHandle.standardOutput))
                    return
                }
                // Written beside the target and renamed when complete: no half file under its name.
                let partial = path + ".partial"
                guard
                    FileManager.default.createFile(
                        atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
                    let handle = FileHandle(forWritingAtPath: partial)
                else { throw AdminFailure(code: "WriteFailed", message: "cannot create \(partial)") }
                let sink = FileSink(handle)
                do {
                    try client.download(call, into: sink)
                    try? handle.close()
                    _ = try? FileManager.default.removeItem(atPath: path)
                    try FileManager.default.moveItem(atPath: partial, toPath: path)
                } catch let failure as AdminFailure {
                    try? handle.close()
                    try? FileManager.default.removeItem(atPath: partial)
                    throw failure
                } catch {
                    try? FileManager.default.removeItem(atPath: partial)
                    throw AdminFailure(code: "WriteFailed", message: "\(path): \(error)")
                }
                client.note("wrote \(sink.written) bytes to \(path)")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a snapshot (its discovery must have ended).")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var scope: Scope
        @Argument(help: "The snapshot id.") var id: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                try client.send(SnapshotsCommand.call("DELETE", [id], scope))
                client.done("deleted snapshot \(id)")
            }
        }
    }
}
