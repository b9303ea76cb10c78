import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import MetadataSQL
import MetadataSQLite
import SigV4

/// The audit chain's commands (docs/OBSERVABILITY.md, "Audit chain"): `show` lists records
/// through the admin API (local or `--endpoint`), `verify` reads the gateway's own store and
/// digest files, `digests` lists the signed digests.
extension AuditCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List audit records: who changed what, and authentication failures.",
            discussion: """
                Oldest first. Filters combine. --bucket is the bucket as the store names it (name, or \
                tenant/name for another tenant's bucket). Without --after the newest --limit records are \
                shown.
                """)
        @OptionGroup var admin: AdminOptions
        @Option(
            help:
                "Records at or after this time: RFC 3339 (2026-11-29T12:00:00Z), epoch seconds, or an age as oplog --since takes (90s, 15m, 2h, 7d)."
        )
        var since: String?
        @Option var bucket: String?
        @Option var tenant: String?
        @Option(help: "The AWS operation (PutObject) or admin permission (admin:CreateUser).")
        var operation: String?
        @Option(help: "What the store did: object.put, bucket.create, credential.create, auth.failure…")
        var change: String?
        @Option(help: "Records after this sequence number (oldest first from there).")
        var after: Int64?
        @Option(help: "At most this many records (1-1000).")
        var limit = 100

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
            if let since, sinceSeconds(since) < 0 {
                throw ValidationError(
                    "--since is an RFC 3339 UTC time (2026-11-29T12:00:00Z), epoch seconds or an age (90s, 15m, 2h, 7d)"
                )
            }
        }

        /// Seconds since the epoch (the API's form); -1 when `text` is none of the forms. An age
        /// is read as the oplog's `--since` reads it (OplogQuery.parseSince), before this host's now.
        func sinceSeconds(_ text: String, now: Double = Date().timeIntervalSince1970) -> Double {
            if let t = HTTPDate.parseISO8601(text) ?? Double(text) ?? OplogQuery.parseSince(text, now: now), t >= 0,
                t <= 253_402_300_799
            {
                return t.rounded(.down)
            }
            return -1
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                var query: [String: String] = ["limit": String(limit)]
                if let after { query["after"] = String(after) } else { query["newest"] = "true" }
                if let since { query["since"] = String(Int64(sinceSeconds(since))) }
                for (k, v) in [
                    ("bucket", bucket), ("tenant", tenant), ("operation", operation),
                    ("change", change),
                ] {
                    if let v { query[k] = v }
                }
                let answer = try client.send(AdminCall("GET", ["audit", "events"], query: query)) ?? .null
                if client.json {
                    print(answer.pretty)
                    return
                }
                let records = answer["records"]?.array ?? []
                printTable(
                    [
                        [
                            "SEQ", "TIME", "ORIGIN", "TENANT", "ACCESS KEY", "OPERATION", "CHANGE", "BUCKET", "KEY",
                            "DETAIL",
                        ]
                    ]
                        + records.map { r in
                            [
                                "seq", "time", "origin", "tenant", "access_key_id", "operation", "change", "bucket",
                                "key", "detail",
                            ]
                            // Keys, buckets and details are the clients' words: no control
                            // character of theirs reaches the terminal.
                            .map { OplogText.cell(r[$0]?.cell ?? "") }
                        })
            }
        }
    }

    struct Digests: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the audit chain's signed digests.")
        @OptionGroup var admin: AdminOptions

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                // Every page, oldest first (one digest per period: a year is 35,000 at 15 minutes),
                // so the newest is last, not cut off after the first thousand.
                var digests: [JSONValue] = []
                var answer = JSONValue.null
                var after: String?
                repeat {
                    var query = ["limit": "1000"]
                    query["after"] = after
                    answer = try client.send(AdminCall("GET", ["audit", "digests"], query: query)) ?? .null
                    digests += answer["digests"]?.array ?? []
                    after = answer["next"]?.string
                } while after != nil
                if case .object(var whole) = answer {
                    whole["digests"] = .array(digests)
                    answer = .object(whole)
                }
                if client.json {
                    print(answer.pretty)
                    return
                }
                printTable(
                    [["ID", "END", "FIRST SEQ", "LAST SEQ", "LAST HASH", "KEY"]]
                        + digests.map { d in
                            [
                                d["id"]?.cell ?? "", d["digest_end_time"]?.cell ?? "",
                                d["digest"]?["first_seq"]?.cell ?? "", d["digest"]?["last_seq"]?.cell ?? "",
                                String((d["digest"]?["last_hash"]?.cell ?? "").prefix(16)),
                                String((d["digest"]?["public_key_fingerprint"]?.cell ?? "").prefix(16)),
                            ]
                        })
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit chain and its signed digests; name the first record tampered with.",
            discussion: """
                Reads the gateway's metadata store (run it on the gateway host, with its configuration). \
                Recomputes every record's hash and link from --from on, then checks each digest's \
                Ed25519 signature (with --public-key, else the key file in the state directory; the keys \
                in the store only when there is no key file, with a warning), the digests' links, and that the record each digest names still has \
                the hash it signed. Names the first record altered, deleted, inserted or reordered, or a \
                truncated tail. Exit status: 0 intact, 1 a problem found, 2 the check could not run.
                """)
        @Option(name: .shortAndLong, help: "The gateway configuration file (default: /etc/s3gw/s3gw.toml).")
        var config: String?
        @Option(help: "Start at this sequence number (the record before it is trusted).")
        var from: Int64 = 1
        @Option(help: "Check the digest files in ZONE/BUCKET instead of the digests in the store.")
        var digests: String?
        @Option(help: "Read this database file (a copy kept for forensics) instead of the gateway's.")
        var db: String?
        @Option(help: "Check signatures with this Ed25519 public key (64 hex digits) instead of the key file's.")
        var publicKey: String?
        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() throws {
            let report: AuditVerification.Report
            do {
                report = try verify()
            } catch {
                FileHandle.standardError.write(Data("s3gw: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if json {
                let e = AdminJSON.encoder
                e.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try e.encode(report), as: UTF8.self))
            } else if let p = report.problem {
                print("FAILED: \(p.message)")
                print(
                    "checked \(report.recordsChecked) records from \(report.firstSeq), \(report.digestsChecked) digests (\(report.digestSource), keys: \(report.keySource))"
                )
            } else {
                print(
                    "OK: records \(report.firstSeq)-\(report.lastSeq) intact (\(report.recordsChecked) checked), "
                        + "\(report.digestsChecked) digests verified (\(report.digestSource), keys: \(report.keySource))"
                )
            }
            if !report.ok { throw ExitCode(1) }
        }

        func verify() throws -> AuditVerification.Report {
            let path = config ?? AdminOptions.defaultConfig
            let config = try GatewayConfig.load(path: path)
            // Read only: the check changes nothing in what it checks (and --db reads a copy).
            let store =
                try db.map { try SQLMetadataStore(sqlitePath: $0, readOnly: true, checkpoints: false) }
                ?? MetadataStores.open(config, readOnly: true)
            // The key given, or the key file: the only key trusted, as whoever rewrote the store
            // could have added a key of their own to it. The store's keys only when there is no
            // file at all (a file that cannot be used stops the check: exit 2).
            var trusted: [AuditKey]?
            var keySource = "store"
            if let publicKey {
                guard let raw = hexDecode(publicKey), raw.count == 32 else {
                    throw ValidationError("--public-key is the raw Ed25519 public key as 64 hex digits")
                }
                trusted = [
                    AuditKey(fingerprint: Ed25519Key.fingerprint(raw), publicKey: publicKey.lowercased(), created: 0)
                ]
                keySource = "option"
            } else if let key = try AuditKeyFile.load(stateDir: config.stateDir) {
                trusted = [key.auditKey(created: 0)]
                keySource = "file"
            } else {
                FileHandle.standardError.write(
                    Data(
                        ("s3gw: warning: no key file \(AuditKeyFile.path(config.stateDir)): signatures are checked "
                            + "with the keys in the store, which whoever rewrote the store could have added to "
                            + "(give --public-key to check against a key kept elsewhere)\n").utf8))
            }
            var files: [AuditDigest]?
            var unreadable: [String] = []
            var exported = 0
            var source = "store"
            if let digests {
                let parts = digests.split(separator: "/", maxSplits: 1).map(String.init)
                // The zone alone: no gateway context, which would open the live database for writing.
                guard parts.count == 2, let zone = try Worker.makeZones(config)[parts[0]] else {
                    throw ValidationError("--digests is ZONE/BUCKET with a configured zone")
                }
                exported = try AuditVerification.exportedDigests(store)
                let read = try AuditDigests.readFiles(zone: zone, bucket: parts[1])
                files = read.digests
                unreadable = read.unreadable
                source = digests
            }
            // Past the chain's end there is nothing to check (not a deletion).
            let last = try store.auditRecords(AuditQuery(limit: 1, newest: true)).first?.seq ?? 0
            if from > last + 1 {
                throw ValidationError("--from \(from) is past the chain's end (record \(last)): nothing to check")
            }
            return try AuditVerification.run(
                store: store, from: from, digests: files, digestSource: source, unreadableFiles: unreadable,
                exportedDigests: exported,
                trustedKeys: trusted,
                keySource: keySource)
        }
    }
}
