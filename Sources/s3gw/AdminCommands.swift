import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import MetadataSQLite
import S3Backend

#if canImport(Glibc)
    import Glibc
#endif

/// `s3gw zones`: the catalog with each zone's health, as the agent last recorded it (or probed
/// now with --probe); `s3gw zones ls`: what a zone itself holds.
struct ZonesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zones", abstract: "Show the zone catalog and each zone's health, or what a zone holds.",
        subcommands: [Show.self, List.self, SweepUploads.self], defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the zone catalog and each zone's health (the default).")
        @OptionGroup var options: ConfigOption
        @Flag(help: "Probe every zone now (and record the result) instead of showing the last check.")
        var probe = false

        func run() throws {
            let config = try loadOrExit(options.config)
            CurlGlobal.initialize()
            let metadata = try SQLiteMetadataStore(path: config.metadataPath)
            var health = Dictionary(uniqueKeysWithValues: try metadata.zoneHealth().map { ($0.zone, $0) })
            if probe {
                let (_, probed) = Maintenance.probeZones(
                    try Worker.makeZones(config), metadata: metadata, clock: SystemClock(), timeout: 30,
                    logger: makeLogger("s3gw.cli", level: "warning"))
                for h in probed { health[h.zone] = h }
            }
            let catalog = ZoneCatalog(config: config)
            var rows = [["ZONE", "COUNTRY", "REGION", "KIND", "LOCATION", "STATE", "LATENCY", "CHECKED", "LAST ERROR"]]
            for z in catalog.zones {
                let h = health[z.name]
                rows.append([
                    z.name + (z.name == catalog.defaultZone ? " (default)" : ""), z.country, z.region, z.kind,
                    z.location, h?.state.rawValue ?? "unknown",
                    h.map { $0.state == .down ? "-" : String(format: "%.0f ms", $0.latency * 1000) } ?? "-",
                    h.map { ago($0.checkedAt) } ?? "never", h?.lastError ?? "",
                ])
            }
            printTable(rows)
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
                `s3gw buckets show NAME` names a tenant bucket's backend bucket.
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "The zone, as named in the configuration.") var zone: String
        @Argument(help: "A backend bucket in that zone.") var backendBucket: String?

        func run() throws {
            let config = try loadOrExit(options.config)
            CurlGlobal.initialize()
            guard let zone = try Worker.makeZones(config)[self.zone] else {
                FileHandle.standardError.write(Data("s3gw: no zone named \(self.zone) in \(options.config)\n".utf8))
                throw ExitCode(1)
            }
            do {
                guard let backendBucket else {
                    for name in try zone.listBackendBuckets() { print(name) }
                    return
                }
                print(
                    "BLOB".padding(toLength: 34, withPad: " ", startingAt: 0) + "        SIZE  ETAG"
                        + String(repeating: " ", count: 32) + "LAST MODIFIED")
                var count = 0
                var bytes: Int64 = 0
                var after = ""
                while true {
                    let page = try zone.listBlobs(backendBucket: backendBucket, after: after, limit: 1000)
                    for blob in page {
                        let id = blob.id.padding(toLength: max(34, blob.id.count + 2), withPad: " ", startingAt: 0)
                        let size = String(blob.size)
                        let etag = (blob.etag ?? "-").padding(toLength: 36, withPad: " ", startingAt: 0)
                        let modified = blob.lastModified.map { HTTPDate.iso8601($0) } ?? "-"
                        print(
                            id + String(repeating: " ", count: max(0, 12 - size.count)) + size + "  " + etag + modified)
                        bytes += blob.size
                    }
                    count += page.count
                    guard let last = page.last else { break }
                    after = last.id
                }
                print("total: \(count) blobs, \(bytes) bytes")
            } catch {
                FileHandle.standardError.write(Data("s3gw: \(describe(error))\n".utf8))
                throw ExitCode(1)
            }
        }

        private func describe(_ error: StoreError) -> String {
            switch error {
            case .zoneUnavailable(let m), .internalFailure(let m): m
            default: "zone \(zone): \(error)"
            }
        }
    }
}

