import ArgumentParser
import Foundation
import Gateway

/// `s3gw providers import FILE`: validates providers from CSV/JSON and appends them to the
/// gateway's configuration as zones (the running gateway picks them up on reload, SIGHUP).
struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers", abstract: "Manage provider zones.", subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add provider zones from a CSV or JSON file to the gateway's configuration.",
            discussion: """
                Fields (CSV header / JSON keys): name, country, region, endpoint, access_key, secret_key \
                (required); signing_region, path_style, verify_tls, ca_bundle, storage_class, \
                payload_signing (optional). See docs/PROVIDERS.md. The file is read here; the gateway \
                checks the providers and the configuration they would make, and writes its \
                configuration file (with -c, that file, even before the gateway first ran). No \
                output shows an access key or secret.
                """)
        @OptionGroup var admin: AdminOptions
        @Argument(help: "A .csv or .json file of providers.") var file: String
        @Flag(help: "Show the zones that would be added; change nothing.") var dryRun = false

        struct Body: Encodable {
            var providers: [[String: String]]
            var apply: Bool
        }

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("s3gw: cannot read \(file)\n".utf8))
                throw ExitCode(1)
            }
            let rows: [[String: String]]
            do {
                rows = try ProviderImport.rows(from: String(decoding: data, as: UTF8.self), file: file)
            } catch {
                FileHandle.standardError.write(Data("s3gw: \(error)\n".utf8))
                throw ExitCode(1)
            }
            try admin.run { client throws(AdminFailure) in
                let result = try client.send(
                    AdminCall("POST", ["providers", "import"], json: Body(providers: rows, apply: !dryRun)))
                if client.json {
                    print(result?.pretty ?? "")
                    return
                }
                let zones = result?["zones"]?.array ?? []
                client.printList(
                    zones,
                    columns: [
                        .init("ZONE", "name"), .init("COUNTRY", "country"), .init("REGION", "region"),
                        .init("ENDPOINT", "endpoint"), .init("SIGNING REGION", "signing_region"),
                        .init("PATH STYLE", "path_style"), .init("VERIFY TLS", "verify_tls"),
                    ], empty: "no zones")
                let target = admin.endpoint.map { "the configuration of \($0)" } ?? admin.configPath
                if result?["applied"]?.bool == true {
                    print(
                        "s3gw: added \(zones.count) provider zone(s) to \(target); reload with SIGHUP (or systemctl reload)"
                    )
                } else {
                    print("s3gw: dry run: \(zones.count) provider zone(s) would be added to \(target); nothing changed")
                }
            }
        }
    }
}
