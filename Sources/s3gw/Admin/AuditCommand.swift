import ArgumentParser
import Foundation
import Gateway
import GatewayCore

/// `s3gw audit residency`: what every zone really holds against what each bucket's
/// LocationConstraint allows and metadata records — the report an operator hands an auditor.
/// `s3gw audit show|verify|digests`: the hash-chained audit log (AuditLogCommands.swift).
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Audit where the bytes are, and what was changed by whom.",
        subcommands: [Residency.self, Show.self, Verify.self, Digests.self])

    struct Residency: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read every zone and report, per bucket, what is where against what is allowed.",
            discussion: """
                Lists every zone's backend buckets and blobs (the zones themselves, not metadata) and \
                reports per bucket: objects and bytes per zone and country, copies present against \
                replica-count, blobs in zones the bucket's LocationConstraint does not allow \
                (violations), copies metadata records that a zone lacks or holds at another size \
                (missing), blobs no metadata references (orphans), and backend buckets no bucket maps \
                to (strays; reported, never removed). Exit status: 0 clean, 1 a violation or a missing \
                copy (with --strict also orphans left, strays, or objects short of their \
                replica-count), 2 a zone could not be read (or the audit could not run). See docs/RESIDENCY.md ("Audit").
                """)
        @OptionGroup var admin: AdminOptions
        @Flag(help: "Also fail (exit 1) on orphans left, stray backend buckets and objects short of copies.")
        var strict = false
        @Flag(help: "Remove orphans older than the grace period (never referenced blobs, never younger ones).")
        var removeOrphans = false
        @Option(help: "The grace period in seconds (default: [replication] orphan_grace, 86400).")
        var olderThan: Int?

        struct Body: Encodable {
            var removeOrphans: Bool
            var olderThan: Int?
        }

        func validate() throws {
            if let olderThan, olderThan < 0 { throw ValidationError("--older-than must be 0 or more seconds") }
        }

        func run() throws {
            // A failed call is 2, not 1: that would read as "violations found".
            try admin.run(failure: 2) { client throws(AdminFailure) -> Int32 in
                var call = AdminCall(
                    "POST", ["audit", "residency"], json: Body(removeOrphans: removeOrphans, olderThan: olderThan))
                call.timeout = AdminCall.longTimeout
                let report = try client.send(call) ?? .null
                if client.json {
                    // The report's own format, s3gw-residency-audit/1 (docs/RESIDENCY.md).
                    print(report.pretty)
                } else {
                    let grace = report["orphan_grace_seconds"]?.double ?? 0
                    for bucket in report["buckets"]?.array ?? [] { print(AuditText.bucket(bucket, grace: grace)) }
                    print(AuditText.summary(report))
                }
                return AuditText.exitCode(report, strict: strict)
            }
        }
    }
}

/// The audit report (its JSON document) as text: a block per bucket (tables per zone and
/// country, then each finding), then stray backend buckets, unreadable zones and a summary.
enum AuditText {
    /// The audit's exit status (`ResidencyReport.Summary.exitCode`), from the report's summary;
    /// 2 for an answer without one (nothing can be certified).
    static func exitCode(_ report: JSONValue, strict: Bool) -> Int32 {
        guard let data = try? JSONEncoder().encode(report["summary"] ?? .null),
            let summary = try? AdminJSON.decoder.decode(ResidencyReport.Summary.self, from: data)
        else { return 2 }
        return summary.exitCode(strict: strict)
    }

