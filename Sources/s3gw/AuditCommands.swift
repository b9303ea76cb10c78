import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import S3Backend

/// `s3gw audit residency`: what every zone really holds against what each bucket's
/// LocationConstraint allows and metadata records — the report an operator hands an auditor.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Audit where the bytes are.", subcommands: [Residency.self])

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
                replica-count), 2 a zone could not be read (or the audit could not start). See docs/RESIDENCY.md ("Audit").
                """)
        @OptionGroup var options: ConfigOption
        @Flag(help: "The report as JSON (format s3gw-residency-audit/1, see docs/RESIDENCY.md).") var json = false
        @Flag(help: "Also fail (exit 1) on orphans left, stray backend buckets and objects short of copies.")
        var strict = false
        @Flag(help: "Remove orphans older than the grace period (never referenced blobs, never younger ones).")
        var removeOrphans = false
        @Option(help: "The grace period in seconds (default: [replication] orphan_grace, 86400).")
        var olderThan: Int?

        func run() throws {
            // Not 1: that would read as "violations found".
            let config = try loadOrExit(options.config, code: 2)
            if let olderThan, olderThan < 0 {
                FileHandle.standardError.write(Data("s3gw: --older-than must be 0 or more seconds\n".utf8))
                throw ExitCode(2)
            }
            CurlGlobal.initialize()
            let ctx: GatewayContext
            do {
                ctx = try Worker.makeContext(
                    config: config, logger: makeLogger("s3gw.audit", level: "warning"), serving: false)
            } catch {
                FileHandle.standardError.write(Data("s3gw: cannot start the audit: \(error)\n".utf8))
                throw ExitCode(2)
            }
            let grace = Double(olderThan ?? Int(config.replication.orphanGrace))
            let audit = ResidencyAudit(ctx, options: .init(removeOrphans: removeOrphans, grace: grace))
            let report: ResidencyReport
            do {
                report = try audit.run { bucket in
                    if !json { print(AuditText.bucket(bucket, grace: grace)) }
                }
            } catch {
                FileHandle.standardError.write(Data("s3gw: the audit could not read metadata: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if json {
                let data = try JSONSerialization.data(
                    withJSONObject: report.document, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(AuditText.summary(report))
            }
            let code = report.exitCode(strict: strict)
            if code != 0 { throw ExitCode(code) }
        }
    }
}

/// The audit as text: a block per bucket (tables per zone and country, then each finding),
/// then stray backend buckets, unreadable zones and a summary.
enum AuditText {
    static func bucket(_ b: BucketReport, grace: Double) -> String {
        var out: [String] = []
        let constraint = b.locationConstraint.isEmpty ? "(none: default zone)" : "\"\(b.locationConstraint)\""
        out.append(
            "bucket \(b.bucket)  owner \(b.owner)  constraint \(constraint)  allowed "
                + "\(b.allowedCountries.joined(separator: ",")): \(b.placement.joined(separator: ","))  "
                + "replica-count \(b.replicaCount)")
        out.append("  \(b.objects) objects, \(b.bytes) bytes, \(b.openUploads) open multipart uploads")
        if !b.zones.isEmpty {
            var rows = [["ZONE", "COUNTRY", "ALLOWED", "OBJECTS", "BLOBS", "BYTES"]]
            for z in b.zones {
                rows.append([z.zone, z.country, z.allowed ? "yes" : "NO", "\(z.objects)", "\(z.blobs)", "\(z.bytes)"])
            }
            out += table(rows)
            rows = [["COUNTRY", "ALLOWED", "OBJECTS", "BLOBS", "BYTES"]]
            for c in b.countries {
                rows.append([c.country, c.allowed ? "yes" : "NO", "\(c.objects)", "\(c.blobs)", "\(c.bytes)"])
            }
            out += table(rows)
        }
        var copies = "  copies: \(b.complete) objects complete"
        if b.over > 0 { copies += " (\(b.over) with more copies than wanted)" }
        copies += ", \(b.short.count) short, \(b.missing.count) missing copies"
        if b.changed > 0 { copies += ", \(b.changed) changed during the audit" }
        out.append(copies)
        for v in b.violations.items {
            out.append(
                "  VIOLATION  \(v.zone) (\(v.country.isEmpty ? "?" : v.country)) \(v.backendBucket)/\(v.blob) "
                    + "\(v.size) bytes" + (v.key.map { " (object \($0))" } ?? " (no object)"))
        }
        for m in b.missing.items {
            let detail =
                m.reason == "size" ? "size \(m.foundSize ?? 0), metadata says \(m.expectedSize ?? 0)" : m.reason
            out.append("  MISSING    \(m.key): \(m.role) in \(m.zone) (\(m.backendBucket)/\(m.blob)): \(detail)")
        }
        for s in b.short.items {
            var why: [String] = []
            if !s.pending.isEmpty { why.append("pending " + s.pending.joined(separator: ",")) }
            if !s.failed.isEmpty { why.append("failed " + s.failed.joined(separator: ",")) }
            if !s.missing.isEmpty { why.append("missing " + s.missing.joined(separator: ",")) }
            if !s.unverified.isEmpty { why.append("unreadable " + s.unverified.joined(separator: ",")) }
            out.append(
                "  SHORT      \(s.key): \(s.present.count) of \(s.wanted) copies"
                    + (why.isEmpty ? "" : " (\(why.joined(separator: "; ")))"))
        }
        for o in b.orphans.items {
            let state =
                o.removed
                ? "removed" : o.age.map { $0 > grace ? "older than the grace" : "within the grace" } ?? "age unknown"
            out.append(
                "  ORPHAN     \(o.zone) \(o.backendBucket)/\(o.blob) \(o.size) bytes, "
                    + "\(o.age.map(duration) ?? "?") old: \(state)")
        }
        for (name, l) in [
            ("violations", b.violations.truncated), ("missing copies", b.missing.truncated),
            ("short objects", b.short.truncated), ("orphans", b.orphans.truncated),
        ] where l {
            out.append("  (more \(name) than listed: see the counts)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func summary(_ r: ResidencyReport) -> String {
        var out: [String] = []
        if !r.strays.isEmpty {
            out.append("stray backend buckets (no bucket maps to them; reported, never removed):")
            out += table(
                [["ZONE", "BACKEND BUCKET", "BLOBS", "BYTES"]]
                    + r.strays.map { [$0.zone, $0.backendBucket, "\($0.blobs)", "\($0.bytes)"] })
        }
        for z in r.unreadableZones {
            out.append("zone \(z.zone) could not be read: \(z.error ?? "")")
        }
        let orphans =
            "\(r.orphans) orphans"
            + (r.removeOrphans ? " (\(r.orphansRemoved) removed, grace \(Int(r.grace)) s)" : "")
        out.append(
            "summary: \(r.buckets.count) buckets, \(r.objects) objects; \(r.violations) violations, "
                + "\(r.missingCopies) missing copies, \(r.shortObjects) short objects, \(orphans), "
                + "\(r.strays.count) stray backend buckets")
        let verdict =
            r.violations > 0 || r.missingCopies > 0
            ? "NOT CLEAN" : r.unreadableZones.isEmpty ? "CLEAN" : "INCOMPLETE (a zone could not be read)"
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
