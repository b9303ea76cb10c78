/// How a series is named in the counter files: the family's name without `s3gw_`, then each
/// label value, then for a histogram's parts `#<bucket bound>` or `#s` (the sum), separated by
/// U+001F (a byte no label value keeps). `requests_total␟GetObject␟200`,
/// `request_duration_seconds␟PutObject␟#0.01`. The bound, not the bucket's index, so a build
/// with other buckets still reads what an earlier one counted (retired.m keeps it for good)
/// into the right bucket.
enum SeriesKey {
    static let separator: Character = "\u{1F}"
    static let separatorByte: UInt8 = 0x1F

    static func make(_ family: MetricFamily, _ labels: [String], part: String? = nil) -> String {
        var key = String(family.fileName)
        for value in labels {
            key.append(separator)
            key.append(clean(value))
        }
        if let part {
            key.append(separator)
            key.append("#")
            key.append(part)
        }
        return key
    }

    /// A histogram part's name: `s` for the sum (`CounterFile.sumPart`), else bucket `index`'s
    /// upper bound as the exposition writes it (`+Inf` past the last).
    static func part(_ family: MetricFamily, _ index: Int) -> String {
        if index == CounterFile.sumPart { return "s" }
        return family.buckets.indices.contains(index) ? Exposition.number(family.buckets[index]) : "+Inf"
    }

    /// The bucket a part names in `family`'s buckets now: its bound's, or for a bound these
    /// buckets lack, the first above it (what was at or below it still is); nil when it names none.
    static func bucket(_ family: MetricFamily, _ part: Substring) -> Int? {
        if part == "+Inf" { return family.buckets.count }
        guard let bound = Double(part), bound.isFinite else { return nil }
        return family.buckets.firstIndex { $0 >= bound } ?? family.buckets.count
    }

    /// Control characters (the separator, newlines: the retired file is line-based) become `_`.
    static func clean(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return value }
        return String(value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "_" : Character($0) })
    }

    /// A key read back: its family, label values and histogram part (nil for counters and gauges,
    /// `"s"` for the sum, else the bucket index). nil for keys of families this build does not know.
    static func parse(_ key: String) -> (family: MetricFamily, labels: [String], part: Substring?)? {
        let fields = key.split(separator: separator, omittingEmptySubsequences: false)
        guard let first = fields.first, let family = MetricFamily.byFileName[first] else { return nil }
        let expected = family.labels.count + (family.kind == .histogram ? 1 : 0)
        guard fields.count == expected + 1 else { return nil }
        let labels = fields[1..<(1 + family.labels.count)].map(String.init)
        guard family.kind == .histogram else { return (family, labels, nil) }
        let part = fields[fields.count - 1]
        guard part.hasPrefix("#") else { return nil }
        return (family, labels, part.dropFirst())
    }

    /// Whether the key's values count only while their process runs.
    static func isLive(_ key: String) -> Bool {
        let name = key.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false)[0]
        return MetricFamily.byFileName[name]?.source == .live
    }
}