    static func bucket(_ b: JSONValue, grace: Double) -> String {
        func s(_ v: JSONValue?) -> String { v?.cell ?? "" }
        func list(_ v: JSONValue?) -> [String] { (v?.array ?? []).map(\.cell) }
        // A noncurrent or versioned copy is named with its version ("null" versions are not).
        func version(_ v: JSONValue) -> String {
            guard let id = v["version_id"]?.string, id != VersionId.null else { return "" }
            return " (version \(id))"
        }
        var out: [String] = []
        let constraint = b["location_constraint"]?.string ?? ""
        out.append(
            "bucket \(s(b["bucket"]))  owner \(s(b["owner"]))  constraint "
                + (constraint.isEmpty ? "(none: default zone)" : "\"\(constraint)\"") + "  allowed "
                + "\(list(b["allowed_countries"]).joined(separator: ",")): \(list(b["placement"]).joined(separator: ","))  "
                + "replica-count \(s(b["replica_count"]))")
        out.append(
            "  \(s(b["objects"])) objects, \(s(b["bytes"])) bytes, \(s(b["open_uploads"])) open multipart uploads; "
                + "\(s(b["versions"])) versions (\(s(b["version_bytes"])) bytes), \(s(b["delete_markers"])) delete markers"
        )
        let zones = b["zones"]?.array ?? []
        if !zones.isEmpty {
            func allowed(_ v: JSONValue) -> String { v["allowed"]?.bool == true ? "yes" : "NO" }
            out += table(
                [["ZONE", "COUNTRY", "ALLOWED", "OBJECTS", "BLOBS", "BYTES"]]
                    + zones.map {
                        [
                            s($0["zone"]), s($0["country"]), allowed($0), s($0["objects"]), s($0["blobs"]),
                            s($0["bytes"]),
                        ]
                    })
            out += table(
                [["COUNTRY", "ALLOWED", "OBJECTS", "BLOBS", "BYTES"]]
                    + (b["countries"]?.array ?? []).map {
                        [s($0["country"]), allowed($0), s($0["objects"]), s($0["blobs"]), s($0["bytes"])]
                    })
        }
        let copies = b["copies"] ?? .null
        var line = "  copies: \(s(copies["complete"])) objects complete"
        if let over = copies["over"]?.int, over > 0 { line += " (\(over) with more copies than wanted)" }
        line += ", \(s(b["short"]?["count"])) short, \(s(b["missing"]?["count"])) missing copies"
        if let changed = copies["changed_during_audit"]?.int, changed > 0 {
            line += ", \(changed) changed during the audit"
        }
        out.append(line)
        for v in b["violations"]?["items"]?.array ?? [] {
            let country = v["country"]?.string ?? ""
            out.append(
                "  VIOLATION  \(s(v["zone"])) (\(country.isEmpty ? "?" : country)) \(s(v["backend_bucket"]))/\(s(v["blob"])) "
                    + "\(s(v["size"])) bytes" + (v["key"]?.string.map { " (object \($0))" } ?? " (no object)"))
        }
        for m in b["missing"]?["items"]?.array ?? [] {
            let detail =
                m["reason"]?.string == "size"
                ? "size \(m["found_size"]?.int ?? 0), metadata says \(m["expected_size"]?.int ?? 0)" : s(m["reason"])
            out.append(
                "  MISSING    \(s(m["key"]))\(version(m)): \(s(m["role"])) in \(s(m["zone"])) "
                    + "(\(s(m["backend_bucket"]))/\(s(m["blob"]))): \(detail)")
        }
        for o in b["short"]?["items"]?.array ?? [] {
            var why: [String] = []
            for (name, key) in [
                ("pending", "pending"), ("failed", "failed"), ("missing", "missing"), ("unreadable", "unverified"),
            ] {
                let zones = list(o[key])
                if !zones.isEmpty { why.append(name + " " + zones.joined(separator: ",")) }
            }
            out.append(
                "  SHORT      \(s(o["key"]))\(version(o)): \(list(o["present"]).count) of \(s(o["wanted"])) copies"
                    + (why.isEmpty ? "" : " (\(why.joined(separator: "; ")))"))
        }
        for o in b["orphans"]?["items"]?.array ?? [] {
            let age = o["age_seconds"]?.double
            let state =
                o["removed"]?.bool == true
                ? "removed" : age.map { $0 > grace ? "older than the grace" : "within the grace" } ?? "age unknown"
            out.append(
                "  ORPHAN     \(s(o["zone"])) \(s(o["backend_bucket"]))/\(s(o["blob"])) \(s(o["size"])) bytes, "
                    + "\(age.map(duration) ?? "?") old: \(state)")
        }
        for (name, key) in [
            ("violations", "violations"), ("missing copies", "missing"), ("short objects", "short"),
            ("orphans", "orphans"),
        ] where b[key]?["truncated"]?.bool == true {
            out.append("  (more \(name) than listed: see the counts)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func summary(_ r: JSONValue) -> String {
        func s(_ v: JSONValue?) -> String { v?.cell ?? "0" }
        let sum = r["summary"] ?? .null
        var out: [String] = []
        let strays = r["stray_backend_buckets"]?.array ?? []
        if !strays.isEmpty {
            out.append("stray backend buckets (no bucket maps to them; reported, never removed):")
            out += table(
                [["ZONE", "BACKEND BUCKET", "BLOBS", "BYTES"]]
                    + strays.map { [s($0["zone"]), s($0["backend_bucket"]), s($0["blobs"]), s($0["bytes"])] })
        }
        for z in r["zones"]?.array ?? [] where z["readable"]?.bool == false {
            out.append("zone \(s(z["zone"])) could not be read: \(z["error"]?.string ?? "")")
        }
        let orphans =
            "\(s(sum["orphans"])) orphans"
            + (r["remove_orphans"]?.bool == true
                ? " (\(s(sum["orphans_removed"])) removed, grace \(s(r["orphan_grace_seconds"])) s)" : "")
        out.append(
            "summary: \(s(sum["buckets"])) buckets, \(s(sum["objects"])) objects (\(s(sum["versions"])) versions, "
                + "\(s(sum["delete_markers"])) delete markers); \(s(sum["violations"])) violations, "
                + "\(s(sum["missing_copies"])) missing copies, \(s(sum["short_objects"])) short objects, \(orphans), "
                + "\(s(sum["stray_backend_buckets"])) stray backend buckets")
        let verdict =
            (sum["violations"]?.int ?? 0) > 0 || (sum["missing_copies"]?.int ?? 0) > 0
            ? "NOT CLEAN"
            : (sum["unreadable_zones"]?.array ?? []).isEmpty ? "CLEAN" : "INCOMPLETE (a zone could not be read)"
        out.append("result: \(verdict)")
        return out.joined(separator: "\n")
    }

    private static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            "  "
                + zip(r, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }

    private static func duration(_ s: Double) -> String {
        let n = Int(max(0, s))
        return n < 120 ? "\(n)s" : n < 7200 ? "\(n / 60)m" : n < 172_800 ? "\(n / 3600)h" : "\(n / 86400)d"
    }
}
