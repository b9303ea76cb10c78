import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import Logging
import S3Backend

@main
struct S3GW: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3gw",
        abstract: "A policy-aware, S3-compatible storage gateway (FastCGI behind nginx).",
        discussion: """
            The admin commands (tenants … workers) work on the gateway on this host with -c CONFIG, \
            or on a gateway's admin API with --endpoint URL and admin credentials: the same calls \
            either way. --json prints the API's JSON instead of tables.
            """,
        subcommands: [
            Serve.self, ConfigCommand.self, KeysCommand.self,
            TenantsCommand.self, UsersCommand.self, CredentialsCommand.self, KMSKeysCommand.self,
            BucketsCommand.self, ZonesCommand.self, ReplicationCommand.self, FailoverCommand.self,
            PlacementCommand.self, RepairCommand.self, AuditCommand.self, OplogCommand.self, ProvidersCommand.self,
            AgentsCommand.self, WorkersCommand.self, MetricsCommand.self, SnapshotsCommand.self, MigrateCommand.self,
            RoutingCommand.self, MetadataCommand.self,
            WorkerCommand.self, AgentCommand.self,
        ])

    /// ArgumentParser's own entry point, except that a usage error exits 2, as other Unix
    /// tools' do (its default is 64); one a command finds itself (an unreadable argument file)
    /// is a plain `s3gw: <message>` line.
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let usage as ValidationError {
            FileHandle.standardError.write(Data("s3gw: \(usage.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            exit(withError: error)
        }
    }
}

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The gateway configuration file.")
    var config: String = "/etc/s3gw/s3gw.toml"
}

/// The configuration, or the reason it cannot be read on stderr and exit status 1.
func loadOrExit(_ path: String) throws -> GatewayConfig {
    do {
        return try GatewayConfig.load(path: path)
    } catch {
        FileHandle.standardError.write(Data("s3gw: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

func makeLogger(_ label: String, level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        // A request's id comes from its trace when a line is written, not set on the logger
        // per request: setting metadata makes the handler re-render it, a cost every request
        // paid although most log nothing.
        var h = StreamLogHandler.standardError(label: label, metadataProvider: requestIdMetadata)
        h.logLevel = Logger.Level(rawValue: level) ?? .info
        return h
    }
    var logger = Logger(label: label)
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    logger[metadataKey: "pid"] = .string(String(getpid()))
    return logger
}

/// The current request's id (its trace: a request, or an agent step) on every line logged
/// while it runs.
let requestIdMetadata = Logger.MetadataProvider {
    RequestTrace.current.map { ["request-id": .string($0.requestId)] } ?? [:]
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the supervisor and its workers (foreground).")
    @OptionGroup var options: ConfigOption
    @Option(help: "Write the supervisor's pid here.") var pidFile: String?
    @Option(
        help: ArgumentHelp(
            "gateway, or router: the global router (docs/ROUTER.md). Default: router when the configuration has [router].",
            valueName: "role"))
    var role: String?

    func validate() throws {
        if let role, role != "gateway", role != "router" { throw ValidationError("--role is gateway or router") }
    }

    func run() throws {
        let config = try loadOrExit(options.config)
        if role == "router" || (role == nil && config.router != nil) {
            let logger = makeLogger("s3gw.router", level: config.logLevel)
            throw ExitCode(
                try RouterServer.run(
                    config: config, settings: config.router ?? RouterSettings(), pidFile: pidFile, logger: logger))
        }
        if config.zones.isEmpty {
            FileHandle.standardError.write(Data("s3gw: \(options.config): a gateway needs [[zones]]\n".utf8))
            throw ExitCode(1)
        }
        let logger = makeLogger("s3gw.supervisor", level: config.logLevel)
        let code = try Supervisor(configPath: options.config, config: config, logger: logger).run(pidFile: pidFile)
        throw ExitCode(code)
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "A FastCGI worker (spawned by serve; fd 0 is the socket).",
        shouldDisplay: false)
    @OptionGroup var options: ConfigOption
    @Flag(help: "Write one byte to fd 3 once serving (the supervisor's reload handshake).") var reportReady = false

    func run() throws {
        let config = try GatewayConfig.load(path: options.config)
        let logger = makeLogger("s3gw.worker", level: config.logLevel)
        throw ExitCode(try Worker.run(configPath: options.config, logger: logger, reportReady: reportReady))
    }
}

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "The background agent (spawned by serve).", shouldDisplay: false)
    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try GatewayConfig.load(path: options.config)
        let logger = makeLogger("s3gw.agent", level: config.logLevel)
        throw ExitCode(try Agent.run(configPath: options.config, logger: logger))
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Configuration tools.", subcommands: [Check.self, NginxLocationsCommand.self])

    struct NginxLocationsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nginx-locations",
            abstract: "Print the nginx locations that send filesystem zones' files (X-Accel-Redirect).",
            discussion: """
                nginx/s3gw.conf includes the output in each server block; regenerate it after \
                changing the zones, then reload nginx.
                """)
        @OptionGroup var options: ConfigOption

        func run() throws {
            let config = try loadOrExit(options.config)
            do {
                print(try NginxLocations.render(config, source: options.config), terminator: "")
            } catch {
                FileHandle.standardError.write(Data("s3gw: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a configuration file, like nginx -t.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "Also check that every zone is reachable and accepts its credentials.")
        var probe = false

        func run() throws {
            let config: GatewayConfig
            do {
                config = try GatewayConfig.load(path: options.config)
                print("s3gw: the configuration file \(options.config) syntax is ok")
            } catch {
                FileHandle.standardError.write(Data("s3gw: \(error)\n".utf8))
                FileHandle.standardError.write(Data("s3gw: configuration file \(options.config) test failed\n".utf8))
                throw ExitCode(1)
            }
            if probe {
                CurlGlobal.initialize()
                var failed = false
                for (name, zone) in try Worker.makeZones(config).sorted(by: { $0.key < $1.key }) {
                    do {
                        let t = try zone.probe()
                        print("s3gw: zone \(name): ok (\(Int(t * 1000)) ms)")
                    } catch {
                        failed = true
                        let why: String
                        switch error {
                        case .zoneUnavailable(let m): why = "unreachable: \(m)"
                        case .internalFailure(let m): why = m.contains("403") ? "credentials rejected: \(m)" : m
                        default: why = "\(error)"
                        }
                        FileHandle.standardError.write(Data("s3gw: zone \(name): \(why)\n".utf8))
                    }
                }
                if failed {
                    FileHandle.standardError.write(
                        Data("s3gw: configuration file \(options.config) test failed\n".utf8))
                    throw ExitCode(1)
                }
            }
            print("s3gw: configuration file \(options.config) test is successful")
        }
    }
}
