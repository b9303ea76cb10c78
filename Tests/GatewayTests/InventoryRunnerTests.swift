import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import Gateway

/// The inventory of a source account into a snapshot: every bucket, its region and features,
/// listings page by page with progress after each, a denied bucket kept as `access_denied`, a
/// stop that keeps what was read, and the summary file beside the snapshot.
final class InventoryRunnerTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("inv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// Three buckets: `alpha` (2500 keys of varied sizes, two storage classes), `denied` (not
    /// listable, features unknown), `versioned` (a few keys, versioning enabled).
    static func account(pageSize: Int = 100) -> InMemorySourceAccount {
        let a = InMemorySourceAccount(pageSize: pageSize)
        var alphaFeatures = SourceBucketFeatures()
        alphaFeatures.versioning = .suspended
        alphaFeatures.encryption = .enabled
        alphaFeatures.lifecycle = .disabled
        alphaFeatures.replication = .disabled
        alphaFeatures.objectLock = .disabled
        alphaFeatures.policy = .unknown
        a.addBucket("alpha", .init(region: "eu-north-1", features: alphaFeatures))
        for i in 0..<2500 {
            a.put(
                "alpha", "dir\(i % 7)/sub\(i % 3)/k\(i)", Array(repeating: 1, count: i % 50),
                storageClass: i % 5 == 0 ? "GLACIER" : nil, lastModified: 1_700_000_000 + Double(i))
        }
        a.addBucket("denied", .init(region: "us-east-1"))
        a.put("denied", "secret-plans.txt", Array("x".utf8))
        a.deny("denied")
        var versioned = SourceBucketFeatures()
        versioned.versioning = .enabled
        a.addBucket("versioned", .init(region: "us-west-2", features: versioned))
        for i in 0..<5 { a.put("versioned", "v\(i)", Array(repeating: 2, count: 1000)) }
        return a
    }

    func writer(_ id: String = "job1", level: SanitizationLevel = .full) throws -> SnapshotWriter {
        try SnapshotWriter(
            to: dir.appendingPathComponent("\(id).json"), id: id, createdAt: Date(timeIntervalSince1970: 1_700_000_000),
            source: SnapshotV1.Source(endpoint: "http://127.0.0.1:9000", region: "us-east-1")!,
            sanitizer: Sanitizer(level: level), summaryURL: dir.appendingPathComponent("\(id).summary.json"))
    }

    func testEveryBucketIsInventoriedPageByPageWithProgress() throws {
        let runner = InventoryRunner(source: Self.account(), writer: try writer(), fallbackRegion: "us-east-1")
        var reports: [DiscoveryProgress] = []
        let outcome = try runner.run { p in
            reports.append(p)
            return false
        }
        XCTAssertEqual(outcome, .done)
        // One report before each bucket and after every page but a bucket's last.
        XCTAssertGreaterThanOrEqual(reports.count, 25)
        XCTAssertEqual(reports.map(\.objects), reports.map(\.objects).sorted(), "counts only grow")
        XCTAssertTrue(reports.contains { $0.currentBucket == "alpha" && $0.objects == 1200 })
        XCTAssertEqual(
            runner.progress,
            DiscoveryProgress(bucketsTotal: 3, bucketsDone: 3, objects: 2505, bytes: expectedAlphaBytes + 5000))

        let s = try SnapshotReader.read(contentsOf: dir.appendingPathComponent("job1.json"))
        XCTAssertEqual(s.buckets.map(\.name), ["alpha", "denied", "versioned"])
        let alpha = s.buckets[0]
        XCTAssertEqual(alpha.region, "eu-north-1")
        XCTAssertEqual(alpha.listing, .complete)
        XCTAssertEqual(alpha.objects?.count, 2500)
        XCTAssertEqual(alpha.summary.objectCount, 2500)
        XCTAssertEqual(alpha.summary.totalBytes, expectedAlphaBytes)
        XCTAssertEqual(alpha.summary.storageClasses.map(\.storageClass), ["GLACIER", "STANDARD"])
        XCTAssertEqual(alpha.summary.storageClasses[0].objects, 500)
        XCTAssertEqual(alpha.statuses.versioning, .suspended)
        XCTAssertEqual(alpha.statuses.encryption, .enabled)
        XCTAssertEqual(alpha.statuses.policy, .unknown)
        XCTAssertEqual(Set(alpha.objects!.map(\.key)).count, 2500, "no key listed twice across pages")

        let denied = s.buckets[1]
        XCTAssertEqual(denied.listing, .accessDenied)
        XCTAssertEqual(denied.objects ?? [], [])
        XCTAssertEqual(denied.summary.objectCount, 0)
        XCTAssertEqual(denied.statuses, SnapshotV1.Statuses(), "every status unknown")
        XCTAssertEqual(s.buckets[2].statuses.versioning, .enabled)
        XCTAssertEqual(s.buckets[2].region, "us-west-2")

        // The summary is the snapshot without its object entries.
        let summary = try SnapshotReader.read(contentsOf: dir.appendingPathComponent("job1.summary.json"))
        XCTAssertEqual(summary.snapshot, s.snapshot)
        XCTAssertEqual(summary.buckets.map(\.objects), [nil, nil, nil])
        var stripped = s
        for i in stripped.buckets.indices { stripped.buckets[i].objects = nil }
        XCTAssertEqual(summary, stripped)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(files, ["job1.json", "job1.summary.json"], "no partial file left")
        for f in files {
            let mode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(f).path)[
                .posixPermissions]
            XCTAssertEqual((mode as? NSNumber)?.intValue, 0o600, f)
        }
    }

    var expectedAlphaBytes: Int64 { (0..<2500).reduce(0) { $0 + Int64($1 % 50) } }

    func testAStopKeepsWhatWasReadAndNamesTheBucketsNotReached() throws {
        let runner = InventoryRunner(source: Self.account(), writer: try writer(), fallbackRegion: "us-east-1")
        let outcome = try runner.run { $0.objects >= 1000 }
        XCTAssertEqual(outcome, .stopped)
        let s = try SnapshotReader.read(contentsOf: dir.appendingPathComponent("job1.json"))
        XCTAssertEqual(s.buckets.map(\.name), ["alpha", "denied", "versioned"])
        XCTAssertEqual(s.buckets.map(\.listing), [.incomplete, .incomplete, .incomplete])
        XCTAssertEqual(s.buckets[0].summary.objectCount, 1000, "stopped within one page of the request")
        XCTAssertEqual(s.buckets[0].objects?.count, 1000)
        XCTAssertEqual(s.buckets[1].summary.objectCount, 0)
        XCTAssertEqual(s.buckets[1].region, "", "not reached: region unknown")
        XCTAssertEqual(runner.progress.bucketsDone, 0)
        XCTAssertEqual(runner.progress.objects, 1000)
    }

    func testAFailingListBucketsLeavesNoFile() throws {
        final class Refusing: SourceAccount {
            func listBuckets() throws(SourceError) -> [SourceBucket] { throw .invalidCredentials(code: "ExpiredToken") }
            func region(of bucket: String) throws(SourceError) -> String { "" }
            func features(of bucket: String, region: String) -> SourceBucketFeatures { .init() }
            func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage {
                SourcePage(objects: [], next: nil)
            }
            func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
                throw .noSuchKey(key)
            }
        }
        let runner = InventoryRunner(source: Refusing(), writer: try writer(), fallbackRegion: "us-east-1")
        XCTAssertThrowsError(try runner.run { _ in false }) { error in
            XCTAssertEqual(error as? SourceError, .invalidCredentials(code: "ExpiredToken"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testCredentialsThatExpireMidwayFailTheRunButKeepTheSnapshot() throws {
        /// The account's own listing until `alpha`'s third page, then ExpiredToken for everything.
        final class Expiring: SourceAccount, @unchecked Sendable {
            let inner = InventoryRunnerTests.account()
            var pages = 0
            func listBuckets() throws(SourceError) -> [SourceBucket] { try inner.listBuckets() }
            func region(of bucket: String) throws(SourceError) -> String {
                if pages >= 3 { throw .invalidCredentials(code: "ExpiredToken") }
                return try inner.region(of: bucket)
            }
            func features(of bucket: String, region: String) -> SourceBucketFeatures {
                inner.features(of: bucket, region: region)
            }
            func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage {
                pages += 1
                if pages > 3 { throw .invalidCredentials(code: "ExpiredToken") }
                return try inner.listObjects(bucket: bucket, region: region, continuation: continuation)
            }
            func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
                try inner.open(bucket: bucket, region: region, key: key)
            }
        }
        let runner = InventoryRunner(source: Expiring(), writer: try writer(), fallbackRegion: "us-east-1")
        XCTAssertEqual(try runner.run { _ in false }, .failed(.invalidCredentials(code: "ExpiredToken")))
        let s = try SnapshotReader.read(contentsOf: dir.appendingPathComponent("job1.json"))
        XCTAssertEqual(s.buckets.map(\.listing), [.incomplete, .incomplete, .incomplete])
        XCTAssertEqual(s.buckets[0].summary.objectCount, 300)
    }

    func testFeatureStatesMapToTheSchemasValues() {
        var f = SourceBucketFeatures()
        f.versioning = .suspended
        f.encryption = .suspended
        f.objectLock = .enabled
        let s = InventoryRunner.statuses(f)
        XCTAssertEqual(s.versioning, .suspended)
        XCTAssertEqual(s.encryption, .unknown, "suspended exists for versioning only")
        XCTAssertEqual(s.objectLock, .enabled)
        XCTAssertEqual(s.lifecycle, .unknown)
    }

    /// The account of `account()`, with hooks: what a listing or the features step does
    /// instead, and how many listing calls each bucket got.
    final class Scripted: SourceAccount, @unchecked Sendable {
        let inner = InventoryRunnerTests.account()
        var listing: (String, Int) throws(SourceError) -> SourcePage? = { _, _ in nil }
        var onFeatures: (String) -> Void = { _ in }
        var calls: [String: Int] = [:]
        func listBuckets() throws(SourceError) -> [SourceBucket] { try inner.listBuckets() }
        func region(of bucket: String) throws(SourceError) -> String { try inner.region(of: bucket) }
        func features(of bucket: String, region: String) -> SourceBucketFeatures {
            onFeatures(bucket)
            return inner.features(of: bucket, region: region)
        }
        func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage {
            calls[bucket, default: 0] += 1
            if let page = try listing(bucket, calls[bucket]!) { return page }
            return try inner.listObjects(bucket: bucket, region: region, continuation: continuation)
        }
        func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
            try inner.open(bucket: bucket, region: region, key: key)
        }
    }

    /// A malformed answer (keys out of order, a repeated token…) concerns its bucket: that one
    /// is kept `incomplete` with what was listed, the others are read, and the odd answer is
    /// not asked for again after pauses (it would be the same).
    func testAnOddAnswerMakesOneBucketIncompleteAndTheRunGoesOn() throws {
        let source = Scripted()
        source.listing = { bucket, call throws(SourceError) in
            if bucket == "alpha" && call == 3 {
                throw .invalidAnswer("ListObjectsV2 alpha answered with keys out of order")
            }
            return nil
        }
        let runner = InventoryRunner(source: source, writer: try writer(), fallbackRegion: "us-east-1")
        runner.retryDelays = [30, 30]
        let began = Date()
        XCTAssertEqual(try runner.run { _ in false }, .done)
        XCTAssertLessThan(Date().timeIntervalSince(began), 10, "no pause before an odd answer")
        XCTAssertEqual(source.calls["alpha"], 3, "asked once")
        let s = try SnapshotReader.read(contentsOf: dir.appendingPathComponent("job1.json"))
        XCTAssertEqual(s.buckets.map(\.listing), [.incomplete, .accessDenied, .complete])
        XCTAssertEqual(s.buckets[0].summary.objectCount, 200)
        XCTAssertEqual(s.buckets[2].summary.objectCount, 5)
        XCTAssertEqual(runner.progress.bucketsDone, 3)
    }

    /// A cancel that arrives while a bucket's region and features are read is seen before its
    /// listing starts.
    func testACancelDuringTheFeaturesStepListsNothingMore() throws {
        let source = Scripted()
        var cancelled = false
        source.onFeatures = { if $0 == "alpha" { cancelled = true } }
        let runner = InventoryRunner(source: source, writer: try writer(), fallbackRegion: "us-east-1")
        XCTAssertEqual(try runner.run { _ in cancelled }, .stopped)
        XCTAssertEqual(source.calls["alpha"], nil, "no page asked for after the cancel")
        let s = try SnapshotReader.read(contentsOf: dir.appendingPathComponent("job1.json"))
        XCTAssertEqual(s.buckets.map(\.listing), [.incomplete, .incomplete, .incomplete])
        XCTAssertEqual(s.buckets[0].region, "eu-north-1", "what was read is kept")
        XCTAssertEqual(s.buckets[0].statuses.encryption, .enabled)
    }

    /// A page that cannot be reached is asked for again after a pause, unless a cancel came
    /// meanwhile: the cancel does not wait out the pauses.
    func testACancelIsNotHeldUpByRetriesOfAnUnreachablePage() throws {
        let source = Scripted()
        source.listing = { _, _ throws(SourceError) in throw .unreachable("connection refused") }
        let runner = InventoryRunner(source: source, writer: try writer(), fallbackRegion: "us-east-1")
        runner.retryDelays = [30, 30]
        var asked = 0
        let began = Date()
        XCTAssertEqual(
            try runner.run { _ in
                asked += 1
                return asked > 2  // before alpha, after its features; then the cancel
            }, .stopped)
        XCTAssertLessThan(Date().timeIntervalSince(began), 10)
        XCTAssertEqual(source.calls["alpha"], 1)
    }
}