/// `s3gw buckets show NAME`: where a tenant bucket lives, and its name inside each zone.
struct BucketsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buckets", abstract: "Inspect tenant buckets and set their replica-count.",
        subcommands: [Show.self, Replicas.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a bucket's placement and backend bucket names.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The tenant bucket name.") var name: String

        func run() throws {
            let config = try loadOrExit(options.config)
            let metadata = try SQLiteMetadataStore(path: config.metadataPath)
            guard let b = try metadata.bucket(named: name) else {
                FileHandle.standardError.write(Data("s3gw: no bucket named \(name)\n".utf8))
                throw ExitCode(1)
            }
            print("bucket               \(b.name)")
            print("owner                \(b.owner)")
            print(
                "created              \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: b.createdAt)))")
            print(
                "location constraint  \(b.locationConstraint.isEmpty ? "(none: default zone)" : b.locationConstraint)")
            print("replica-count        \(b.replicaCount)")
            let secret = try InstallationSecret.load(stateDir: config.stateDir, createIfMissing: false)
            for l in BucketLocation.all(of: b, secret: secret, catalog: ZoneCatalog(config: config)) {
                print("\(l.role.rawValue) zone         \(l.zone)  \(l.location ?? "(zone not in the configuration)")")
                print("  backend bucket     \(l.backendBucket)")
            }
        }
    }
}

/// The configuration, or the reason it cannot be read on stderr and the exit status `code`.
func loadOrExit(_ path: String, code: Int32 = 1) throws -> GatewayConfig {
    do {
        return try GatewayConfig.load(path: path)
    } catch {
        FileHandle.standardError.write(Data("s3gw: \(error)\n".utf8))
        throw ExitCode(code)
    }
}

func ago(_ t: Double) -> String {
    let s = Int(Date().timeIntervalSince1970 - t)
    return s < 120 ? "\(s)s ago" : s < 7200 ? "\(s / 60)m ago" : "\(s / 3600)h ago"
}

func printTable(_ rows: [[String]]) {
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    for r in rows {
        let line = zip(r, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }
        print(String(line.joined(separator: "  ").reversed().drop { $0 == " " }.reversed()))
    }
}

/// `s3gw providers import FILE`: validates providers from CSV/JSON and appends them to the
/// configuration as zones (the running gateway picks them up on reload, SIGHUP).
struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers", abstract: "Manage provider zones.", subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add provider zones from a CSV or JSON file to the configuration.",
            discussion: """
                Fields (CSV header / JSON keys): name, country, region, endpoint, access_key, secret_key \
                (required); signing_region, path_style, verify_tls, ca_bundle, storage_class (optional). \
                See docs/PROVIDERS.md.
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "A .csv or .json file of providers.") var file: String
        @Flag(help: "Print the zones that would be added; change nothing.") var dryRun = false

        func run() throws {
            _ = try loadOrExit(options.config)
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("s3gw: cannot read \(file)\n".utf8))
                throw ExitCode(1)
            }
            let plan: ProviderImport.Plan
            do {
                plan = try ProviderImport.plan(
                    String(decoding: data, as: UTF8.self), file: file, configPath: options.config)
            } catch let e as ProviderImport.Invalid {
                FileHandle.standardError.write(Data("s3gw: \(e)\n".utf8))
                throw ExitCode(1)
            } catch let e as ProviderImport.NotFitting {
                FileHandle.standardError.write(Data("s3gw: \(e)\n".utf8))
                throw ExitCode(1)
            }
            if dryRun {
                print(plan.toml, terminator: "")
                return
            }
            try ProviderImport.apply(plan)
            print(
                "s3gw: added \(plan.zones.count) provider zone(s) to \(options.config); reload with SIGHUP (or systemctl reload)"
            )
        }
    }
}
