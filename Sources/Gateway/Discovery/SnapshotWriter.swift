import Foundation
import GatewayCore

/// Streams a version-1 snapshot to a file: each object is sanitized and written as it arrives,
/// so memory holds one bucket's aggregates, never its listing. The file is written as
/// `<name>.partial` (mode 0600) and renamed by `finish()`, so a snapshot that exists is complete.
///
/// A bucket's summary is only known once its listing ends, so a bucket is written as
/// `{"name", "region", "objects": [...], "listing", "statuses", "summary"}` in that order.
///
/// With a `summaryURL`, the same snapshot without its object entries is written beside it, bucket
/// by bucket as each ends (`<id>.summary.json`, what the API's `GET …/snapshots/{id}` answers and
/// the UI draws: bounded by the bucket count, whatever the object count). It is moved into place
/// just before the snapshot, so a snapshot that exists has its summary.
///
/// Only `.json` is written: a `.json.gz` download is compressed as it streams (GzipSink).
public final class SnapshotWriter {
    public enum Failure: Error, Equatable {
        case bucketAlreadyOpen
        case noBucketOpen
        case finished
    }

    public let sanitizer: Sanitizer
    public let url: URL
    private let partialURL: URL
    private let handle: FileHandle
    private let summary: (url: URL, partialURL: URL, handle: FileHandle)?
    private var summaryBuffer: [UInt8] = []
    private let options: InventoryAggregator.Options
    private let encoder = SnapshotJSON.encoder()
    private var buffer: [UInt8] = []
    private var bucketsWritten = 0
    private var current: (aggregator: InventoryAggregator, objects: Int)?
    private var done = false

    public init(
        to url: URL, id: String, createdAt: Date, source: SnapshotV1.Source, sanitizer: Sanitizer,
        options: InventoryAggregator.Options = .init(), summaryURL: URL? = nil
    ) throws {
        self.url = url
        self.partialURL = url.appendingPathExtension("partial")
        self.sanitizer = sanitizer
        self.options = options
        handle = try Self.create(partialURL)
        if let summaryURL {
            let partial = summaryURL.appendingPathExtension("partial")
            do {
                summary = (summaryURL, partial, try Self.create(partial))
            } catch {
                try? handle.close()
                try? FileManager.default.removeItem(at: partialURL)
                throw error
            }
        } else {
            summary = nil
        }
        let metadata = SnapshotV1.Metadata(
            id: id, createdAt: createdAt, source: source, sanitization: sanitizer.level,
            prefixDepth: options.prefixDepth)
        let head =
            try Array("{\"schema_version\":\(SnapshotV1.version),\"snapshot\":".utf8) + encoder.encode(metadata)
            + Array(",\"buckets\":[\n".utf8)
        buffer += head
        summaryBuffer += head
    }

    /// A new file only the gateway's user may read (mode 0600 from the start, never wider).
    private static func create(_ url: URL) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
        return try FileHandle(forWritingTo: url)
    }

    deinit {
        try? handle.close()
        try? summary?.handle.close()
    }

    public func beginBucket(name: String, region: String) throws {
        guard !done else { throw Failure.finished }
        guard current == nil else { throw Failure.bucketAlreadyOpen }
        if bucketsWritten > 0 { append(",\n") }
        let head =
            try Array("{\"name\":".utf8) + encoder.encode(name) + Array(",\"region\":".utf8)
            + encoder.encode(region)
        buffer += head
        if summary != nil { summaryBuffer += (bucketsWritten > 0 ? Array(",\n".utf8) : []) + head }
        if sanitizer.writesObjects { append(",\"objects\":[") }
        current = (InventoryAggregator(options: options), 0)
    }

    public func add(_ object: DiscoveredObject) throws {
        guard var bucket = current else { throw Failure.noBucketOpen }
        bucket.aggregator.add(
            key: object.key, size: object.size, storageClass: object.storageClass, lastModified: object.lastModified)
        if sanitizer.writesObjects {
            // Only these five fields are copied: owner, tags and metadata go no further.
            let entry = SnapshotV1.Object(
                key: sanitizer.key(object.key), size: object.size, storageClass: object.storageClass ?? "STANDARD",
                lastModified: object.lastModified, etag: unquotedETag(object.etag))
            append(bucket.objects == 0 ? "\n" : ",\n")
            try append(encoder.encode(entry))
            bucket.objects += 1
        }
        current = bucket
        if buffer.count >= 64 * 1024 { try flush() }
    }

    /// Closes the open bucket and returns its summary as written (prefixes sanitized).
    @discardableResult
    public func endBucket(listing: SnapshotV1.Listing, statuses: SnapshotV1.Statuses) throws
        -> SnapshotV1.BucketSummary
    {
        guard let bucket = current else { throw Failure.noBucketOpen }
        var summary = bucket.aggregator.summary()
        for i in summary.topPrefixes.indices {
            summary.topPrefixes[i].prefix = sanitizer.prefix(summary.topPrefixes[i].prefix)
        }
        if sanitizer.writesObjects { append("]") }
        let tail =
            try Array(",\"listing\":".utf8) + encoder.encode(listing) + Array(",\"statuses\":".utf8)
            + encoder.encode(statuses) + Array(",\"summary\":".utf8) + encoder.encode(summary) + Array("}".utf8)
        buffer += tail
        if self.summary != nil { summaryBuffer += tail }
        current = nil
        bucketsWritten += 1
        try flush()
        return summary
    }

    /// Ends the file and moves it to `url`.
    public func finish() throws {
        guard !done else { throw Failure.finished }
        guard current == nil else { throw Failure.bucketAlreadyOpen }
        append("\n]}\n")
        if summary != nil { summaryBuffer += Array("\n]}\n".utf8) }
        try flush()
        try handle.synchronize()
        try handle.close()
        if let summary {
            try summary.handle.synchronize()
            try summary.handle.close()
        }
        done = true
        if let summary {
            _ = try? FileManager.default.removeItem(at: summary.url)
            try FileManager.default.moveItem(at: summary.partialURL, to: summary.url)
        }
        _ = try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: partialURL, to: url)
    }

    /// Drops what was written (a discovery that failed before it listed anything leaves no file
    /// behind).
    public func abandon() {
        done = true
        try? handle.close()
        try? FileManager.default.removeItem(at: partialURL)
        if let summary {
            try? summary.handle.close()
            try? FileManager.default.removeItem(at: summary.partialURL)
        }
    }

    private func append(_ text: String) { buffer.append(contentsOf: text.utf8) }
    private func append(_ data: Data) { buffer.append(contentsOf: data) }

    private func flush() throws {
        if !buffer.isEmpty {
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }
        if let summary, !summaryBuffer.isEmpty {
            try summary.handle.write(contentsOf: summaryBuffer)
            summaryBuffer.removeAll(keepingCapacity: true)
        }
    }
}
