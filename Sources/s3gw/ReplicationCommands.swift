import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import MetadataSQLite

extension BucketsCommand {
    /// `s3gw buckets replicas BUCKET N`: the bucket's replica-count; objects without their own
    /// `replica-count` tag follow it (copies are queued or their removal is).
    struct Replicas: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set how many locations hold a copy of each object of a bucket.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The tenant bucket name.") var name: String
        @Argument(help: "Copies per object (1 = no replicas).") var count: Int

        func run() throws {
            let config = try loadOrExit(options.config)
            let ctx = try Worker.makeContext(
                config: config, logger: makeLogger("s3gw.cli", level: "warning"), serving: false)
            do {
                let changed = try ReplicaCount.set(bucket: name, count: count, ctx)
                print("bucket \(name): replica-count \(count); \(changed) object(s) queued for a change of copies")
            } catch let e as S3Error {
                FileHandle.standardError.write(Data("s3gw: \(e.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// `s3gw replication status|retry|cancel`: the queue, per object and per job.
struct ReplicationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replication", abstract: "Inspect and steer replication.",
        subcommands: [Status.self, Retry.self, Cancel.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The queue, or a bucket's or object's copies and jobs.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "A tenant bucket.") var bucket: String?
        @Argument(help: "An object key in it.") var key: String?
        @Flag(help: "JSON instead of text.") var json = false

        func run() throws {
            let config = try loadOrExit(options.config)
            let metadata = try SQLiteMetadataStore(path: config.metadataPath)
            let status = try ReplicationStatus.read(
                bucket: bucket, key: key, metadata: metadata, now: Date().timeIntervalSince1970)
            let (stats, jobs, objects) = (status.queue, status.jobs, status.objects)
            if json {
                let doc: [String: Any] = [
                    "queue": [
                        "pending": stats.pending, "running": stats.running, "dead": stats.dead,
                        "oldest_pending_seconds": stats.oldestPendingAge, "retrying": stats.retrying,
                        "finished_per_minute": stats.finishedPerMinute, "failed_per_minute": stats.failedPerMinute,
                    ],
                    "objects": objects.map { o in
                        [
                            "bucket": o.bucket, "key": o.key, "status": o.replicationStatus ?? "NONE",
                            "copies": ReplicationStatus.copies(of: o).map { ["zone": $0.zone, "state": $0.state] },
                        ] as [String: Any]
                    },
                    "jobs": jobs.map { j in
                        [
                            "id": j.id, "kind": j.kind.rawValue, "bucket": j.bucket, "key": j.key, "zone": j.zone,
                            "state": j.state.rawValue, "attempts": j.attempts, "last_error": j.lastError,
                        ] as [String: Any]
                    },
                ]
                let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print(
                "queue: \(stats.pending) pending (\(stats.retrying) retrying), \(stats.running) running, \(stats.dead) dead; oldest pending \(Int(stats.oldestPendingAge))s"
            )
            print(
                String(
                    format: "rate over the last %d minutes: %.1f jobs finished/min, %.1f failed attempts/min",
                    QueueStats.window, stats.finishedPerMinute, stats.failedPerMinute))
            if !objects.isEmpty {
                var rows = [["OBJECT", "STATUS", "COPIES"]]
                for o in objects {
                    rows.append([
                        o.key, o.replicationStatus ?? "-",
                        ReplicationStatus.copies(of: o).map { "\($0.zone)=\($0.state)" }.joined(separator: " "),
                    ])
                }
                printTable(rows)
            }
            if !jobs.isEmpty {
                var rows = [["JOB", "KIND", "OBJECT", "ZONE", "STATE", "ATTEMPTS", "LAST ERROR"]]
                for j in jobs {
                    rows.append([
                        String(j.id), j.kind.rawValue, "\(j.bucket)/\(j.key)", j.zone, j.state.rawValue,
                        String(j.attempts), String(j.lastError.prefix(80)),
                    ])
                }
                printTable(rows)
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-queue dead-lettered jobs.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Job ids.") var jobs: [Int64] = []
        @Flag(help: "Every dead job.") var dead = false

        func validate() throws {
            if jobs.isEmpty == !dead { throw ValidationError("name job ids or --dead") }
        }

        func run() throws {
            let config = try loadOrExit(options.config)
            let metadata = try SQLiteMetadataStore(path: config.metadataPath)
            let n = try metadata.retryJobs(ids: dead ? nil : jobs, now: Date().timeIntervalSince1970)
            print("\(n) job(s) queued again")
            if n == 0 { throw ExitCode(1) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a job that is not running.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The job id.") var job: Int64

        func run() throws {
            let config = try loadOrExit(options.config)
            let metadata = try SQLiteMetadataStore(path: config.metadataPath)
            guard try metadata.cancelJob(id: job) else {
                FileHandle.standardError.write(Data("s3gw: job \(job) is running or does not exist\n".utf8))
                throw ExitCode(1)
            }
            print("job \(job) cancelled")
        }
    }
}
