import Foundation

/// The plan as a person reads it: one table of buckets, what cannot be placed and why, usage
/// per zone and per country, and the totals with the time and cost estimates.
public enum MigrationPlanSummary {
    public static func text(_ p: MigrationPlanV1) -> String {
        var out: [String] = []
        let o = p.plan.options
        out.append(
            "Migration plan \(p.plan.id) from snapshot \(p.plan.snapshotId) "
                + "(\(p.plan.source.endpointHost), \(p.plan.source.region)) into tenant \(p.plan.tenant)")
        var line = "constraint \(o.constraint) · \(o.replicas) cop\(o.replicas == 1 ? "y" : "ies") per object"
        if !o.bucketPrefix.isEmpty { line += " · bucket prefix \(o.bucketPrefix)" }
        for c in o.bucketConstraints { line += " · \(c.bucket): \(c.constraint)" }
        out.append(line)
        out.append("")
        if p.buckets.isEmpty {
            out.append("No bucket can be placed.")
        } else {
            out.append(
                table(
                    ["source bucket", "target bucket", "constraint", "zones", "objects", "bytes"],
                    p.buckets.map {
                        [
                            $0.sourceBucket, $0.targetBucket + ($0.targetExists ? " (exists)" : ""), $0.constraint,
                            $0.zones.joined(separator: ","), count($0.objects), bytes($0.bytes),
                        ]
                    }, rightAligned: [4, 5]))
            for b in p.buckets where !b.notes.isEmpty {
                for n in b.notes { out.append("  \(b.sourceBucket): \(n)") }
            }
        }
        if !p.unplaceable.isEmpty {
            out.append("")
            out.append("Cannot be placed:")
            for u in p.unplaceable {
                out.append("  \(u.sourceBucket) (\(u.reason.rawValue)): \(u.message)")
            }
        }
        if !p.zones.isEmpty {
            out.append("")
            out.append(
                table(
                    ["zone", "country", "objects", "bytes", "price/GB-month", "monthly cost"],
                    p.zones.map {
                        [
                            $0.zone, $0.country, count($0.objects), bytes($0.bytes),
                            $0.pricePerGbMonth.map(money) ?? "unknown", $0.monthlyCost.map(money) ?? "unknown",
                        ]
                    }, rightAligned: [2, 3, 4, 5]))
            out.append("")
            out.append(
                table(
                    ["country", "objects", "bytes"],
                    p.countries.map { [$0.country, count($0.objects), bytes($0.bytes)] }, rightAligned: [1, 2]))
        }
        let t = p.totals
        out.append("")
        out.append(
            "Total: \(t.buckets) bucket\(t.buckets == 1 ? "" : "s") to copy (\(t.unplaceableBuckets) cannot be placed), "
                + "\(count(t.objects)) objects, \(bytes(t.bytes)) to read from the source, "
                + "\(bytes(t.storedBytes)) stored with every copy.")
        var estimate =
            "Estimate: \(duration(t.transferSeconds)) at \(number(p.plan.bandwidthMbps)) Mbit/s"
        if let cost = t.monthlyCost {
            estimate +=
                "; \(money(cost)) a month"
                + (t.monthlyCostComplete ? "" : " for the zones with a price (some have none configured)")
        } else if !p.zones.isEmpty {
            estimate += "; monthly cost unknown (no zone has price_per_gb_month)"
        }
        out.append(estimate + ".")
        return out.joined(separator: "\n") + "\n"
    }

    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int>) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { i in
                let pad = String(repeating: " ", count: widths[i] - row[i].count)
                return rightAligned.contains(i) ? pad + row[i] : row[i] + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// 1234567 → "1,234,567".
    static func count(_ n: Int64) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// Binary units, one decimal: "3.2 GiB"; plain bytes below 1 KiB.
    public static func bytes(_ n: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = Double(n)
        if v < 1024 { return "\(n) B" }
        var unit = -1
        while v >= 1024 && unit < units.count - 1 {
            v /= 1024
            unit += 1
        }
        return String(format: "%.1f %@", v, units[unit])
    }

    /// "45 s", "12 min", "3 h 20 min", "2 d 4 h".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\((s + 59) / 60) min" }
        if s < 86400 { return "\(s / 3600) h \((s % 3600 + 59) / 60) min" }
        return "\(s / 86400) d \((s % 86400) / 3600) h"
    }

    static func money(_ v: Double) -> String { String(format: "%.2f", v) }

    static func number(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%g", v)
    }
}
