import Foundation
import GatewayCore
import XCTest

@testable import Gateway

/// Discovery snapshots: sanitization per level, exact aggregates, writer → reader, and the
/// committed v1 fixtures (Tests/Fixtures/snapshot-v1*.json; Tests/e2e/test_snapshot_schema.py
/// validates them against docs/snapshot.schema.json). Setting S3GW_WRITE_SNAPSHOT_FIXTURES to a
/// directory writes fresh fixtures there — only ever needed for a new schema version.
final class SnapshotTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures")
    static let secrets = [
        "AKIASNAPSHOTTESTKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSNAPSHOT", "FwoGZXIvYXdzSESSIONTOKEN",
        "X-Amz-Signature", "owner-canonical-id-1234", "tag-value-confidential", "meta-value-confidential",
    ]

    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("snap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    static func date(_ s: String) -> Date { ISO8601DateFormatter().date(from: s)! }

    /// A known object set: sizes across the histogram, two storage classes, three months, and
    /// the owner / tags / metadata a listing or HEAD may carry.
    static let objects: [DiscoveredObject] = [
        .init(key: "logs/2024/a.log", size: 0, lastModified: date("2024-01-05T10:00:00Z"), etag: "\"e0\""),
        .init(key: "logs/2024/b.log", size: 3, lastModified: date("2024-01-31T23:59:59Z"), etag: "\"e1\""),
        .init(
            key: "logs/2025/c.log", size: 4, storageClass: "GLACIER", lastModified: date("2024-02-01T00:00:00Z"),
            etag: "\"e2\"", ownerID: secrets[4], tags: ["team": secrets[5]], userMetadata: ["x": secrets[6]]),
        .init(
            key: "media/video.mp4", size: 1000, storageClass: "STANDARD", lastModified: date("2025-06-15T12:00:00Z"),
            etag: "\"e3-2\""),
        .init(key: "readme.txt", size: 15, lastModified: date("2025-06-01T00:00:00Z"), etag: "e4"),
    ]

    static let source = SnapshotV1.Source(endpoint: "https://S3.eu-north-1.amazonaws.com:443/", region: "eu-north-1")!

    @discardableResult
    func write(
        level: SanitizationLevel, to url: URL? = nil, sanitizer: Sanitizer? = nil,
        options: InventoryAggregator.Options = .init()
    ) throws -> URL {
        let url = url ?? dir.appendingPathComponent("\(level.rawValue).json")
        let w = try SnapshotWriter(
            to: url, id: "snap-\(level.rawValue)", createdAt: Self.date("2026-11-29T10:00:00Z"), source: Self.source,
            sanitizer: sanitizer ?? Sanitizer(level: level), options: options)
        try w.beginBucket(name: "photos-eu", region: "eu-north-1")
        for o in Self.objects { try w.add(o) }
        var statuses = SnapshotV1.Statuses()
        statuses.versioning = .enabled
        statuses.encryption = .enabled
        statuses.lifecycle = .disabled
        statuses.policy = .unknown
        try w.endBucket(listing: .complete, statuses: statuses)
        try w.beginBucket(name: "private-archive", region: "us-east-1")
        try w.endBucket(listing: .accessDenied, statuses: SnapshotV1.Statuses())
        try w.beginBucket(name: "copy-of-photos", region: "eu-north-1")
        try w.add(Self.objects[3])
        try w.endBucket(listing: .incomplete, statuses: SnapshotV1.Statuses())
        try w.finish()
        return url
    }

    // MARK: - Sanitization

    func testHashedKeysAreStableWithinOneSnapshotAndDifferAcrossTwo() throws {
        let one = Sanitizer(level: .hashed)
        let two = Sanitizer(level: .hashed)
        XCTAssertEqual(one.key("logs/2024/a.log"), one.key("logs/2024/a.log"))
        XCTAssertNotEqual(one.key("logs/2024/a.log"), one.key("logs/2024/b.log"))
        XCTAssertNotEqual(one.key("logs/2024/a.log"), two.key("logs/2024/a.log"))
        XCTAssertTrue(one.key("x").range(of: "^[0-9a-f]{64}$", options: .regularExpression) != nil)
        // Per segment: equal segments hash equally, the "/" structure stays.
        let p = one.prefix("logs/2024/")
        let parts = p.split(separator: "/", omittingEmptySubsequences: false)
        XCTAssertEqual(parts.count, 3)
        XCTAssertEqual(parts[2], "")
        XCTAssertEqual(String(parts[0]) + "/", one.prefix("logs/"))
        XCTAssertNotEqual(p, two.prefix("logs/2024/"))
        XCTAssertNotNil(p.range(of: "^[0-9a-f]{16}/[0-9a-f]{16}/$", options: .regularExpression), p)
        XCTAssertEqual(one.prefix(""), "")

        // In a written file: the same key in two buckets of one snapshot, differently in another.
        let a = try SnapshotReader.read(contentsOf: write(level: .hashed))
        let b = try SnapshotReader.read(contentsOf: write(level: .hashed, to: dir.appendingPathComponent("b.json")))
        let videoA1 = try XCTUnwrap(a.buckets[0].objects?.first { $0.size == 1000 }).key
        let videoA2 = try XCTUnwrap(a.buckets[2].objects?.first).key
        let videoB = try XCTUnwrap(b.buckets[0].objects?.first { $0.size == 1000 }).key
        XCTAssertEqual(videoA1, videoA2)
        XCTAssertNotEqual(videoA1, videoB)
        XCTAssertEqual(a.snapshot.sanitization, .hashed)
    }

    func testEachLevelWritesKeysAsItPromises() throws {
        let full = try String(contentsOf: write(level: .full), encoding: .utf8)
        XCTAssertTrue(full.contains("\"key\":\"logs/2024/a.log\""))
        XCTAssertTrue(full.contains("\"prefix\":\"logs/2024/\""))

        let hashed = try String(contentsOf: write(level: .hashed), encoding: .utf8)
        let prefixes = try String(contentsOf: write(level: .prefixes), encoding: .utf8)
        for name in ["a.log", "video.mp4", "readme.txt", "logs/", "media/"] {
            XCTAssertFalse(hashed.contains(name), "\(name) in a hashed snapshot")
        }
        for name in ["a.log", "video.mp4", "readme.txt"] {
            XCTAssertFalse(prefixes.contains(name), "\(name) in a prefixes snapshot")
        }
        XCTAssertFalse(prefixes.contains("\"objects\":["))
        XCTAssertTrue(prefixes.contains("\"prefix\":\"logs/2024/\""))
        let read = try SnapshotReader.read(Data(prefixes.utf8))
        XCTAssertTrue(read.buckets.allSatisfy { $0.objects == nil })
        XCTAssertEqual(read.buckets[0].summary.objectCount, 5)
    }

    func testNoCredentialSignatureOwnerTagOrMetadataValueIsWritten() throws {
        XCTAssertEqual(Self.source.endpointHost, "s3.eu-north-1.amazonaws.com")
        // An endpoint carrying anything but scheme, host and port is no source a snapshot names.
        XCTAssertNil(
            SnapshotV1.Source(
                endpoint:
                    "https://\(Self.secrets[0]):\(Self.secrets[1])@S3.eu-north-1.amazonaws.com:443/bucket?X-Amz-Signature=abc&X-Amz-Security-Token=\(Self.secrets[2])",
                region: "eu-north-1"))
        XCTAssertEqual(
            SnapshotV1.Source(endpoint: "http://127.0.0.1:9000", region: "")?.endpointHost, "127.0.0.1:9000")
        for level in SanitizationLevel.allCases {
            let text = try String(contentsOf: write(level: level), encoding: .utf8)
            for secret in Self.secrets {
                XCTAssertFalse(text.contains(secret), "\(secret) in a \(level) snapshot")
            }
            XCTAssertFalse(text.contains("team"), "tag name in a \(level) snapshot")
            XCTAssertFalse(text.lowercased().contains("amz-"))
        }
        XCTAssertNil(SnapshotV1.Source(endpoint: "", region: "x"))
    }

    // MARK: - Aggregates

    func testAggregatorNumbersAreExactForAKnownObjectSet() throws {
        var agg = InventoryAggregator(options: .init(prefixDepth: 2))
        for o in Self.objects {
            agg.add(key: o.key, size: o.size, storageClass: o.storageClass, lastModified: o.lastModified)
        }
        let s = agg.summary()
        XCTAssertEqual(s.objectCount, 5)
        XCTAssertEqual(s.totalBytes, 1022)
        XCTAssertEqual(
            s.storageClasses,
            [
                .init(storageClass: "GLACIER", objects: 1, bytes: 4),
                .init(storageClass: "STANDARD", objects: 4, bytes: 1018),
            ])
        XCTAssertEqual(
            s.lastModified,
            [
                .init(month: "2024-01", objects: 2, bytes: 3), .init(month: "2024-02", objects: 1, bytes: 4),
                .init(month: "2025-06", objects: 2, bytes: 1015),
            ])
        XCTAssertEqual(s.sizeHistogram.count, 23)
        XCTAssertEqual(s.sizeHistogram[0], .init(minBytes: 0, maxBytes: 1, objects: 1, bytes: 0))
        XCTAssertEqual(s.sizeHistogram[1], .init(minBytes: 1, maxBytes: 4, objects: 1, bytes: 3))
        XCTAssertEqual(s.sizeHistogram[2], .init(minBytes: 4, maxBytes: 16, objects: 2, bytes: 19))
        XCTAssertEqual(s.sizeHistogram[5], .init(minBytes: 256, maxBytes: 1024, objects: 1, bytes: 1000))
        XCTAssertEqual(s.sizeHistogram[22].maxBytes, nil)
        XCTAssertEqual(s.sizeHistogram.reduce(0) { $0 + $1.objects }, 5)
        XCTAssertEqual(
            s.topPrefixes,
            [
                .init(prefix: "media/", objects: 1, bytes: 1000, objectsError: 0, bytesError: 0),
                .init(prefix: "", objects: 1, bytes: 15, objectsError: 0, bytesError: 0),
                .init(prefix: "logs/2025/", objects: 1, bytes: 4, objectsError: 0, bytesError: 0),
                .init(prefix: "logs/2024/", objects: 2, bytes: 3, objectsError: 0, bytesError: 0),
            ])
        XCTAssertEqual(InventoryAggregator.histogramIndex(Int64(1) << 42), 22)
        XCTAssertEqual(InventoryAggregator.histogramIndex((Int64(1) << 40) - 1), 20)
    }

    func testBoundedPrefixTableNeverUndercountsAndKeepsTheHeavyPrefix() {
        var agg = InventoryAggregator(options: .init(prefixDepth: 1, prefixTableCapacity: 8, topPrefixLimit: 3))
        let t = Self.date("2025-01-01T00:00:00Z")
        for i in 0..<1000 {
            agg.add(key: "small\(i)/x", size: 1, storageClass: nil, lastModified: t)
            if i % 10 == 0 { agg.add(key: "big/x", size: 100, storageClass: nil, lastModified: t) }
        }
        let s = agg.summary()
        XCTAssertEqual(s.objectCount, 1100)
        XCTAssertEqual(s.totalBytes, 11000)
        let big = s.topPrefixes[0]
        XCTAssertEqual(big.prefix, "big/")
        XCTAssertEqual(s.topPrefixes.count, 3)
        // True values: 100 objects, 10000 bytes, within [value - error, value].
        XCTAssertGreaterThanOrEqual(big.bytes, 10000)
        XCTAssertLessThanOrEqual(big.bytes - big.bytesError, 10000)
        XCTAssertGreaterThanOrEqual(big.objects, 100)
        XCTAssertLessThanOrEqual(big.objects - big.objectsError, 100)
        for p in s.topPrefixes.dropFirst() { XCTAssertLessThanOrEqual(p.bytes - p.bytesError, 1) }
    }

    // MARK: - Writer → reader, fixtures

    func testWriterToReaderRoundTrip() throws {
        let url = try write(level: .full)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path + ".partial"))
        let perms = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        XCTAssertEqual(perms, 0o600)
        let s = try SnapshotReader.read(contentsOf: url)
        XCTAssertEqual(s.schemaVersion, 1)
        XCTAssertEqual(s.snapshot.id, "snap-full")
        XCTAssertEqual(s.snapshot.createdAt, Self.date("2026-11-29T10:00:00Z"))
        XCTAssertEqual(s.snapshot.source, Self.source)
        XCTAssertEqual(s.snapshot.prefixDepth, 2)
        XCTAssertEqual(s.buckets.map(\.name), ["photos-eu", "private-archive", "copy-of-photos"])
        XCTAssertEqual(s.buckets.map(\.listing), [.complete, .accessDenied, .incomplete])
        XCTAssertEqual(s.buckets[0].statuses.versioning, .enabled)
        XCTAssertEqual(s.buckets[0].statuses.objectLock, .unknown)
        XCTAssertEqual(
            s.buckets[0].objects,
            Self.objects.map {
                SnapshotV1.Object(
                    key: $0.key, size: $0.size, storageClass: $0.storageClass ?? "STANDARD",
                    lastModified: $0.lastModified, etag: unquotedETag($0.etag))
            })
        XCTAssertEqual(s.buckets[0].objects?[3].etag, "e3-2")
        XCTAssertEqual(s.buckets[0].summary.totalBytes, 1022)
        XCTAssertEqual(s.buckets[1].objects, [])
        XCTAssertEqual(s.buckets[1].summary.objectCount, 0)
        XCTAssertEqual(s.buckets[2].summary.totalBytes, 1000)
    }

    func testAnAbandonedWriterLeavesNoFile() throws {
        let url = dir.appendingPathComponent("gone.json")
        let w = try SnapshotWriter(
            to: url, id: "x", createdAt: Date(), source: Self.source, sanitizer: Sanitizer(level: .full))
        try w.beginBucket(name: "b", region: "r")
        try w.add(Self.objects[0])
        XCTAssertThrowsError(try w.finish())
        w.abandon()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testReaderReadsTheCommittedV1Fixtures() throws {
        let full = try SnapshotReader.read(contentsOf: Self.fixtures.appendingPathComponent("snapshot-v1.json"))
        XCTAssertEqual(full.schemaVersion, 1)
        XCTAssertEqual(full.snapshot.sanitization, .full)
        XCTAssertEqual(full.snapshot.source.endpointHost, "s3.eu-north-1.amazonaws.com:443")
        XCTAssertEqual(full.buckets.map(\.name), ["photos-eu", "private-archive", "copy-of-photos"])
        XCTAssertEqual(full.buckets[0].objects?.map(\.key).first, "logs/2024/a.log")
        XCTAssertEqual(full.buckets[0].summary.totalBytes, 1022)
        XCTAssertEqual(full.buckets[0].summary.topPrefixes.first?.prefix, "media/")
        let hashed = try SnapshotReader.read(
            contentsOf: Self.fixtures.appendingPathComponent("snapshot-v1-hashed.json"))
        XCTAssertEqual(hashed.snapshot.sanitization, .hashed)
        XCTAssertEqual(hashed.buckets[0].objects?.count, 5)
        let prefixes = try SnapshotReader.read(
            contentsOf: Self.fixtures.appendingPathComponent("snapshot-v1-prefixes.json"))
        XCTAssertNil(prefixes.buckets[0].objects)
        XCTAssertEqual(prefixes.buckets[0].summary.objectCount, 5)
    }

    func testReaderRefusesNewerVersionsAndNonSnapshots() throws {
        var text = try String(contentsOf: write(level: .full), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"schema_version\":1", with: "\"schema_version\":2")
        XCTAssertThrowsError(try SnapshotReader.read(Data(text.utf8))) {
            XCTAssertEqual($0 as? SnapshotReader.Failure, .unsupportedVersion(2))
        }
        XCTAssertThrowsError(try SnapshotReader.read(Data("{\"buckets\":[]}".utf8))) {
            XCTAssertEqual($0 as? SnapshotReader.Failure, .notASnapshot)
        }
    }

    func testWriteFixturesWhenAsked() throws {
        guard let out = ProcessInfo.processInfo.environment["S3GW_WRITE_SNAPSHOT_FIXTURES"] else {
            throw XCTSkip("S3GW_WRITE_SNAPSHOT_FIXTURES not set")
        }
        let base = URL(fileURLWithPath: out)
        try write(level: .full, to: base.appendingPathComponent("snapshot-v1.json"))
        try write(level: .hashed, to: base.appendingPathComponent("snapshot-v1-hashed.json"))
        try write(level: .prefixes, to: base.appendingPathComponent("snapshot-v1-prefixes.json"))
    }
}
