import ArgumentParser
import Dispatch
import Foundation
import Gateway
import GatewayCore
import Logging
import S3Backend
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension MigrateCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a plan's buckets from the source account into the gateway.",
            discussion: """
                Creates each target bucket with the plan's constraint and replica-count and copies every \
                object through the gateway's normal write path (permissions, residency, replicas), \
                streaming and verified against the source's ETag or checksum. Runs in this process on \
                the gateway host, as the root user or the user of S3GW_ADMIN_ACCESS_KEY. The source \
                credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or \
                a prompt; they are never stored or printed. Ctrl-C stops cleanly; running the same \
                plan again resumes without reading what is already copied. Exit status: 0 everything \
                copied, 3 done with objects skipped or buckets failed (see the report), 1 the run \
                failed, 130 interrupted.
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "A plan file, or a plan id under the state directory.") var plan: String
        @Flag(
            help: """
                While the run lasts, a read of a key the gateway does not have yet is served from the \
                source (copied first), so clients can switch to the gateway before the copy ends.
                """)
        var readThrough = false
        @Option(
            help: ArgumentHelp(
                "The source's URL (scheme://host[:port]); by default the plan's host over https, or http where only that is allowed.",
                valueName: "url"))
        var sourceEndpoint: String?
        @Option(help: "Objects copied at once.") var parallel = 4
        @Option(help: "Write one JSON line per object (its outcome and verification) to this file.") var report: String?
        @Flag(help: "Print the final report as JSON.") var json = false

        func validate() throws {
            if parallel < 1 || parallel > 64 { throw ValidationError("--parallel must be between 1 and 64") }
        }

        func run() throws {
            let config = try loadOrExit(options.config)
            let ctx = try MigrationCLI.context(config, configPath: options.config)
            let principal = try MigrationCLI.principal(ctx)
            let thePlan: MigrationPlanV1
            do {
                thePlan = try MigrationFiles.loadPlan(plan, stateDir: config.stateDir, tenant: principal.tenant)
            } catch {
                throw MigrationCLI.fail("cannot read the plan \(plan): \(error)")
            }
            guard thePlan.plan.tenant == principal.tenant else {
                throw MigrationCLI.fail(
                    "the plan copies into tenant \(thePlan.plan.tenant); this run acts for tenant \(principal.tenant)")
            }
            // A --source-endpoint off the plan's host fails before the credentials are asked for.
            if let sourceEndpoint { try MigrationCLI.checkEndpoint(sourceEndpoint, plan: thePlan) }
            // Before the credentials are asked for: a plan this principal cannot carry out, or
            // one that runs already, fails at once (the claim below is what settles a race).
            do {
                try MigrationRunner.checkReplicaCounts(thePlan, by: principal, ctx)
                try MigrationRunner.checkNotRunning(thePlan.plan.id, ctx)
            } catch let e as MigrationError {
                throw MigrationCLI.fail("\(e.code.rawValue): \(e.message)")
            }
            let credentials = try MigrationCLI.sourceCredentials()
            let source: any SourceAccount
            do {
                guard let connector = ctx.migration.connector else {
                    throw MigrationError(.sourceFailed, "no source client")
                }
                source = try MigrationRuns.connect(thePlan, endpoint: sourceEndpoint, credentials, connector)
            } catch {
                throw MigrationCLI.fail("\(error)")
            }

            let log = try report.map { try ObjectLog(path: $0) }
            var runOptions = MigrationRunner.Options()
            runOptions.parallel = parallel
            if readThrough {
                runOptions.readThroughSocket = ReadThroughServer.path(stateDir: config.stateDir, runId: thePlan.plan.id)
            }
            // Bucket failures and skips are the report's; the log keeps to errors, so it does not
            // break into the progress line.
            var logger = Logger(label: "s3gw.migrate")
            logger.logLevel = .error
            let runner = MigrationRunner(
                plan: thePlan, source: source, principal: principal, ctx: ctx, options: runOptions, logger: logger
            ) { event in log?.write(event) }
            do {
                try runner.claim()
            } catch let e as MigrationError {
                throw MigrationCLI.fail("\(e.code.rawValue): \(e.message)")
            }
            var server: ReadThroughServer?
            if readThrough {
                do {
                    server = try ReadThroughServer(stateDir: config.stateDir, runId: thePlan.plan.id, logger: logger) {
                        bucket, key in runner.readThrough(bucket: bucket, key: key)
                    }
                } catch {
                    runner.abandon("cannot serve read-through: \(error)")
                    throw MigrationCLI.fail("cannot serve read-through: \(error)")
                }
            }
            let interrupts = MigrationCLI.onInterrupt {
                FileHandle.standardError.write(Data("\ns3gw: stopping (the objects under way are abandoned)…\n".utf8))
                runner.cancel()
            }
            let progress = ProgressLine(runner)
            progress.start()
            let result = runner.run()
            progress.stop()
            server?.stop()
            interrupts.cancel()
            if json {
                var data = (try? MigrationJSON.encoder().encode(result)) ?? Data()
                data.append(0x0A)
                FileHandle.standardOutput.write(data)
            } else {
                print(result.text, terminator: "")
            }
            switch result.state {
            case .done:
                let clean = result.objectsSkipped == 0 && !result.buckets.contains { $0.state == "failed" }
                if !clean { throw ExitCode(3) }
            case .cancelled, .interrupted: throw ExitCode(130)
            case .failed, .running: throw ExitCode(1)
            }
        }
    }
}

extension MigrationCLI {
    /// Refuses a `--source-endpoint` whose host is not the plan's (or that is no http(s) URL).
    static func checkEndpoint(_ given: String, plan: MigrationPlanV1) throws {
        do {
            _ = try MigrationRuns.endpoint(given, plan: plan)
        } catch {
            throw fail("\(error)")
        }
    }

    /// From the environment, else asked on the terminal without echo; never stored or printed.
    static func sourceCredentials(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> SourceCredentials
    {
        if let ak = environment["AWS_ACCESS_KEY_ID"], let sk = environment["AWS_SECRET_ACCESS_KEY"], !ak.isEmpty,
            !sk.isEmpty
        {
            return SourceCredentials(accessKey: ak, secretKey: sk, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
        guard let tty = fopen("/dev/tty", "r+") else {
            throw fail(
                "no source credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), "
                    + "or run on a terminal to be asked")
        }
        defer { fclose(tty) }
        let ak = prompt(tty, "Source access key id: ", echo: true)
        let sk = prompt(tty, "Source secret access key: ", echo: false)
        let token = prompt(tty, "Source session token (empty for none): ", echo: false)
        guard !ak.isEmpty, !sk.isEmpty else { throw fail("an access key id and a secret access key are needed") }
        return SourceCredentials(accessKey: ak, secretKey: sk, sessionToken: token)
    }

    private static func prompt(_ tty: UnsafeMutablePointer<FILE>, _ text: String, echo: Bool) -> String {
        fputs(text, tty)
        fflush(tty)
        let fd = fileno(tty)
        var saved = termios()
        let hidden = !echo && tcgetattr(fd, &saved) == 0
        if hidden {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        var buf = [CChar](repeating: 0, count: 4096)
        let line = fgets(&buf, Int32(buf.count), tty) != nil ? String(cString: buf) : ""
        if hidden {
            tcsetattr(fd, TCSAFLUSH, &saved)
            fputs("\n", tty)
        }
        // The line's buffer held a secret: cleared before it is freed.
        for i in buf.indices { buf[i] = 0 }
        return line.trimmingCharacters(in: .newlines)
    }

    /// Runs `handler` on the first SIGINT or SIGTERM; a second one ends the process at once.
    static func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> SignalSources {
        let queue = DispatchQueue(label: "s3gw.migrate.signals")
        let seen = Atomic<Int>(0)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler {
                if seen.add(1, ordering: .relaxed).newValue == 1 {
                    handler()
                } else {
                    // Nothing half-written is visible: a blob is only an object once committed.
                    Foundation.exit(130)
                }
            }
            s.resume()
            sources.append(s)
        }
        return SignalSources(sources)
    }
}
