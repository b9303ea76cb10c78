import ArgumentParser
import GatewayCore

/// `s3gw routing`: the global router's table (docs/ROUTER.md): regions and their endpoints,
/// the region of each tenant, the tenant of each access key id and bucket.
struct RoutingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing",
        abstract: "Manage the global router's routing table (on the router host, or with --endpoint).",
        subcommands: [List.self, Show.self, Set.self, Delete.self, RoutingSyncCommand.self])

    /// What a routing command names, and its path under `/admin/routing/`.
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case region, tenant
        case accessKey = "access-key"
        case bucket

        var collection: String {
            switch self {
            case .region: return "regions"
            case .tenant: return "tenants"
            case .accessKey: return RouteKind.accessKey.rawValue
            case .bucket: return RouteKind.bucket.rawValue
            }
        }

        /// The JSON field `set`'s second argument fills.
        var target: String {
            switch self {
            case .region: return "endpoint"
            case .tenant: return "region"
            case .accessKey, .bucket: return "tenant"
            }
        }

        var fields: [String] {
            switch self {
            case .region: return ["name", "endpoint"]
            case .tenant: return ["id", "region"]
            case .accessKey, .bucket: return ["name", "tenant"]
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the regions, tenants, access keys or buckets the router knows.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "region, tenant, access-key or bucket.") var kind: Kind
        @Option(help: "Only the access keys or buckets of this tenant.") var tenant: String?

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let query = tenant.map { ["tenant": $0] } ?? [:]
                let items = try client.list(AdminCall("GET", ["routing", kind.collection], query: query))
                client.printList(
                    items,
                    columns: kind.fields.map { .init($0.uppercased().replacingOccurrences(of: "_", with: " "), $0) },
                    empty: "no \(kind.collection)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a region or a tenant.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "region or tenant.") var kind: Kind
        @Argument(help: "Its name.") var name: String

        func validate() throws {
            guard kind == .region || kind == .tenant else { throw ValidationError("show names a region or a tenant") }
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                client.printObject(
                    try client.send(AdminCall("GET", ["routing", kind.collection, name])), fields: kind.fields)
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or change an entry.",
            discussion: """
                s3gw routing set region fi https://fi.s3.example
                s3gw routing set tenant acme fi
                s3gw routing set access-key AKIAEXAMPLE acme
                s3gw routing set bucket acme:photos acme
                s3gw routing set bucket photos acme --replace
                """)
        @OptionGroup var admin: AdminOptions
        @Argument(help: "region, tenant, access-key or bucket.") var kind: Kind
        @Argument(help: "Its name (region, tenant id, access key id, bucket).") var name: String
        @Argument(help: "A region's endpoint URL; a tenant's region; an access key's or bucket's tenant.")
        var value: String
        @Flag(help: "Move an access key or bucket routed to another tenant (else refused).") var replace = false

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                var call = AdminCall("PUT", ["routing", kind.collection, name], json: [kind.target: value])
                if replace { call.query["replace"] = "true" }
                let answer = try client.send(call)
                client.printObject(answer, fields: kind.fields)
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Remove an entry (a tenant with its access keys and buckets; a region only when no tenant is in it).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "region, tenant, access-key or bucket.") var kind: Kind
        @Argument(help: "Its name.") var name: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                try client.send(AdminCall("DELETE", ["routing", kind.collection, name]))
                client.done("deleted \(kind.rawValue) \(name)")
            }
        }
    }
}
