/// Version ids. A version's `versionSeq` orders the versions of one key (newest greatest) and,
/// in a versioning-Enabled bucket, is also the id clients see; null versions (unversioned and
/// Suspended writes) show the id "null" but still get a fresh seq, so they sort by write time.
///
/// A seq is 16 hex digits of microseconds since 1970 followed by 16 random hex digits: opaque
/// to clients, sortable as text, and unique without coordination. Rows written before
/// versioning existed have the seq "" (older than any other).
public enum VersionId {
    /// What clients see for a version written while the bucket was not versioning-Enabled.
    public static let null = "null"

    /// A seq strictly greater than `latest` (the key's newest seq, "" when it has none), taken
    /// from `now` when the clock allows and from `latest`'s time + 1 µs when it went back.
    public static func make(after latest: String, now: Double, random: UInt64 = UInt64.random(in: .min ... .max))
        -> String
    {
        var micros = UInt64(max(0, now * 1_000_000))
        if latest.utf8.count == 32, let last = UInt64(latest.prefix(16), radix: 16), last >= micros {
            micros = last + 1
        }
        return hex(micros) + hex(random)
    }

    /// Whether `id` can name a version at all: "null" or 32 lowercase hex digits. Anything else
    /// is S3's `InvalidArgument` "Invalid version id specified".
    public static func isWellFormed(_ id: String) -> Bool {
        if id == null { return true }
        return id.utf8.count == 32 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
