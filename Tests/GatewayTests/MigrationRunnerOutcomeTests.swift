import Foundation
import GatewayCore
import GatewayTesting
import Logging
import Synchronization
import XCTest

@testable import Gateway

/// What a run's final state and report claim: `failed` when no bucket could be copied, `done`
/// with `failed_buckets` when some could not, and per bucket what the copy leaves behind (the
/// noncurrent versions of a versioned bucket).
extension MigrationRunnerTests {
    func takeBucket(_ name: String) throws {
        try gw.metadata.createBucket(
            BucketRecord(
                name: name, owner: "someone-else", createdAt: 1, locationConstraint: "fi", zones: ["fi-1", "fi-2"],
                backendBucket: "s3gw-\(name)"))
    }

    func encoded(_ s: MigrationRunStatus) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: MigrationJSON.encoder().encode(s)) as? [String: Any] ?? [:]
    }

    func testARunWhoseEveryBucketFailedIsFailedAndSaysWhy() throws {
        fill()
        let p = try plan("fi")
        try takeBucket("logs")
        try takeBucket("photos")
        let report = runner(p).run()
        XCTAssertEqual(report.state, .failed, report.text)
        XCTAssertEqual(report.buckets.map(\.state), ["failed", "failed"])
        XCTAssertEqual(report.failedBuckets, 2)
        XCTAssertEqual(
            report.error,
            "no bucket could be copied: logs: the bucket logs exists and belongs to another user; "
                + "photos: the bucket photos exists and belongs to another user")
        XCTAssertEqual(source.reads, 0)
        XCTAssertEqual(try encoded(report)["failed_buckets"] as? Int, 2)
        XCTAssertTrue(report.text.contains("failed buckets: 2 of 2"), report.text)
        // The stored row says the same.
        let row = try XCTUnwrap(try gw.metadata.migrationRun(id: p.plan.id))
        XCTAssertEqual(row.state, "failed")
        XCTAssertEqual(MigrationRunStatus(row: row, now: gw.context.clock.now())?.failedBuckets, 2)
    }

    func testASourceThatListsNoBucketFailsTheRun() throws {
        fill()
        let p = try plan("fi")
        source.deny("logs")
        source.deny("photos")
        let report = runner(p).run()
        XCTAssertEqual(report.state, .failed, report.text)
        XCTAssertEqual(
            report.error,
            "no bucket could be copied: logs: ListObjectsV2 logs: AccessDenied; "
                + "photos: ListObjectsV2 photos: AccessDenied")
    }

    func testARunWithSomeFailedBucketsIsDoneAndCountsThem() throws {
        fill()
        let p = try plan("fi")
        try takeBucket("logs")
        let report = runner(p).run()
        XCTAssertEqual(report.state, .done, report.text)
        XCTAssertNil(report.error)
        XCTAssertEqual(report.failedBuckets, 1)
        XCTAssertEqual(report.buckets.map(\.state), ["failed", "done"])
        XCTAssertEqual(report.objectsCopied, 20)
        let json = try encoded(report)
        XCTAssertEqual(json["failed_buckets"] as? Int, 1)
        XCTAssertEqual(json["state"] as? String, "done")
        XCTAssertEqual(try encoded(runner(try plan("fi", prefix: "n-", id: "p2")).run())["failed_buckets"] as? Int, 0)
    }

    func testAPlanWithNothingToCopyFails() throws {
        source.addBucket("secret")
        source.deny("secret")
        let p = try plan("fi")
        XCTAssertEqual(p.buckets.count, 0)
        let report = runner(p).run()
        XCTAssertEqual(report.state, .failed)
        XCTAssertEqual(
            report.error, "the plan has no bucket to copy (each source bucket is among its unplaceable ones)")
    }

    func testTheReportSaysPerBucketThatNoncurrentVersionsAreNotCopied() throws {
        fill()
        var snap = try snapshot()
        snap.buckets[0].statuses.versioning = .suspended  // logs
        snap.buckets[1].statuses.versioning = .enabled  // photos
        let p = try gw.context.migrationPlan(for: snap, options: .init(constraint: "fi"), by: principal, id: "plan-v")
        let report = runner(p).run()
        XCTAssertEqual(report.state, .done, report.text)
        let notes = Dictionary(uniqueKeysWithValues: report.buckets.map { ($0.sourceBucket, $0.notes) })
        XCTAssertEqual(
            notes["logs"],
            [
                "versioning is suspended at the source: only current versions are copied, not noncurrent versions "
                    + "or delete markers"
            ])
        XCTAssertEqual(notes["photos"]?.first?.hasPrefix("versioning is enabled at the source"), true)
        XCTAssertTrue(report.text.contains("    note: versioning is suspended"), report.text)
        let buckets = try encoded(report)["buckets"] as? [[String: Any]]
        XCTAssertEqual((buckets?[0]["notes"] as? [String])?.count, 1)
        // A versionless bucket has no such note.
        let plain = try plan("fi", prefix: "x-", id: "plan-x")
        XCTAssertEqual(runner(plain).run().buckets.map(\.notes), [[], []])
    }

    func testARowWrittenBeforeNotesAndFailedBucketsIsStillRead() throws {
        fill()
        let p = try plan("fi")
        let first = runner(p)
        first.save(force: true)
        var row = try XCTUnwrap(try gw.metadata.migrationRun(id: p.plan.id))
        var doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(row.document.utf8)) as? [String: Any])
        doc["failed_buckets"] = nil
        doc["buckets"] = (doc["buckets"] as? [[String: Any]])?.map { b in b.filter { $0.key != "notes" } }
        row.document = String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
        let read = try XCTUnwrap(MigrationRunStatus(row: row, now: gw.context.clock.now()))
        XCTAssertEqual(read.buckets.map(\.notes), [[], []])
        XCTAssertEqual(read.failedBuckets, 0)
    }

    func testASourcesKeysCannotWriteTerminalControlsIntoTheReport() throws {
        source.addBucket("odd")
        let evil = "evil\u{1B}[2J\u{1B}]0;owned\u{07}\nphotos → photos: done, 0 copied\u{9B}1A"
        source.put("odd", evil, Self.bytes(10))
        let denied = ScriptedSource(source) { _ in throw SourceError.accessDenied(operation: "GetObject odd") }
        let report = runner(try plan("fi"), source: denied).run()
        XCTAssertEqual(report.skipped.map(\.key), [evil], "the report document keeps the key as it is")
        let text = report.text
        XCTAssertFalse(
            text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) })
        XCTAssertTrue(
            text.contains(
                "  odd/evil\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{a}photos → photos: done, 0 copied\\u{9b}1A: GetObject odd"
            ),
            text)
        XCTAssertFalse(text.split(separator: "\n").contains { $0.hasPrefix("photos → photos") }, "no forged line")
    }

    func testAProgressWriteTakenBeforeTheEndNeverLandsAfterIt() throws {
        // A clock that moves, so the beat writes at all; a source slow enough for it to.
        gw = TestGateway(zones: catalog, clock: SystemClock())
        source.addBucket("slow")
        for i in 0..<3 { source.put("slow", "k\(i)", Self.bytes(10, seed: i)) }
        let p = try plan("fi")
        // Progress writes taken while the last object is read are held until the run's final
        // write happened (at most a second): the beat takes several.
        let ended = Flag()
        gw.metadata.beforeMigrationRunSave { row in
            if row.state != "running" { return ended.set() }
            guard row.document.contains("\"objects_copied\":2,") else { return }
            let deadline = Date().addingTimeInterval(1)
            while !ended.isSet && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        }
        var options = MigrationRunner.Options()
        options.saveInterval = 0.01
        options.parallel = 1
        let report = runner(p, source: SlowSource(source), options: options).run()
        XCTAssertEqual(report.state, .done, report.text)
        // A held write released by the final one would land a moment later: watch for it.
        let deadline = Date().addingTimeInterval(0.5)
        repeat {
            let row = try XCTUnwrap(try gw.metadata.migrationRun(id: p.plan.id))
            XCTAssertEqual(row.state, "done", "the finished run is saved as finished, last")
            if row.state != "done" { break }
            Thread.sleep(forTimeInterval: 0.01)
        } while Date() < deadline
        let row = try XCTUnwrap(try gw.metadata.migrationRun(id: p.plan.id))
        XCTAssertEqual(MigrationRunStatus(row: row, now: gw.context.clock.now())?.objectsCopied, 3)
    }
}

/// A flag set once, read from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
