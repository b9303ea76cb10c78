import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where backups live in their bucket (docs/METADATA.md, "Backup and restore (SQLite)"):
///
///     databases/<installation>/snapshots/<generation>/snapshot-<sha256>.db
///     databases/<installation>/snapshots/<generation>/manifest.json      (written last)
///     databases/<installation>/wal/<generation>/<wal index>-<offset>-<time>-<sha256>.wal
///     databases/<installation>/wal/<generation>/<wal index>-<offset>-<time>-<sha256>.end
///
/// A generation is named by the time its snapshot was taken and a random suffix, so names sort
/// by time; a segment by the WAL it comes from (0, 1, … after each restart of the WAL), the
/// offset of its first frame in that WAL (16 hex digits) and the time it was read (rounded up
/// to the millisecond: nothing in it is later). A `.end` object is an end marker: that WAL
/// ended at that offset, and the next one may start over.
public enum BackupLayout {
    public static func root(_ installation: String) -> String { "databases/\(installation)/" }
    public static func snapshots(_ installation: String) -> String { root(installation) + "snapshots/" }
    public static func wal(_ installation: String) -> String { root(installation) + "wal/" }

    public static func manifest(_ installation: String, _ generation: String) -> String {
        snapshots(installation) + generation + "/manifest.json"
    }

    public static func snapshot(_ installation: String, _ generation: String, sha256: String) -> String {
        snapshots(installation) + generation + "/snapshot-\(sha256).db"
    }

    public static func segment(_ installation: String, _ generation: String, _ s: SegmentName) -> String {
        wal(installation) + generation + "/" + s.fileName
    }

    /// A new generation's name: the time, then 8 random hex digits.
    public static func newGeneration(at time: Double) -> String {
        var g = SystemRandomNumberGenerator()
        return stamp(time) + "-" + padded(String(g.next() as UInt32, radix: 16), 8)
    }

    /// `s` with zeros in front up to `width` characters.
    static func padded(_ s: String, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// `20261130T001502.123Z`: UTC to the millisecond, sorting as the times do; `up`: rounded up
    /// (a segment's time is an upper bound for what it holds), else down (a snapshot's lower).
    public static func stamp(_ time: Double, up: Bool = false) -> String {
        let ms = Int64((time * 1000).rounded(up ? .up : .down))
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(
            format: "%04d%02d%02dT%02d%02d%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
            Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), Int(ms % 1000))
    }

    /// `2026-11-30T00:15:02.123Z`, for people.
    public static func display(_ time: Double) -> String {
        let s = Array(stamp(time))
        return String(s[0..<4]) + "-" + String(s[4..<6]) + "-" + String(s[6..<11]) + ":" + String(s[11..<13]) + ":"
            + String(s[13...])
    }

    /// A time given by a person: RFC 3339 (`2026-11-30T00:15:02Z`, fractions and offsets
    /// allowed), a stamp as in names, or seconds since 1970.
    public static func parseTime(_ s: String) -> Double? {
        HTTPDate.parseISO8601(s) ?? parseStamp(s) ?? Double(s).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
    }

    public static func parseStamp(_ s: String) -> Double? {
        let b = Array(s.utf8)
        guard b.count == 20, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "."), b[19] == UInt8(ascii: "Z")
        else { return nil }
        func num(_ r: Range<Int>) -> Int? { Int(String(decoding: b[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8), let h = num(9..<11), let mi = num(11..<13),
            let sec = num(13..<15), let ms = num(16..<19)
        else { return nil }
        var tm = tm()
        tm.tm_year = Int32(y - 1900)
        tm.tm_mon = Int32(mo - 1)
        tm.tm_mday = Int32(d)
        tm.tm_hour = Int32(h)
        tm.tm_min = Int32(mi)
        tm.tm_sec = Int32(sec)
        return Double(timegm(&tm)) + Double(ms) / 1000
    }

    /// The time a generation's name starts with.
    public static func generationTime(_ generation: String) -> Double? {
        parseStamp(String(generation.prefix(20)))
    }

    /// One WAL segment's name, parsed.
    public struct SegmentName: Equatable, Sendable {
        public var index: Int
        public var offset: Int64
        public var time: Double
        public var sha256: String
        /// An end marker (`.end`): the WAL ended at `offset`.
        public var end: Bool

        public init(index: Int, offset: Int64, time: Double, sha256: String, end: Bool = false) {
            self.index = index
            self.offset = offset
            self.time = time
            self.sha256 = sha256
            self.end = end
        }

        public var fileName: String {
            BackupLayout.padded(String(index), 8) + "-" + BackupLayout.padded(String(offset, radix: 16), 16) + "-"
                + BackupLayout.stamp(time, up: true) + "-" + sha256 + (end ? ".end" : ".wal")
        }

        public init?(fileName: String) {
            let end = fileName.hasSuffix(".end")
            guard end || fileName.hasSuffix(".wal") else { return nil }
            let parts = fileName.dropLast(4).split(separator: "-").map(String.init)
            guard parts.count == 4, parts[0].count == 8, parts[1].count == 16, parts[3].count == 64,
                let index = Int(parts[0]), let offset = Int64(parts[1], radix: 16),
                let time = BackupLayout.parseStamp(parts[2])
            else { return nil }
            self.init(index: index, offset: offset, time: time, sha256: parts[3], end: end)
        }

        /// Restore order: by WAL, then offset; an end marker before a segment at its offset (the
        /// old WAL went on after a checkpoint whose restart did not happen).
        public var order: (Int, Int64, Int) { (index, offset, end ? 0 : 1) }
    }
}

/// What a generation's snapshot is: written after the snapshot itself, so a generation without
/// a manifest has no usable snapshot.
public struct BackupManifest: Codable, Equatable, Sendable {
    /// 2: every object sealed (`BackupSealing`).
    public var format = 2
    public var installation: String
    public var generation: String
    /// Seconds since 1970 when the snapshot was taken.
    public var created: Double
    /// The snapshot object's name, its size and SHA-256 — of the sealed bytes, as stored (so are
    /// the SHA-256s in segment names: a bucket can be checked without the key).
    public var snapshot: String
    public var size: Int64
    public var sha256: String
    public var pageSize: Int
    public var pages: Int
    /// Where the WAL stood (hex of the source's position; empty: no WAL then).
    public var walPosition: String
    /// The id of the master key the generation is sealed with (`BackupSealing`).
    public var key: String

    public init(
        installation: String, generation: String, created: Double, snapshot: String, size: Int64, sha256: String,
        pageSize: Int, pages: Int, walPosition: String, key: String
    ) {
        self.key = key
        self.installation = installation
        self.generation = generation
        self.created = created
        self.snapshot = snapshot
        self.size = size
        self.sha256 = sha256
        self.pageSize = pageSize
        self.pages = pages
        self.walPosition = walPosition
    }
}
