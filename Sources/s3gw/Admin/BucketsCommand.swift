import ArgumentParser
import Foundation
import GatewayCore

/// `s3gw buckets`: every tenant's buckets, where one lives (its zones and its name inside each),
/// its owner and its replica-count.
struct BucketsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buckets", abstract: "Inspect buckets and set their owner and replica-count.",
        subcommands: [List.self, Show.self, Update.self, Replicas.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the buckets of every tenant, or of one.")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Only this tenant's buckets.") var tenant: String?

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                var query = ["limit": "1000"]
                query["tenant"] = tenant
                let items = try client.list(AdminCall("GET", ["buckets"], query: query))
                client.printList(
                    items,
                    columns: [
                        .init("TENANT", "tenant"), .init("BUCKET", "name"),
                        .init("OWNER") { $0["owner_user"]?.string ?? $0["owner"]?.cell ?? "-" },
                        .init("CONSTRAINT") {
                            ($0["location_constraint"]?.string).flatMap { $0.isEmpty ? nil : $0 } ?? "-"
                        },
                        .init("ZONES", "zones"), .init("REPLICAS", "replica_count"), .init("CREATED", "created_at"),
                    ], empty: tenant.map { "no buckets in tenant \($0)" } ?? "no buckets")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a bucket's placement and its backend bucket in each zone.")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var bucket: BucketArguments

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                BucketsCommand.printDetail(client, try client.send(AdminCall("GET", bucket.path)))
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Change a bucket's owner and/or replica-count.",
            discussion: """
                --owner names a user of the bucket's tenant; the bucket's owner becomes that user. \
                --replica-count is how many locations hold a copy of each object without its own \
                replica-count tag (at most the zones of the bucket's placement); the copies it adds or \
                removes are queued at once. Both are checked before either changes.
                """)
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The bucket, by the name the tenant's clients use.") var bucket: String
        @Option(help: "A user name of the tenant.") var owner: String?
        @Option(help: "Copies per object (1 = no replicas).") var replicaCount: Int?

        struct Body: Encodable {
            var owner: String?
            var replicaCount: Int?
        }

        func validate() throws {
            if owner == nil && replicaCount == nil { throw ValidationError("name --owner, --replica-count or both") }
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let path = BucketArguments.path(tenant: tenant, bucket: bucket)
                let detail = try client.send(
                    AdminCall("PATCH", path, json: Body(owner: owner, replicaCount: replicaCount)))
                BucketsCommand.printDetail(client, detail)
            }
        }
    }

    /// `s3gw buckets replicas BUCKET N`: the bucket's replica-count; objects without their own
    /// `replica-count` tag follow it (copies are queued or their removal is).
    struct Replicas: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set how many locations hold a copy of each object of a bucket.")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var bucket: BucketArguments
        @Argument(help: "Copies per object (1 = no replicas).") var count: Int

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let detail = try client.send(AdminCall("PATCH", bucket.path, json: Update.Body(replicaCount: count)))
                if client.json {
                    print(detail?.pretty ?? "")
                } else {
                    print(
                        "bucket \(bucket.bucket): replica-count \(count); "
                            + "\(detail?["objects_queued"]?.int ?? 0) object(s) queued for a change of copies"
                            + BucketsCommand.keptLocked(detail))
                }
            }
        }
    }

    /// ", N kept (locked)" when a replica-count change left locked versions' copies as they were.
    static func keptLocked(_ detail: JSONValue?) -> String {
        guard let n = detail?["objects_kept_locked"]?.int, n > 0 else { return "" }
        return ", \(n) kept (locked)"
    }

    /// A bucket as `buckets show` prints it: a line per field, then each zone of its placement
    /// with its role and the bucket's name inside that zone.
    static func printDetail(_ client: AdminClient, _ detail: JSONValue?) {
        guard let detail else { return }
        if client.json {
            print(detail.pretty)
            return
        }
        let b = detail["bucket"] ?? .null
        func line(_ label: String, _ value: String) {
            print(label.padding(toLength: 21, withPad: " ", startingAt: 0) + value)
        }
        line("bucket", b["name"]?.cell ?? "-")
        line("tenant", b["tenant"]?.cell ?? "-")
        line("owner", b["owner"]?.cell ?? "-")
        line("owner user", b["owner_user"]?.string ?? "(none: no user of the tenant holds that id)")
        line("created", b["created_at"]?.cell ?? "-")
        let constraint = b["location_constraint"]?.string ?? ""
        line("location constraint", constraint.isEmpty ? "(none: default zone)" : constraint)
        line("replica-count", b["replica_count"]?.cell ?? "-")
        line("objects", "\(detail["objects"]?.cell ?? "0") (\(detail["bytes"]?.cell ?? "0") bytes)")
        if let queued = detail["objects_queued"]?.int {
            let kept = keptLocked(detail)
            line("queued", "\(queued) object(s) queued for a change of copies\(kept)")
        }
        for l in detail["placement"]?.array ?? [] {
            // No location: the configuration lacks the zone, or the caller is a tenant's
            // administrator, who is not shown the operator's endpoints and directories.
            line(
                "\(l["role"]?.cell ?? "-") zone",
                (l["zone"]?.cell ?? "-") + (l["location"]?.string.map { "  " + $0 } ?? ""))
            line("  backend bucket", l["backend_bucket"]?.cell ?? "-")
        }
    }
}

/// A bucket as the commands that act on one name it: the name the tenant's clients use, and
/// the tenant (`--tenant`, default `default`).
struct BucketArguments: ParsableArguments {
    @Option(help: "The bucket's tenant.") var tenant = TenantRecord.defaultID
    @Argument(help: "The bucket, by the name the tenant's clients use.") var bucket: String

    var path: [String] { Self.path(tenant: tenant, bucket: bucket) }

    static func path(tenant: String, bucket: String) -> [String] { ["tenants", tenant, "buckets", bucket] }
}
