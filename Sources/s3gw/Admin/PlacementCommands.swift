import ArgumentParser
import Foundation

/// `s3gw failover promote BUCKET ZONE`: an operator moves a bucket's primary (manual failover,
/// or moving it back after an automatic one).
struct FailoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover", abstract: "Move a bucket's primary zone.", subcommands: [Promote.self])

    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make ZONE the primary of BUCKET: client writes go there from now on.",
            discussion: """
                ZONE must be in the bucket's placement (see `s3gw buckets show`), which its \
                LocationConstraint fixed: no other zone can be promoted. Objects already written keep \
                their copies; new objects get their primary copy in ZONE and their replicas in the \
                next zones of the reordered placement.
                """)
        @OptionGroup var admin: AdminOptions
        @OptionGroup var bucket: BucketArguments
        @Argument(help: "A zone of the bucket's placement.") var zone: String
        @Flag(help: "Promote a zone the health checker marks down.") var force = false

        struct Body: Encodable {
            var tenant: String
            var bucket: String
            var zone: String
            var force: Bool
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let b = try client.send(
                    AdminCall(
                        "POST", ["failover", "promote"],
                        json: Body(tenant: bucket.tenant, bucket: bucket.bucket, zone: zone, force: force)))
                guard let b, !client.json else {
                    print(b?.pretty ?? "")
                    return
                }
                if b["changed"]?.bool == false {
                    print("bucket \(bucket.bucket): \(zone) already is the primary zone")
                } else {
                    print(
                        "bucket \(bucket.bucket): primary zone \(zone) (was \(b["previous_primary_zone"]?.cell ?? "-")); "
                            + "placement \(b["zones"]?.cell ?? "")")
                }
            }
        }
    }
}

/// `s3gw placement resolve`: the zones a CreateBucket would get now, without creating anything.
struct PlacementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement", abstract: "Ask where buckets would live.", subcommands: [Resolve.self])

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the zones a LocationConstraint and replica-count resolve to now; creates nothing.",
            discussion: """
                What CreateBucket would place a bucket in: every zone the constraint allows (healthy \
                zones first within each entry), the primary, and the zones holding replicas at the \
                replica-count. A constraint or replica-count that CreateBucket would refuse fails \
                with its reason.
                """)
        @OptionGroup var admin: AdminOptions
        @Option(
            help: "As a CreateBucketConfiguration holds it: a zone, a region, a country, or a list (default: none).")
        var locationConstraint: String?
        @Option(help: "Copies per object (default: what CreateBucket gives a new bucket).") var replicaCount: Int?

        struct Body: Encodable {
            var locationConstraint: String?
            var replicaCount: Int?
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let placement = try client.send(
                    AdminCall(
                        "POST", ["placement", "resolve"],
                        json: Body(locationConstraint: locationConstraint, replicaCount: replicaCount)))
                client.printObject(
                    placement,
                    fields: [
                        "location_constraint", "zones", "primary_zone", "replica_zones", "replica_count", "countries",
                    ])
            }
        }
    }
}
