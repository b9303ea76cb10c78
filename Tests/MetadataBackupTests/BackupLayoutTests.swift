import Gateway
import GatewayCore
import XCTest

/// Names of snapshots and segments, and which of them a restore or retention picks.
final class BackupLayoutTests: XCTestCase {
    let id = "0f6c1a5e-7a43-4f4c-9d0e-2b1c3d4e5f60"
    let sha = String(repeating: "ab", count: 32)

    func testStampsSortAsTimesAndParseBack() {
        let t = 1_796_000_123.456
        XCTAssertEqual(BackupLayout.stamp(t), "20261130T005523.456Z")
        XCTAssertEqual(BackupLayout.parseStamp(BackupLayout.stamp(t))!, t, accuracy: 0.001)
        XCTAssertLessThan(BackupLayout.stamp(t), BackupLayout.stamp(t + 0.5))
        XCTAssertEqual(BackupLayout.display(t), "2026-11-30T00:55:23.456Z")
        XCTAssertEqual(BackupLayout.parseTime("2026-11-30T00:55:23.456Z")!, t, accuracy: 0.001)
        XCTAssertEqual(BackupLayout.parseTime("1796000123.456")!, t, accuracy: 0.001)
        XCTAssertNil(BackupLayout.parseTime("yesterday"))
    }

    func testSegmentNamesRoundTrip() {
        let s = BackupLayout.SegmentName(index: 3, offset: 0x1_0020, time: 1_796_000_000.25, sha256: sha)
        XCTAssertEqual(s.fileName, "00000003-0000000000010020-20261130T005320.250Z-\(sha).wal")
        XCTAssertEqual(BackupLayout.SegmentName(fileName: s.fileName), s)
        XCTAssertNil(BackupLayout.SegmentName(fileName: "00000003-10020-20261130T005320.250Z-\(sha).wal"))
        XCTAssertNil(BackupLayout.SegmentName(fileName: "notes.txt"))
        let end = BackupLayout.SegmentName(index: 3, offset: 0x20, time: 1_796_000_000.2501, sha256: sha, end: true)
        // A name's time is an upper bound: rounded up.
        XCTAssertEqual(end.fileName, "00000003-0000000000000020-20261130T005320.251Z-\(sha).end")
        XCTAssertEqual(
            BackupLayout.SegmentName(fileName: end.fileName),
            .init(
                index: 3, offset: 0x20, time: 1_796_000_000.251, sha256: sha, end: true))
        XCTAssertTrue(ObjectName.isValid(BackupLayout.segment(id, "20261130T001320.250Z-0a0b0c0d", s)))
    }

    /// Two generations: G1 at t=1000 (segments at 1005, 1010, 1020), G2 at 2000 (2005).
    func catalog(manifestOfG2: Bool = true) -> BackupCatalog {
        let g1 = "\(BackupLayout.stamp(1000))-00000001"
        let g2 = "\(BackupLayout.stamp(2000))-00000002"
        var names = [
            BackupLayout.snapshot(id, g1, sha256: sha), BackupLayout.manifest(id, g1),
            BackupLayout.snapshot(id, g2, sha256: sha),
        ]
        if manifestOfG2 { names.append(BackupLayout.manifest(id, g2)) }
        for (i, offset, t) in [(0, 32, 1005.0), (0, 8272, 1010.0), (1, 32, 1020.0)] {
            names.append(BackupLayout.segment(id, g1, .init(index: i, offset: Int64(offset), time: t, sha256: sha)))
        }
        names.append(BackupLayout.segment(id, g2, .init(index: 0, offset: 32, time: 2005, sha256: sha)))
        // Another installation's objects are not this one's.
        names.append("databases/other/snapshots/\(g1)/manifest.json")
        return BackupCatalog(installation: id, objects: names.shuffled().map { StoredBlob(id: $0, size: 10) })
    }

    func testPlanPicksTheNewestSnapshotBeforeTheTimeAndItsSegmentsUpToIt() throws {
        let c = catalog()
        XCTAssertEqual(c.generations.count, 2)
        let latest = try XCTUnwrap(c.plan(at: nil))
        XCTAssertTrue(latest.generation.name.hasSuffix("-00000002"))
        XCTAssertEqual(latest.segments.map(\.segment.time), [2005])
        let mid = try XCTUnwrap(c.plan(at: 1012))
        XCTAssertTrue(mid.generation.name.hasSuffix("-00000001"))
        XCTAssertEqual(mid.segments.map(\.segment.offset), [32, 8272])
        XCTAssertEqual(mid.reaches, 1010)
        // In order: WAL 0 before WAL 1, whatever order the listing had.
        XCTAssertEqual(try XCTUnwrap(c.plan(at: 1999)).segments.map(\.segment.index), [0, 0, 1])
        XCTAssertEqual(try XCTUnwrap(c.plan(at: 1000)).segments.count, 0)
        XCTAssertNil(c.plan(at: 999))
    }

    func testAGenerationWithoutManifestIsNeverRestored() throws {
        let c = catalog(manifestOfG2: false)
        XCTAssertTrue(try XCTUnwrap(c.plan(at: nil)).generation.name.hasSuffix("-00000001"))
    }

    func testRetentionKeepsWhatAnyPointInTheWindowNeeds() {
        let c = catalog()
        let g2 = c.generations[1].name
        // Window reaches back to 1500: G1 is needed for 1500..2000.
        XCTAssertEqual(c.expired(now: 2500, retention: 1000, current: g2).count, 0)
        // Window starts at 2100, after G2 began: G1 goes, G2 (current) stays.
        XCTAssertEqual(c.expired(now: 3100, retention: 1000, current: g2).map(\.name), [c.generations[0].name])
        // The newest complete generation is never removed, current or not.
        XCTAssertEqual(c.expired(now: 99_999, retention: 10, current: nil).map(\.name), [c.generations[0].name])
        // An incomplete generation (no manifest), not the current one, goes after ten minutes.
        let partial = catalog(manifestOfG2: false)
        XCTAssertEqual(partial.expired(now: 2100, retention: 100_000, current: nil).count, 0)
        XCTAssertEqual(partial.expired(now: 2700, retention: 100_000, current: nil).map(\.name), [g2])
    }
}
