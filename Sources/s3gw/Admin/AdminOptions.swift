import ArgumentParser
import Foundation
import Gateway

/// The options every admin command shares: where the calls go (the local gateway's state through
/// its configuration, or a remote gateway's admin API) and how answers are printed.
struct AdminOptions: ParsableArguments {
    @Option(
        name: .shortAndLong,
        help: "The gateway configuration file, for calls on the gateway host (default: /etc/s3gw/s3gw.toml).")
    var config: String?

    @Option(
        help: ArgumentHelp(
            "A gateway's URL (https://host[:port]); calls go to its admin API, signed with SigV4.",
            valueName: "url"))
    var endpoint: String?

    @Option(help: "Admin access key for --endpoint (default: S3GW_ADMIN_ACCESS_KEY, then AWS_ACCESS_KEY_ID).")
    var accessKey: String?

    @Option(
        help: """
            Admin secret key for --endpoint (default: S3GW_ADMIN_SECRET_KEY, then AWS_SECRET_ACCESS_KEY; \
            the environment keeps it out of the process list).
            """)
    var secretKey: String?

    @Option(help: "The region signed into remote calls.")
    var region = "us-east-1"

    @Option(help: "CA certificates (PEM) to verify the endpoint's TLS certificate with.")
    var caBundle: String?

    @Flag(help: "Do not verify the endpoint's TLS certificate.")
    var insecure = false

    @Flag(help: "Print the admin API's JSON instead of tables.")
    var json = false

    static let defaultConfig = "/etc/s3gw/s3gw.toml"

    func validate() throws {
        if endpoint == nil {
            if accessKey != nil || secretKey != nil || caBundle != nil || insecure {
                throw ValidationError("--access-key, --secret-key, --ca-bundle and --insecure go with --endpoint")
            }
        } else if config != nil {
            throw ValidationError("--config is for calls on the gateway host, --endpoint for remote ones: not both")
        }
    }

    /// The credentials of remote calls: the options, else S3GW_ADMIN_*, else the AWS variables
    /// (with AWS_SESSION_TOKEN for temporary ones). Both halves come from the same place.
    func credentials(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> RemoteAdminTransport.Credentials
    {
        func pair(_ a: String, _ s: String) -> (String, String)? {
            guard let ak = environment[a], let sk = environment[s], !ak.isEmpty, !sk.isEmpty else { return nil }
            return (ak, sk)
        }
        if accessKey != nil || secretKey != nil {
            guard let accessKey, let secretKey, !accessKey.isEmpty, !secretKey.isEmpty else {
                throw ValidationError("--access-key and --secret-key go together")
            }
            return .init(accessKey: accessKey, secretKey: secretKey)
        }
        if let (a, s) = pair("S3GW_ADMIN_ACCESS_KEY", "S3GW_ADMIN_SECRET_KEY") {
            return .init(accessKey: a, secretKey: s)
        }
        if let (a, s) = pair("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") {
            // Sent so that temporary credentials get the gateway's own refusal (the admin API
            // takes permanent keys only), not a signature error.
            return .init(accessKey: a, secretKey: s, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
        throw ValidationError(
            "--endpoint needs admin credentials: --access-key and --secret-key, or S3GW_ADMIN_ACCESS_KEY and "
                + "S3GW_ADMIN_SECRET_KEY in the environment")
    }

    /// The configuration file local calls use.
    var configPath: String { config ?? Self.defaultConfig }

    /// A transport of the unit tests' own, which every command then uses (AdminCommandTests
    /// check each admin route has a command that reaches it).
    @TaskLocal static var testTransport: (any AdminTransport & Sendable)?

    func transport() throws -> any AdminTransport {
        if let t = Self.testTransport { return t }
        guard let endpoint else {
            // Read once: it says whether this host runs a router or a gateway.
            let config: GatewayConfig
            do {
                config = try GatewayConfig.load(path: configPath)
            } catch {
                throw AdminFailure(code: "InvalidConfiguration", message: "\(error)")
            }
            if let router = try LocalRouterTransport.forRouter(config: config) { return router }
            return try LocalAdminTransport(config: config, configPath: configPath)
        }
        return try RemoteAdminTransport(
            endpoint: endpoint, credentials: try credentials(), region: region, caBundle: caBundle,
            verifyTLS: !insecure)
    }

    /// Runs a command's calls: failures are printed as `s3gw: <code>: <message>` and exit 1;
    /// a usage problem (no credentials for --endpoint) exits 2.
    func run(_ body: (AdminClient) throws(AdminFailure) -> Void) throws {
        try run { client throws(AdminFailure) -> Int32 in
            try body(client)
            return 0
        }
    }

    /// As `run`, for a command whose exit status says what it found (`body` returns it); a
    /// failed call exits `failure` (the audit's 1 means "violations found", so it fails with 2).
    func run(failure: Int32 = 1, status body: (AdminClient) throws(AdminFailure) -> Int32) throws {
        let code: Int32
        do {
            code = try body(AdminClient(transport: try transport(), json: json))
        } catch let failed as AdminFailure {
            FileHandle.standardError.write(Data("s3gw: \(failed.code): \(failed.message)\n".utf8))
            throw ExitCode(failure)
        } catch let usage as ValidationError {
            FileHandle.standardError.write(Data("s3gw: \(usage.message)\n".utf8))
            throw ExitCode(2)
        }
        if code != 0 { throw ExitCode(code) }
    }
}
