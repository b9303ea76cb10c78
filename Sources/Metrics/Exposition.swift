/// Prometheus text format 0.0.4. Our own writer rather than swift-prometheus's registry: that
/// registry keeps its values in the process (it cannot present a sum over the gateway's
/// processes: counters only `increment`, histograms only `record` one observation), and emits
/// its families in dictionary order. Here every family of the catalog gets `# HELP` and
/// `# TYPE`, in catalog order, its series sorted by label values, histogram buckets cumulative
/// with `_count` equal to the `+Inf` bucket.
public enum Exposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ snapshot: MetricsSnapshot) -> String {
        var out = ""
        out.reserveCapacity(64 * 1024)
        for family in MetricFamily.all {
            out += "# HELP \(family.name) \(escapeHelp(family.help))\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            switch family.kind {
            case .counter, .gauge:
                var series = snapshot.values[family.name] ?? [:]
                // A counter without labels is always there (0 before anything happened), so
                // `increase()` sees its first rise.
                if series.isEmpty && family.labels.isEmpty && family.kind == .counter { series[[]] = 0 }
                for (labels, value) in series.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                    out += "\(family.name)\(labelSet(family.labels, labels)) \(number(value))\n"
                }
            case .histogram:
                var series = snapshot.histograms[family.name] ?? [:]
                if series.isEmpty && family.labels.isEmpty {
                    series[[]] = MetricsSnapshot.Histogram(
                        buckets: Array(repeating: 0, count: family.buckets.count + 1), sum: 0)
                }
                for (labels, h) in series.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                    var cumulative: UInt64 = 0
                    for (i, n) in h.buckets.enumerated() {
                        cumulative &+= n
                        let le = i < family.buckets.count ? number(family.buckets[i]) : "+Inf"
                        out +=
                            "\(family.name)_bucket\(labelSet(family.labels + ["le"], labels + [le])) \(cumulative)\n"
                    }
                    let set = labelSet(family.labels, labels)
                    out += "\(family.name)_sum\(set) \(number(h.sum))\n\(family.name)_count\(set) \(cumulative)\n"
                }
            }
        }
        return out
    }

    static func labelSet(_ names: [String], _ values: [String]) -> String {
        guard !names.isEmpty else { return "" }
        return "{" + zip(names, values).map { "\($0)=\"\(escapeLabel($1))\"" }.joined(separator: ",") + "}"
    }

    /// Label values: backslash, double quote and line feed escaped. Over scalars, not
    /// Characters: "\r\n" is one Character, as is a quote followed by a combining mark.
    static func escapeLabel(_ s: String) -> String { escape(s, quote: true) }

    /// HELP text: backslash and line feed escaped.
    static func escapeHelp(_ s: String) -> String { escape(s, quote: false) }

    private static func escape(_ s: String, quote: Bool) -> String {
        guard s.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || (quote && $0 == 0x22) }) else { return s }
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\"" where quote: out.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            default: out.append(c)
            }
        }
        return String(out)
    }

    /// Integers without a fraction, others as Swift prints them (which Go's ParseFloat reads),
    /// and the special values as Prometheus spells them.
    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 9.007_199_254_740_992e15 { return String(Int64(v)) }
        return String(v)
    }
}
