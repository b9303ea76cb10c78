import ArgumentParser
import Foundation

extension MetricsCommand {
    /// `s3gw metrics history`: the agent's samples of the last minutes (what the dashboard draws).
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The agent's samples: requests, errors and the replication queue, oldest first.",
            discussion: """
                One row per sample ([metrics] history_interval, a minute by default); requests, errors \
                (status 400 or more) and replicated jobs count what happened since the row before.
                """)
        @OptionGroup var admin: AdminOptions
        @Option(help: "How far back, in minutes (1 to 1440).") var minutes: Int = 60

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let doc = try client.send(
                    AdminCall("GET", ["metrics", "history"], query: ["minutes": String(minutes)]))
                let samples = doc?["samples"]?.array ?? []
                if client.json {
                    print((doc ?? .null).pretty)
                    return
                }
                client.printList(
                    samples,
                    columns: [
                        .init("TIME", "time"), .init("REQUESTS", "requests"), .init("ERRORS", "errors"),
                        .init("PENDING", "replication_pending"), .init("RUNNING", "replication_running"),
                        .init("DEAD", "replication_dead"),
                        .init("OLDEST PENDING") { "\(Int($0["replication_oldest_pending_seconds"]?.double ?? 0))s" },
                        .init("LAG P95") {
                            $0["replication_lag_p95_seconds"]?.double.map { String(format: "%.1fs", $0) } ?? "—"
                        },
                        .init("REPLICATED", "replicated"), .init("FAILED", "replication_failed"),
                    ], empty: "no samples yet (the agent takes one per [metrics] history_interval)")
            }
        }
    }
}
