import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import Logging
import S3Backend

/// `s3gw migrate plan|run`: from a discovery snapshot to the objects copied into gateway buckets
/// (docs/MIGRATION.md). Both work on the gateway host, in-process, like the admin commands'
/// local transport: the same configuration, metadata and zones as the running gateway.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Plan and run a migration from an existing S3 account.",
        subcommands: [Plan.self, Run.self])

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn a discovery snapshot into a migration plan under the residency rules.",
            discussion: """
                Places every bucket of the snapshot as CreateBucket would place a bucket with the \
                constraint, counts bytes and objects per zone and country (every copy), estimates the \
                time at [migration] bandwidth_mbps and the monthly cost from the zones' \
                price_per_gb_month, and lists the buckets that cannot be placed with the reason. The \
                plan is stored under the state directory (plans/<tenant>/<id>.json) and, with -o, \
                written to PLAN. Acts as the gateway's root user, or as the user of \
                S3GW_ADMIN_ACCESS_KEY when set.
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "A snapshot file, or a snapshot id under the state directory.") var snapshot: String
        @Option(help: "Where the buckets may live: a LocationConstraint (countries, regions or zones, like fi,de).")
        var constraint: String
        @Option(help: "Copies of each object (the target buckets' replica-count).") var replicas = 1
        @Option(help: "Put before every source bucket's name to make its target's.") var bucketPrefix = ""
        @Option(
            name: .customLong("bucket-constraint"),
            help: ArgumentHelp("One source bucket's own constraint (repeatable).", valueName: "bucket=constraint"))
        var bucketConstraints: [String] = []
        @Flag(help: "Print the plan's JSON instead of the summary.") var json = false
        @Option(name: .shortAndLong, help: "Also write the plan's JSON here.") var output: String?

        func validate() throws {
            if replicas < 1 || replicas > 16 { throw ValidationError("--replicas must be between 1 and 16") }
            for c in bucketConstraints where !c.contains("=") {
                throw ValidationError("--bucket-constraint takes bucket=constraint, not \(c)")
            }
        }

        func run() throws {
            let config = try loadOrExit(options.config)
            let ctx = try MigrationCLI.context(config, configPath: options.config)
            let principal = try MigrationCLI.principal(ctx)
            let snap: SnapshotV1
            do {
                snap = try MigrationFiles.loadSnapshot(snapshot, stateDir: config.stateDir, tenant: principal.tenant)
            } catch {
                throw MigrationCLI.fail("cannot read the snapshot \(snapshot): \(error)")
            }
            let opts = MigrationPlanV1.Options(
                constraint: constraint, replicas: replicas, bucketPrefix: bucketPrefix,
                bucketConstraints: bucketConstraints.map {
                    let (b, c) = $0.split(separator: "=", maxSplits: 1).map(String.init).pair
                    return .init(bucket: b, constraint: c)
                })
            let plan: MigrationPlanV1
            let data: Data
            do {
                plan = try ctx.migrationPlan(for: snap, options: opts, by: principal)
                data = try MigrationPlanFile.encode(plan)
                _ = try MigrationFiles.save(plan, stateDir: config.stateDir)
                if let output { try MigrationFiles.write(data, to: output) }
            } catch {
                throw MigrationCLI.fail("\(error)")
            }
            if json {
                FileHandle.standardOutput.write(data)
            } else {
                print(MigrationPlanSummary.text(plan), terminator: "")
                print(
                    "Plan \(plan.plan.id)" + (output.map { " written to \($0)" } ?? " stored under the state directory")
                )
            }
        }
    }
}

/// What both subcommands share.
enum MigrationCLI {
    /// The gateway's state, opened in-process (as the admin commands' local transport does).
    /// First of all, core dumps go off: this process holds the master key and, for a run, the
    /// source credentials.
    static func context(_ config: GatewayConfig, configPath: String) throws -> GatewayContext {
        disableCoreDumps()
        CurlGlobal.initializeOnce()
        // Warnings go to stderr: stdout carries the plan or the report (--json).
        let logger = makeLogger("s3gw.migrate", level: "warning")
        do {
            return try Worker.makeContext(config: config, configPath: configPath, logger: logger, serving: false)
        } catch {
            throw fail("cannot open the gateway's state in \(config.stateDir) (has `s3gw serve` run there?): \(error)")
        }
    }

    /// Who the plan and the copies act as: the user of S3GW_ADMIN_ACCESS_KEY (whose secret, when
    /// S3GW_ADMIN_SECRET_KEY is set too, must match), else the gateway's root user.
    static func principal(_ ctx: GatewayContext, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> Principal
    {
        guard let key = environment["S3GW_ADMIN_ACCESS_KEY"], !key.isEmpty else {
            return LocalAdminTransport.operatorPrincipal(ctx)
        }
        guard let resolved = ctx.identities.resolve(key), resolved.principal.session == nil else {
            throw fail("S3GW_ADMIN_ACCESS_KEY names no active permanent access key of this gateway")
        }
        if let secret = environment["S3GW_ADMIN_SECRET_KEY"], !secret.isEmpty, secret != resolved.secret {
            throw fail("S3GW_ADMIN_SECRET_KEY is not the secret of S3GW_ADMIN_ACCESS_KEY")
        }
        return resolved.principal
    }

    /// `s3gw: <message>` on stderr and exit status 1.
    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("s3gw: \(message)\n".utf8))
        return ExitCode(1)
    }
}

extension Array where Element == String {
    fileprivate var pair: (String, String) { (self[0], count > 1 ? self[1] : "") }
}
