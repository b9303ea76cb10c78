import ArgumentParser
import Foundation
import GatewayCore

/// `s3gw zones`: the catalog with each zone's health, as the agent last recorded it (or probed
/// now with --probe); `s3gw zones ls`: what a zone itself holds; `s3gw zones sweep-uploads`.
struct ZonesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zones", abstract: "Show the zone catalog and each zone's health, or what a zone holds.",
        subcommands: [Show.self, List.self, SweepUploads.self], defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the zone catalog and each zone's health (the default).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "One zone (default: every zone).") var zone: String?
        @Flag(help: "Probe the zones now (and record the result) instead of showing the last check.")
        var probe = false

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                var zones: [JSONValue]
                if let zone {
                    zones = [try client.send(AdminCall("GET", ["zones", zone])) ?? .null]
                } else {
                    zones = try client.list(AdminCall("GET", ["zones"], query: ["limit": "1000"]))
                }
                if probe {
                    // Each probe answers with the zone as it recorded it.
                    zones = try zones.map { z throws(AdminFailure) in
                        let probed = try client.send(AdminCall("POST", ["zones", z["name"]?.string ?? "", "probe"]))
                        return probed?["zone"] ?? z
                    }
                }
                if client.json {
                    print((zone == nil ? JSONValue.object(["items": .array(zones)]) : zones[0]).pretty)
                    return
                }
                var rows = [
                    ["ZONE", "COUNTRY", "REGION", "KIND", "LOCATION", "STATE", "LATENCY", "CHECKED", "LAST ERROR"]
                ]
                for z in zones {
                    let checked = z["checked_at"]?.string.flatMap(HTTPDate.parseISO8601)
                    let state = z["state"]?.string ?? "unknown"
                    rows.append([
                        (z["name"]?.string ?? "") + (z["is_default"]?.bool == true ? " (default)" : ""),
                        z["country"]?.cell ?? "", z["region"]?.cell ?? "", z["kind"]?.cell ?? "",
                        z["location"]?.cell ?? "", state,
                        checked == nil || state == "down"
                            ? "-" : String(format: "%.0f ms", (z["latency"]?.double ?? 0) * 1000),
                        checked.map(ago) ?? "never", z["last_error"]?.string ?? "",
                    ])
                }
                printTable(rows)
            }
        }
    }

    /// Reads the zone itself, not the metadata store: what is really there (backend buckets the
    /// gateway made, blobs with the zone's own sizes and ETags), for audits and repairs.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List a zone's backend buckets, or the blobs in one of them.",
            discussion: """
                Without BACKEND_BUCKET: the gateway's backend buckets in the zone, one per line (for a \
                provider, its buckets named s3gw-…). With it: each blob's id, size in bytes, ETag (a \
                provider's; - where the zone keeps none) and last-modified time, then a total. \
                `s3gw buckets show NAME` names a bucket's backend bucket.
                """)
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The zone, as named in the configuration.") var zone: String
        @Argument(help: "A backend bucket in that zone.") var backendBucket: String?

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                guard let backendBucket else {
                    let items = try client.list(
                        AdminCall("GET", ["zones", zone, "backend-buckets"], query: ["limit": "1000"]))
                    if client.json {
                        print(JSONValue.object(["items": .array(items)]).pretty)
                    } else {
                        for item in items { print(item["name"]?.cell ?? "") }
                    }
                    return
                }
                let call = AdminCall(
                    "GET", ["zones", zone, "backend-buckets", backendBucket, "blobs"], query: ["limit": "1000"])
                if client.json {
                    print(JSONValue.object(["items": .array(try client.list(call))]).pretty)
                    return
                }
                print(
                    "BLOB".padding(toLength: 34, withPad: " ", startingAt: 0) + "        SIZE  ETAG"
                        + String(repeating: " ", count: 32) + "LAST MODIFIED")
                var count = 0
                var bytes: Int64 = 0
                // Page by page: a bucket of millions of blobs prints as it is read.
                try client.eachPage(call) { page, _ in
                    for blob in page {
                        let id = blob["id"]?.string ?? ""
                        let size = blob["size"]?.int ?? 0
                        let sizeText = String(size)
                        print(
                            id.padding(toLength: max(34, id.count + 2), withPad: " ", startingAt: 0)
                                + String(repeating: " ", count: max(0, 12 - sizeText.count)) + sizeText + "  "
                                + (blob["etag"]?.string ?? "-").padding(toLength: 36, withPad: " ", startingAt: 0)
                                + (blob["last_modified"]?.string ?? "-"))
                        bytes += size
                    }
                    count += page.count
                }
                print("total: \(count) blobs, \(bytes) bytes")
            }
        }
    }

    /// What the agent does after each multipart expiry, now, with a cutoff of the operator's
    /// choosing (after an outage, without waiting for the expiry).
    struct SweepUploads: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep-uploads",
            abstract: "Abort zone-side multipart uploads no open gateway upload owns.",
            discussion: """
                A provider may carry out a CreateMultipartUpload after the gateway gave up on it \
                (a hung provider), and a replication or unknown-length write cut off leaves its \
                provider upload behind: nothing in metadata names those. This aborts every such \
                upload started more than --older-than seconds ago (default: [storage] \
                multipart_expiry) and prints how many went. Zones that cannot be listed are skipped \
                (the gateway logs a warning). A cutoff shorter than the longest write under way may \
                abort it.
                """)
        @OptionGroup var admin: AdminOptions
        @Option(help: "Only uploads started at least this many seconds ago.") var olderThan: Int?

        struct Body: Encodable { var olderThan: Int? }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                var call = AdminCall("POST", ["zones", "sweep-uploads"], json: Body(olderThan: olderThan))
                call.timeout = AdminCall.longTimeout
                let swept = try client.send(call)
                if client.json {
                    print(swept?.pretty ?? "")
                } else {
                    print("aborted \(swept?["aborted"]?.int ?? 0) stray zone upload(s)")
                }
            }
        }
    }
}
