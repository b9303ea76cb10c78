import Foundation

/// Sums up one bucket's objects as they stream past, in memory bounded by its options, never by
/// the object count: counters, a fixed size histogram, one row per storage class and per month,
/// and a prefix table of at most `prefixTableCapacity` rows.
///
/// The prefix table is the one approximation. While a bucket has no more distinct prefixes than
/// the table holds, every number is exact. Beyond that it follows Space-Saving (Metwally et al.,
/// weighted by bytes): a new prefix takes the row with the fewest bytes and inherits its counts
/// as its error, so a reported prefix's bytes and objects never undercount and overcount by at
/// most `bytes_error` / `objects_error`; any prefix with more than totalBytes / capacity bytes
/// is guaranteed a row.
public struct InventoryAggregator: Sendable {
    public struct Options: Sendable {
        public var prefixDepth: Int
        public var prefixTableCapacity: Int
        public var topPrefixLimit: Int

        public init(prefixDepth: Int = 2, prefixTableCapacity: Int = 1024, topPrefixLimit: Int = 25) {
            self.prefixDepth = max(1, prefixDepth)
            self.prefixTableCapacity = max(1, prefixTableCapacity)
            self.topPrefixLimit = max(0, min(topPrefixLimit, self.prefixTableCapacity))
        }
    }

    /// Bucket i > 0 holds sizes in [4^(i-1), 4^i); bucket 0 holds empty objects; the last one
    /// has no upper bound (4^21 bytes is below S3's 5 TiB object limit, so it is rarely used).
    public static let histogramBuckets = 23

    private struct Usage: Sendable {
        var objects: Int64 = 0
        var bytes: Int64 = 0
        var objectsError: Int64 = 0
        var bytesError: Int64 = 0

        mutating func add(_ size: Int64) {
            objects += 1
            bytes += size
        }
    }

    public let options: Options
    private var objectCount: Int64 = 0
    private var totalBytes: Int64 = 0
    private var histogram = [Usage](repeating: Usage(), count: histogramBuckets)
    private var storageClasses: [String: Usage] = [:]
    private var months: [String: Usage] = [:]
    private var prefixes: [String: Usage] = [:]
    private let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    public init(options: Options = Options()) {
        self.options = options
    }

    public mutating func add(key: String, size: Int64, storageClass: String?, lastModified: Date) {
        let size = max(0, size)
        objectCount += 1
        totalBytes += size
        histogram[Self.histogramIndex(size)].add(size)
        storageClasses[storageClass ?? "STANDARD", default: Usage()].add(size)
        let parts = calendar.dateComponents([.year, .month], from: lastModified)
        let month = String(format: "%04d-%02d", parts.year ?? 0, parts.month ?? 0)
        months[month, default: Usage()].add(size)
        addPrefix(Self.prefix(of: key, depth: options.prefixDepth), size: size)
    }

    /// The summary so far, prefixes as they are (the writer sanitizes them).
    public func summary() -> SnapshotV1.BucketSummary {
        let histogramRows = histogram.enumerated().map { i, u in
            SnapshotV1.SizeBucket(
                minBytes: i == 0 ? 0 : Self.power4(i - 1),
                maxBytes: i == 0 ? 1 : (i == Self.histogramBuckets - 1 ? nil : Self.power4(i)),
                objects: u.objects, bytes: u.bytes)
        }
        let top = prefixes.sorted {
            $0.value.bytes != $1.value.bytes ? $0.value.bytes > $1.value.bytes : $0.key < $1.key
        }
        .prefix(options.topPrefixLimit)
        .map {
            SnapshotV1.PrefixUsage(
                prefix: $0.key, objects: $0.value.objects, bytes: $0.value.bytes,
                objectsError: $0.value.objectsError, bytesError: $0.value.bytesError)
        }
        return SnapshotV1.BucketSummary(
            objectCount: objectCount, totalBytes: totalBytes,
            storageClasses: storageClasses.sorted { $0.key < $1.key }.map {
                SnapshotV1.StorageClassUsage(storageClass: $0.key, objects: $0.value.objects, bytes: $0.value.bytes)
            },
            sizeHistogram: histogramRows,
            lastModified: months.sorted { $0.key < $1.key }.map {
                SnapshotV1.MonthUsage(month: $0.key, objects: $0.value.objects, bytes: $0.value.bytes)
            },
            topPrefixes: Array(top))
    }

    private mutating func addPrefix(_ prefix: String, size: Int64) {
        if prefixes[prefix] != nil || prefixes.count < options.prefixTableCapacity {
            prefixes[prefix, default: Usage()].add(size)
            return
        }
        // Space-Saving: the newcomer replaces the smallest row and counts it as its error. A
        // linear scan keeps this simple; it runs only once the table is full.
        guard let smallest = prefixes.min(by: { $0.value.bytes < $1.value.bytes }) else { return }
        prefixes[smallest.key] = nil
        var row = Usage(
            objects: smallest.value.objects, bytes: smallest.value.bytes,
            objectsError: smallest.value.objects, bytesError: smallest.value.bytes)
        row.add(size)
        prefixes[prefix] = row
    }

    static func histogramIndex(_ size: Int64) -> Int {
        guard size > 0 else { return 0 }
        let log4 = (63 - size.leadingZeroBitCount) / 2
        return min(1 + log4, histogramBuckets - 1)
    }

    static func power4(_ n: Int) -> Int64 { Int64(1) << (2 * n) }

    /// The key up to and including its `depth`-th "/" (fewer when it has fewer); "" for a key
    /// without one.
    static func prefix(of key: String, depth: Int) -> String {
        var slashes = 0
        var end = key.startIndex
        var i = key.startIndex
        while i < key.endIndex {
            if key[i] == "/" {
                slashes += 1
                end = key.index(after: i)
                if slashes == depth { break }
            }
            i = key.index(after: i)
        }
        return String(key[..<end])
    }
}
