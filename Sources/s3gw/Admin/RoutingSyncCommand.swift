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
            var conflicts: [String] = []
            for tenant in chosen {
                try target.send(AdminCall("PUT", ["routing", "tenants", tenant], json: ["region": region]))
                var keys: Set<String> = []
                for user in try gateway.list(AdminCall("GET", ["tenants", tenant, "users"], query: ["limit": "1000"])) {
                    guard let name = user["name"]?.string else { continue }
                    let credentials = try gateway.list(
                        AdminCall("GET", ["tenants", tenant, "users", name, "credentials"]))
                    keys.formUnion(credentials.compactMap { $0["access_key"]?.string })
                }
                // The default tenant's buckets by bare name; another tenant's as `tenant:bucket`,
                // the name an anonymous request reaches it by at the region.
                let names = Set(
                    buckets.filter { $0["tenant"]?.string == tenant }.compactMap { $0["name"]?.string }.map {
                        tenant == "default" ? $0 : tenant + ":" + $0
                    })
                for (collection, wanted) in [("access-keys", keys), ("buckets", names)] {
                    let routed = Set(
                        try target.list(AdminCall("GET", ["routing", collection], query: ["tenant": tenant]))
                            .compactMap { $0["name"]?.string })
                    for name in wanted.subtracting(routed).sorted() {
                        do throws(AdminFailure) {
                            try target.send(AdminCall("PUT", ["routing", collection, name], json: ["tenant": tenant]))
                        } catch {
                            // Routed to another tenant: the operator decides (`routing set --replace`).
                            guard error.code == "Conflict" else { throw error }
                            conflicts.append("\(name): \(error.message)")
                        }
                    }
                    // An explicit bare route of a tenant's bucket stays while the bucket does.
                    let stale = routed.filter { !wanted.contains($0) && !wanted.contains(tenant + ":" + $0) }
                    for name in stale.sorted() {
                        try target.send(AdminCall("DELETE", ["routing", collection, name]))
                        counts.removed += 1
                    }
                    if collection == "buckets" { counts.buckets += wanted.count } else { counts.keys += wanted.count }
                }
            }
            for c in conflicts { gateway.note("not routed, routed to another tenant: \(c)") }
            gateway.done(
                "routed \(chosen.count) tenant(s) to \(region): \(counts.keys) access key(s), \(counts.buckets) bucket(s); removed \(counts.removed) stale\(conflicts.isEmpty ? "" : "; \(conflicts.count) conflict(s)")"
            )
            if !conflicts.isEmpty {
                throw AdminFailure(code: "Conflict", message: "\(conflicts.count) name(s) are routed to another tenant")
            }
        }
    }
}
