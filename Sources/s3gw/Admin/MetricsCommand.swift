import ArgumentParser

/// `s3gw metrics`: the Prometheus text `GET /admin/metrics` answers (every process's counters
/// summed), for a look without a Prometheus server; `--endpoint` reads a remote gateway.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the gateway's Prometheus metrics, summed over its processes (docs/OBSERVABILITY.md).",
        // `s3gw metrics` alone prints the text; `s3gw metrics history` the agent's samples.
        subcommands: [History.self])
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try admin.run { client throws(AdminFailure) -> Int32 in
            let reply = try client.transport.send(AdminCall("GET", ["metrics"]))
            guard (200..<300).contains(reply.status) else {
                throw AdminClient.failure(reply, reply.body.isEmpty ? nil : JSONValue.parse(reply.body))
            }
            print(String(decoding: reply.body, as: UTF8.self), terminator: "")
            return 0
        }
    }
}
