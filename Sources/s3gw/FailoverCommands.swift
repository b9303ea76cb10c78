import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import S3Backend

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
        @OptionGroup var options: ConfigOption
        @Argument(help: "The tenant bucket name.") var bucket: String
        @Argument(help: "A zone of the bucket's placement.") var zone: String
        @Flag(help: "Promote a zone the health checker marks down.") var force = false

        func run() throws {
            let config = try loadOrExit(options.config)
            CurlGlobal.initialize()
            let ctx = try Worker.makeContext(
                config: config, logger: makeLogger("s3gw.cli", level: "warning"), serving: false)
            let before = try ctx.metadata.bucket(named: bucket)?.primaryZone
            do {
                let b = try Failover.promote(bucket: bucket, to: zone, force: force, ctx)
                if before == zone {
                    print("bucket \(bucket): \(zone) already is the primary zone")
                } else {
                    print(
                        "bucket \(bucket): primary zone \(zone) (was \(before ?? "-")); placement \(b.zones.joined(separator: ", "))"
                    )
                }
            } catch let r as Failover.Refusal {
                FileHandle.standardError.write(Data("s3gw: \(r)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// `s3gw repair BUCKET [KEY]`: the scrub's check of every copy, now, for one bucket or object.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Check a bucket's copies against their zones now and queue copies of what is missing or damaged.",
        discussion: """
            Each copy (the primary and every completed replica) is looked up in its zone: missing, \
            the wrong size, or a different ETag where the zone keeps one. A damaged replica is copied \
            again from an intact copy; a damaged primary copy hands its role to an intact replica and is \
            copied again. Dead-lettered copies of the objects checked are queued again. The agent \
            makes and verifies the copies (`s3gw replication status` shows them). Exit status 1 when \
            an object has no intact copy left or a copy could not be checked.
            """)
    @OptionGroup var options: ConfigOption
    @Argument(help: "The tenant bucket name.") var bucket: String
    @Argument(help: "One object key (default: every object of the bucket).") var key: String?
    @Flag(
        help: "Read every copy and compare its bytes with the object's ETag (slow; catches damage that keeps the size)."
    )
    var deep = false

    func run() throws {
        let config = try loadOrExit(options.config)
        CurlGlobal.initialize()
        let ctx = try Worker.makeContext(
            config: config, logger: makeLogger("s3gw.cli", level: "warning"), serving: false)
        var queued = 0
        var lost = 0
        var unchecked = 0
        let checked: Int
        do {
            checked = try Repair.bucket(bucket, key: key, Repair.Options(deep: deep, retryDead: true), ctx) { out in
                for line in out.notes { print("\(out.bucket)/\(out.key): \(line)") }
                for line in out.unchecked { print("\(out.bucket)/\(out.key): not checked in \(line)") }
                queued += out.queued
                lost += out.lost ? 1 : 0
                unchecked += out.unchecked.count
            }
        } catch {
            let what = error == .noSuchKey ? "no object \(key ?? "") in bucket \(bucket)" : "no bucket named \(bucket)"
            FileHandle.standardError.write(
                Data("s3gw: \(error == .noSuchKey || error == .noSuchBucket ? what : "\(error)")\n".utf8))
            throw ExitCode(1)
        }
        print(
            "checked \(checked) object(s): \(queued) cop\(queued == 1 ? "y" : "ies") queued, \(lost) without an intact copy, \(unchecked) cop\(unchecked == 1 ? "y" : "ies") not checked"
        )
        if lost > 0 || unchecked > 0 { throw ExitCode(1) }
    }
}
