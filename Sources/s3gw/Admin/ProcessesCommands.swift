import ArgumentParser
import Foundation
import GatewayCore

/// `s3gw agents`: the background agents on every host, from their heartbeats: alive or not, what
/// each is doing, the replication jobs it holds, and the queue's rates.
struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "Show the agents on every host: alive, current tasks and jobs, the queue (exit 1 when none is alive)."
    )
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try admin.run { client throws(AdminFailure) -> Int32 in
            var agents: [JSONValue] = []
            var queue = JSONValue.null
            // The queue comes with every page; the last one's is the latest.
            try client.eachPage(AdminCall("GET", ["agents"], query: ["limit": "1000"])) { items, page in
                agents += items
                queue = page["queue"] ?? .null
            }
            if client.json {
                print(JSONValue.object(["items": .array(agents), "queue": queue]).pretty)
            } else {
                client.printList(
                    agents,
                    columns: processColumns + [
                        .init("TASKS") { a in
                            (a["tasks"]?.array ?? []).map { t in
                                let since = t["since"]?.string.flatMap(HTTPDate.parseISO8601).map(ago) ?? ""
                                return "\(t["name"]?.cell ?? "") (\(since))"
                            }.joined(separator: ", ")
                        },
                        .init("JOBS") { a in
                            (a["jobs"]?.array ?? []).map { $0["id"]?.cell ?? "" }.joined(separator: ",")
                        },
                    ], empty: "no agent has reported (has `s3gw serve` run?)")
                func n(_ k: String) -> Int64 { queue[k]?.int ?? 0 }
                print(
                    String(
                        format:
                            "queue: %lld pending, %lld running, %lld dead; %.1f jobs finished/min, %.1f failed attempts/min",
                        n("pending"), n("running"), n("dead"), queue["finished_per_minute"]?.double ?? 0,
                        queue["failed_per_minute"]?.double ?? 0))
            }
            return agents.contains { $0["alive"]?.bool == true } ? 0 : 1
        }
    }
}

/// `s3gw workers`: the FastCGI workers on every host, from their heartbeats: alive or not and
/// the requests they answer.
struct WorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "Show the workers on every host: alive, requests answered (exit 1 when none is alive).")
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try admin.run { client throws(AdminFailure) -> Int32 in
            let workers = try client.list(AdminCall("GET", ["workers"], query: ["limit": "1000"]))
            client.printList(
                workers,
                columns: processColumns + [
                    .init("REQUESTS", "requests_served"),
                    .init("REQ/S") { String(format: "%.1f", $0["requests_per_second"]?.double ?? 0) },
                    .init("IN FLIGHT", "in_flight"),
                ], empty: "no worker has reported (has `s3gw serve` run?)")
            return workers.contains { $0["alive"]?.bool == true } ? 0 : 1
        }
    }
}

/// The columns agents and workers share: where, which process, alive, since when, last beat.
private var processColumns: [AdminClient.Column] {
    [
        .init("HOST", "host"), .init("PID", "pid"),
        .init("ALIVE") { $0["alive"]?.bool == true ? "yes" : "NO" },
        .init("STARTED") { $0["started_at"]?.string.flatMap(HTTPDate.parseISO8601).map(ago) ?? "-" },
        .init("LAST BEAT") { $0["last_beat_at"]?.string.flatMap(HTTPDate.parseISO8601).map(ago) ?? "-" },
    ]
}
