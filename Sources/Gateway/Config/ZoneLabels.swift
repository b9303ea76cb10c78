/// What a zone's name and country may be. Both become metric labels (`s3gw_zone_*{zone,
/// country}`) and a zone's name a part of counter-file series keys, which hold 118 bytes: the
/// longest, `zone_request_duration_seconds␟<zone>␟listBackendBuckets␟#0.0025`, leaves 61 for the
/// name; 48 keeps a margin for longer call names. A key that does not fit is not counted (only
/// `s3gw_metrics_series_dropped_total` would show it), so the limit is checked here, at start.
enum ZoneLabels {
    static let maxNameLength = 48

    /// Letters, digits, `-` and `_` (docs/PROVIDERS.md), 1…48 of them; nil when fine.
    static func nameProblem(_ name: String) -> String? {
        guard name.utf8.count <= maxNameLength else {
            return "zone name \"\(name.prefix(60))…\" is longer than \(maxNameLength) characters"
        }
        guard name.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else { return "zone name \"\(name)\" may hold letters, digits, - and _ only" }
        return nil
    }

    /// A country code (`se`, `fi`): 1…16 letters, digits or `-`, or none; nil when fine.
    static func countryProblem(_ country: String) -> String? {
        guard country.utf8.count <= 16,
            country.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        else { return "country \"\(country.prefix(60))\" is not a country code (letters, digits, -)" }
        return nil
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }
}
