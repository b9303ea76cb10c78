import Foundation
import GatewayCore
import XCTest

@testable import MetadataSQLite

/// The WAL reader against WALs SQLite itself wrote (https://www.sqlite.org/walformat.html).
final class WALFormatTests: XCTestCase {
    var dir = ""

    override func setUp() {
        dir = NSTemporaryDirectory() + "walformat-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A database with `transactions` committed inserts, never checkpointed; its -wal bytes.
    func writeWAL(transactions: Int) throws -> (db: SQLiteConnection, wal: [UInt8]) {
        let db = try SQLiteConnection(path: dir + "/t.sqlite", checkpoints: false)
        try db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        for i in 0..<transactions {
            try db.query("INSERT INTO t (v) VALUES (?)", [.text(String(repeating: "x", count: 100 + i))])
        }
        return (db, Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/t.sqlite-wal"))))
    }

    func scan(_ wal: [UInt8]) -> (WALFormat.Header?, WALFormat.Scan?) {
        wal.withUnsafeBytes { b in
            guard let h = WALFormat.Header(b) else { return (nil, nil) }
            return (h, WALFormat.scan(UnsafeRawBufferPointer(rebasing: b[32...]), from: WALFormat.Cursor(header: h)))
        }
    }

    func testReadsEveryCommittedFrameOfARealWAL() throws {
        let (db, wal) = try writeWAL(transactions: 20)
        _ = db
        let (header, s) = scan(wal)
        let h = try XCTUnwrap(header)
        XCTAssertEqual(h.pageSize, 4096)
        let result = try XCTUnwrap(s)
        // Every frame in the file is part of a committed transaction.
        XCTAssertEqual(result.frames, (wal.count - 32) / h.frameSize)
        XCTAssertEqual(result.length, wal.count - 32)
        XCTAssertEqual(result.end.offset, Int64(wal.count))
        XCTAssertEqual(result.end.framesBefore, result.frames)
    }

    func testATornLastFrameEndsTheScanAtThePreviousCommit() throws {
        let (_, wal) = try writeWAL(transactions: 5)
        let (header, full) = scan(wal)
        let h = try XCTUnwrap(header)
        let torn = Array(wal.dropLast(100))
        let (_, s) = scan(torn)
        let result = try XCTUnwrap(s)
        XCTAssertLessThan(result.frames, try XCTUnwrap(full).frames)
        XCTAssertEqual((result.length) % h.frameSize, 0)
        // Whole transactions only: the frame before the cut is a commit frame.
        let lastFrame = 32 + result.length - h.frameSize
        XCTAssertNotEqual(wal[(lastFrame + 4)..<(lastFrame + 8)], [0, 0, 0, 0])
    }

    func testAGarbledPageOrWrongSaltEndsTheScan() throws {
        let (_, wal) = try writeWAL(transactions: 6)
        let (header, full) = scan(wal)
        let h = try XCTUnwrap(header)
        let all = try XCTUnwrap(full).frames
        XCTAssertGreaterThan(all, 4)
        // A bit flipped in the page of frame 3: frames 0-2 at most survive.
        var garbled = wal
        garbled[32 + 3 * h.frameSize + 24 + 1000] ^= 0x40
        XCTAssertLessThanOrEqual(try XCTUnwrap(scan(garbled).1).frames, 3)
        // Frame 2 carrying another salt.
        var salted = wal
        salted[32 + 2 * h.frameSize + 8] ^= 0x01
        XCTAssertLessThanOrEqual(try XCTUnwrap(scan(salted).1).frames, 2)
        // A header whose checksum fails is no header.
        var badHeader = wal
        badHeader[20] ^= 0x01
        XCTAssertNil(scan(badHeader).0)
    }

    func testSegmentFileRoundTripAndRefusals() throws {
        let (_, wal) = try writeWAL(transactions: 4)
        let (header, full) = scan(wal)
        let h = try XCTUnwrap(header)
        let s = try XCTUnwrap(full)
        let segment = WALSegmentFile.encode(position: WALFormat.Cursor(header: h)) + wal[32..<(32 + s.length)]
        let decoded = try WALSegmentFile.decode(segment)
        XCTAssertEqual(decoded.frames, s.frames)
        XCTAssertEqual(decoded.end, s.end)
        var garbled = segment
        garbled[WALSegmentFile.positionSize + 30] ^= 0x01
        XCTAssertThrowsError(try WALSegmentFile.decode(garbled))
        // Cut short: a transaction is incomplete.
        XCTAssertThrowsError(try WALSegmentFile.decode(Array(segment.dropLast(100))))
        XCTAssertThrowsError(try WALSegmentFile.decode(Array(segment.prefix(40))))
    }

    /// `wal` with the magic and every checksum rewritten for big-endian checksums (magic
    /// 0x377f0683, as SQLite writes on a big-endian host), or little-endian ones.
    func reencoded(_ wal: [UInt8], bigEndian: Bool) -> [UInt8] {
        var out = wal
        func put(_ v: UInt32, at i: Int) {
            var b: [UInt8] = []
            appendBE32(&b, v)
            out.replaceSubrange(i..<(i + 4), with: b)
        }
        put(bigEndian ? 0x377f_0683 : 0x377f_0682, at: 0)
        var chain = WALFormat.Checksum()
        out.withUnsafeBytes { chain.add(UnsafeRawBufferPointer(rebasing: $0[0..<24]), bigEndian: bigEndian) }
        put(chain.s0, at: 24)
        put(chain.s1, at: 28)
        let frameSize = 24 + Int(out.withUnsafeBytes { be32($0, 8) })
        var at = 32
        while at + frameSize <= out.count {
            out.withUnsafeBytes { b in
                chain.add(UnsafeRawBufferPointer(rebasing: b[at..<(at + 8)]), bigEndian: bigEndian)
                chain.add(UnsafeRawBufferPointer(rebasing: b[(at + 24)..<(at + frameSize)]), bigEndian: bigEndian)
            }
            put(chain.s0, at: at + 16)
            put(chain.s1, at: at + 20)
            at += frameSize
        }
        return out
    }

    func testABigEndianWALReadsTheSame() throws {
        let (_, wal) = try writeWAL(transactions: 8)
        let little = try XCTUnwrap(scan(wal).1)
        let big = reencoded(wal, bigEndian: true)
        let (header, s) = scan(big)
        XCTAssertEqual(header?.magic, 0x377f_0683)
        let result = try XCTUnwrap(s)
        XCTAssertEqual(result.frames, little.frames)
        XCTAssertEqual(result.length, little.length)
        // The big-endian magic over little-endian checksums: not even the header passes.
        var mixed = wal
        mixed[3] = 0x83
        XCTAssertNil(scan(mixed).0)
        // And back: the little-endian rewrite is the file SQLite wrote.
        XCTAssertEqual(reencoded(big, bigEndian: false), wal)
    }

    func testAHeaderWrittenFromScratchIsValid() throws {
        let h = WALFormat.Header(pageSize: 4096, salt1: 7, salt2: 9)
        let parsed = h.encoded().withUnsafeBytes { WALFormat.Header($0) }
        XCTAssertEqual(parsed, h)
    }
}
