import ArgumentParser
import Foundation

/// `s3gw routing sync`: feeds the global router from one regional gateway: its tenants are routed
/// to the region named, with every access key id of their users and every bucket, and what the router
/// still lists for those tenants but the gateway no longer has is removed. The gateway is read as
/// any admin command reads it (`-c` on its host, or `--endpoint`); the router is written through
/// its admin API with its operator credential. Run it after creating keys or buckets, or from a
/// timer.
struct RoutingSyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Route a regional gateway's tenants, access keys and buckets at the global router.")
    @OptionGroup var admin: AdminOptions
    @Argument(help: "The region (as the router names it) this gateway serves.") var region: String
    @Option(help: ArgumentHelp("The router's URL.", valueName: "url")) var router: String
    @Option(
        name: .customLong("tenant"),
        help: "Only this tenant (repeatable). Default: every tenant but `default`, the gateway's own.")
    var tenants: [String] = []
    @Option(help: "CA certificates (PEM) to verify the router's TLS certificate with.") var routerCaBundle: String?

    /// The router's operator credential: S3GW_ROUTER_ACCESS_KEY / S3GW_ROUTER_SECRET_KEY.
    func routerTransport(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> any AdminTransport
    {
        if let t = AdminOptions.testTransport { return t }
        guard let ak = environment["S3GW_ROUTER_ACCESS_KEY"], let sk = environment["S3GW_ROUTER_SECRET_KEY"],
            !ak.isEmpty, !sk.isEmpty
        else {
            throw ValidationError("the router's operator key goes in S3GW_ROUTER_ACCESS_KEY and S3GW_ROUTER_SECRET_KEY")
        }
        return try RemoteAdminTransport(
            endpoint: router, credentials: .init(accessKey: ak, secretKey: sk), region: admin.region,
            caBundle: routerCaBundle, verifyTLS: true)
    }

    func run() throws {
        let target = AdminClient(transport: try routerTransport(), json: false)
        try admin.run { gateway throws(AdminFailure) in
            var chosen = tenants
            if chosen.isEmpty {
                chosen = try gateway.list(AdminCall("GET", ["tenants"], query: ["limit": "1000"]))
                    .compactMap { $0["id"]?.string }.filter { $0 != "default" }
            }
            let buckets = try gateway.list(AdminCall("GET", ["buckets"], query: ["limit": "1000"]))
            var counts = (keys: 0, buckets: 0, removed: 0)
            for tenant in chosen {
                try target.send(AdminCall("PUT", ["routing", "tenants", tenant], json: ["region": region]))
                var keys: Set<String> = []
                for user in try gateway.list(AdminCall("GET", ["tenants", tenant, "users"], query: ["limit": "1000"])) {
                    guard let name = user["name"]?.string else { continue }
                    let credentials = try gateway.list(
                        AdminCall("GET", ["tenants", tenant, "users", name, "credentials"]))
                    keys.formUnion(credentials.compactMap { $0["access_key"]?.string })
                }
                let names = Set(buckets.filter { $0["tenant"]?.string == tenant }.compactMap { $0["name"]?.string })
                for (collection, wanted) in [("access-keys", keys), ("buckets", names)] {
                    let routed = Set(
                        try target.list(AdminCall("GET", ["routing", collection], query: ["tenant": tenant]))
                            .compactMap { $0["name"]?.string })
                    for name in wanted.subtracting(routed).sorted() {
                        try target.send(AdminCall("PUT", ["routing", collection, name], json: ["tenant": tenant]))
                    }
                    for name in routed.subtracting(wanted).sorted() {
                        try target.send(AdminCall("DELETE", ["routing", collection, name]))
                        counts.removed += 1
                    }
                    if collection == "buckets" { counts.buckets += wanted.count } else { counts.keys += wanted.count }
                }
            }
            gateway.done(
                "routed \(chosen.count) tenant(s) to \(region): \(counts.keys) access key(s), \(counts.buckets) bucket(s); removed \(counts.removed) stale"
            )
        }
    }
}
