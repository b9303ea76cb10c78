import ArgumentParser
import Foundation

/// `s3gw replication status|jobs|retry|cancel`: the queue, per object and per job.
struct ReplicationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replication", abstract: "Inspect and steer replication.",
        subcommands: [Status.self, Jobs.self, Retry.self, Cancel.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The queue, or a bucket's or object's copies and jobs.",
            discussion: """
                The queue's counts and rates, then with BUCKET its objects' copies (or KEY's), then \
                the jobs (of the bucket or object; every job without one), at most 1000 of each. \
                With --json: the admin API's status answer with the jobs added as "jobs".
                """)
        @OptionGroup var admin: AdminOptions
        @Argument(help: "A bucket, by the name the tenant's clients use.") var bucket: String?
        @Argument(help: "An object key in it.") var key: String?
        @Option(help: "The bucket's tenant (default: default); without a bucket, only this tenant's jobs.")
        var tenant: String?

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                var query: [String: String] = [:]
                query["tenant"] = tenant
                query["bucket"] = bucket
                query["key"] = key
                let status = try client.send(AdminCall("GET", ["replication"], query: query)) ?? .null
                query["limit"] = "1000"
                let page = try client.send(AdminCall("GET", ["replication", "jobs"], query: query))
                let jobs = page?["items"]?.array ?? []
                if client.json {
                    var doc = status.object ?? [:]
                    doc["jobs"] = .array(jobs)
                    print(JSONValue.object(doc).pretty)
                    return
                }
                let q = status["queue"] ?? .null
                func n(_ k: String) -> Int64 { q[k]?.int ?? 0 }
                print(
                    "queue: \(n("pending")) pending (\(n("retrying")) retrying), \(n("running")) running, "
                        + "\(n("dead")) dead; oldest pending \(Int(q["oldest_pending_seconds"]?.double ?? 0))s")
                print(
                    String(
                        format: "rate over the last %d minutes: %.1f jobs finished/min, %.1f failed attempts/min",
                        Int(n("rate_window_minutes")), q["finished_per_minute"]?.double ?? 0,
                        q["failed_per_minute"]?.double ?? 0))
                let objects = status["objects"]?.array ?? []
                if !objects.isEmpty {
                    var rows = [["OBJECT", "STATUS", "COPIES"]]
                    for o in objects {
                        let copies = (o["copies"]?.array ?? []).map {
                            "\($0["zone"]?.cell ?? "")=\($0["state"]?.cell ?? "")"
                        }
                        let state = o["status"]?.string ?? "NONE"
                        // A noncurrent version is named with its id.
                        let version = o["is_latest"]?.bool == false ? " (version \(o["version_id"]?.cell ?? ""))" : ""
                        rows.append([
                            (o["key"]?.cell ?? "") + version, state == "NONE" ? "-" : state,
                            copies.joined(separator: " "),
                        ])
                    }
                    printTable(rows)
                }
                if !jobs.isEmpty { printJobs(jobs) }
                if page?["next_marker"] != nil {
                    print("(more jobs than listed: `s3gw replication jobs` lists them all)")
                }
            }
        }
    }

    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List replication jobs: every one, a bucket's or an object's, or the dead letters.")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Only this bucket's jobs (by the name the tenant's clients use).") var bucket: String?
        @Option(help: "Only this object's jobs (in --bucket, or in any bucket).") var key: String?
        @Option(help: "The bucket's tenant (default: default); without --bucket, only this tenant's jobs.")
        var tenant: String?
        @Option(help: "Only jobs in this state: pending, running or dead.") var state: String?
        @Flag(help: "Only the dead letters (jobs that failed every attempt): --state dead.") var dead = false

        func validate() throws {
            if dead && state != nil && state != "dead" { throw ValidationError("--dead is --state dead") }
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                var query = ["limit": "1000"]
                query["bucket"] = bucket
                query["key"] = key
                query["tenant"] = tenant
                query["state"] = dead ? "dead" : state
                let jobs = try client.list(AdminCall("GET", ["replication", "jobs"], query: query))
                if client.json {
                    print(JSONValue.object(["items": .array(jobs)]).pretty)
                } else if jobs.isEmpty {
                    print(dead || state == "dead" ? "no dead jobs" : "no jobs")
                } else {
                    printJobs(jobs)
                }
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-queue dead-lettered jobs (exit status 1 when none was).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job ids.") var jobs: [Int64] = []
        @Flag(help: "Every dead job.") var dead = false

        struct Body: Encodable {
            var ids: [Int64]?
            var allDead: Bool?
        }

        func validate() throws {
            if jobs.isEmpty == !dead { throw ValidationError("name job ids or --dead") }
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) -> Int32 in
                let body = dead ? Body(allDead: true) : Body(ids: jobs)
                let answer = try client.send(AdminCall("POST", ["replication", "retry"], json: body))
                let n = answer?["retried"]?.int ?? 0
                if client.json {
                    print(answer?.pretty ?? "")
                } else {
                    print("\(n) job(s) queued again")
                }
                return n == 0 ? 1 : 0
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a job that is not running.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The job id.") var job: Int64

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                try client.send(AdminCall("DELETE", ["replication", "jobs", String(job)]))
                client.done("job \(job) cancelled")
            }
        }
    }

    /// Jobs as a table: the object is `bucket/key`, with `tenant/` before it outside the
    /// default tenant (as the metadata store names buckets).
    static func printJobs(_ jobs: [JSONValue]) {
        var rows = [["JOB", "KIND", "OBJECT", "ZONE", "STATE", "ATTEMPTS", "LAST ERROR"]]
        for j in jobs {
            let tenant = j["tenant"]?.string ?? "default"
            let object =
                (tenant == "default" ? "" : tenant + "/") + "\(j["bucket"]?.cell ?? "")/\(j["key"]?.cell ?? "")"
            rows.append([
                j["id"]?.cell ?? "", j["kind"]?.cell ?? "", object, j["zone"]?.cell ?? "", j["state"]?.cell ?? "",
                j["attempts"]?.cell ?? "", String((j["last_error"]?.string ?? "").prefix(80)),
            ])
        }
        printTable(rows)
    }
}
