import CLinux
import Foundation
import GatewayCore
import XCTest

@testable import FileSystemBackend

/// Large blobs are written with O_DIRECT: whatever the writes' sizes and alignment, the blob
/// reads back byte for byte, the file really was open for direct I/O, small blobs and zones with
/// direct writes off keep the page cache, and a refused direct write finishes the blob buffered.
final class DirectWriteTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "s3gw-direct-\(UUID().uuidString)"
        // The writer falls back where the filesystem refuses O_DIRECT at open (tmpfs before
        // Linux 6.6, some overlay or FUSE mounts); the tests of direct writes need one that takes it.
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let fd = open(root + "/probe", O_WRONLY | O_CREAT | s3gw_o_direct(), 0o644)
        guard fd >= 0 else { throw XCTSkip("\(NSTemporaryDirectory()) takes no O_DIRECT") }
        close(fd)
        unlink(root + "/probe")
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// Writes `chunks` (sizes) of a deterministic pattern from 4 KiB-aligned memory, each chunk
    /// starting `offset` bytes in; returns the blob's bytes as read back and whether the file was
    /// open with O_DIRECT after the first write.
    private func put(
        _ chunks: [Int], offset: Int = 0, announced: Int64? = nil, unknownLength: Bool = false,
        minSize: Int64? = 1 << 20
    ) throws -> (read: [UInt8], expected: [UInt8], direct: Bool) {
        let zone = try FileSystemZone(name: "z", root: root, directWriteMinSize: minSize)
        try zone.createBucket("b")
        let total = chunks.reduce(0, +)
        let expected = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let w = try zone.beginWrite(backendBucket: "b", length: unknownLength ? nil : announced ?? Int64(total))
        var direct = false
        let memory = UnsafeMutableRawBufferPointer.allocate(
            byteCount: (chunks.max() ?? 0) + offset + 1, alignment: 4096)
        defer { memory.deallocate() }
        var at = 0
        for (i, n) in chunks.enumerated() {
            expected[at..<(at + n)].withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: memory[offset..<(offset + n)]).copyMemory(from: $0)
            }
            try w.write(UnsafeRawBufferPointer(rebasing: memory[offset..<(offset + n)]))
            if i == 0 { direct = try Self.openForDirectIO(w) }
            at += n
        }
        let blob = try w.commit()
        let read = try committed(blob)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
        return (read, expected, direct)
    }

    /// A committed blob's bytes, read from its file.
    private func committed(_ blob: String) throws -> [UInt8] {
        let zone = try FileSystemZone(name: "z", root: root)
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: try zone.blobPath("b", blob))))
    }

    /// The writer's descriptor's status flags, as the kernel reports them.
    static func openForDirectIO(_ w: any BlobWriter) throws -> Bool {
        let fd = try XCTUnwrap(w as? FileBlobWriter).fd
        let info = try String(contentsOfFile: "/proc/self/fdinfo/\(fd)", encoding: .utf8)
        let line = try XCTUnwrap(info.split(separator: "\n").first { $0.hasPrefix("flags:") })
        let flags = try XCTUnwrap(Int32(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8))
        return flags & s3gw_o_direct() != 0
    }

    func testLargeBlobsReadBackWhateverTheWritesSizesAndAlignment() throws {
        let k256 = 256 * 1024
        let cases: [(String, [Int], Int)] = [
            ("pump buffers, whole blocks", Array(repeating: k256, count: 8), 0),
            ("pump buffers, then a partial block", Array(repeating: k256, count: 5) + [k256 - 100], 0),
            ("pump buffers, then less than a block", Array(repeating: k256, count: 4) + [1], 0),
            ("odd sizes", [1000, 4095, 4097, 70_000, 300_000, 1, 700_001, 8192], 0),
            ("unaligned memory", Array(repeating: k256, count: 5), 3),
            ("one write past the staging buffer", [5 * k256 + 17], 0),
        ]
        for (name, chunks, offset) in cases {
            let r = try put(chunks, offset: offset)
            XCTAssertEqual(r.read.count, r.expected.count, name)
            XCTAssert(r.read == r.expected, "\(name): bytes differ")
            XCTAssert(r.direct, "\(name): written with O_DIRECT")
        }
    }

    func testAnnouncedLargeButEmptyOrTinyBodies() throws {
        for chunks in [[], [1], [4095], [4096]] {
            let r = try put(chunks, announced: 1 << 30)
            XCTAssert(r.read == r.expected, "\(chunks)")
        }
    }

    func testSmallBlobsAndZonesWithDirectWritesOffUseThePageCache() throws {
        let small = try put([4096, 100])
        XCTAssert(small.read == small.expected)
        XCTAssertFalse(small.direct, "below the zone's minimum")
        let atMinimum = try put([1 << 20, 1])
        XCTAssert(atMinimum.direct, "announced length past the minimum")
        let unknown = try put([1 << 21], unknownLength: true)
        XCTAssert(unknown.read == unknown.expected)
        XCTAssertFalse(unknown.direct, "a body of unknown length is not known to be large")
        XCTAssert(try put([100], unknownLength: true, minSize: 0).direct, "minimum 0: every blob")
        let off = try put(Array(repeating: 1 << 20, count: 3), minSize: nil)
        XCTAssert(off.read == off.expected)
        XCTAssertFalse(off.direct, "direct writes off")
    }

    /// A writer whose file already holds one byte written behind its back, so that its next
    /// direct write starts at an unaligned offset, which O_DIRECT refuses (EINVAL).
    private func writerAtUnalignedOffset() throws -> FileBlobWriter {
        let zone = try FileSystemZone(name: "z", root: root, directWriteMinSize: 0)
        try zone.createBucket("b")
        let w = try XCTUnwrap(try zone.beginWrite(backendBucket: "b", length: 1 << 20) as? FileBlobWriter)
        let flags = fcntl(w.fd, F_GETFL)
        XCTAssertEqual(fcntl(w.fd, F_SETFL, flags & ~s3gw_o_direct()), 0)
        XCTAssertEqual([UInt8(0xA5)].withUnsafeBytes { Glibc.write(w.fd, $0.baseAddress!, 1) }, 1)
        XCTAssertEqual(fcntl(w.fd, F_SETFL, flags), 0)
        return w
    }

    /// Bytes staged until commit (unaligned memory, less than the staging buffer): the whole
    /// blocks are refused at commit, go buffered, and the last partial block after them.
    func testARefusalAtCommitStillWritesTheLastPartialBlock() throws {
        let w = try writerAtUnalignedOffset()
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 13) }
        try data.withUnsafeBytes { try w.write($0) }
        let blob = try w.commit()
        let read = try committed(blob)
        XCTAssertEqual(read.count, 5001)
        XCTAssert(read == [0xA5] + data, "bytes differ")
    }

    /// The staging buffer fills and its flush is refused: it and the rest go buffered.
    func testARefusalWhileFlushingTheStagingBufferWritesEverythingOnce() throws {
        let w = try writerAtUnalignedOffset()
        let data = (0..<(300 * 1024 + 7)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 >> 11) }
        try data.withUnsafeBytes { try w.write($0) }
        XCTAssertNil(w.direct, "fell back")
        XCTAssertFalse(try Self.openForDirectIO(w))
        try data[..<100].withUnsafeBytes { try w.write($0) }
        let blob = try w.commit()
        let read = try committed(blob)
        XCTAssert(read == [0xA5] + data + data[..<100], "bytes differ")
    }

    /// A direct write the filesystem refuses (here: from memory not aligned to a block, which
    /// O_DIRECT refuses with EINVAL) clears O_DIRECT and writes the rest of the blob buffered.
    func testARefusedDirectWriteFinishesTheBlobBuffered() throws {
        let zone = try FileSystemZone(name: "z", root: root, directWriteMinSize: 0)
        try zone.createBucket("b")
        let w = try XCTUnwrap(try zone.beginWrite(backendBucket: "b", length: 1 << 20) as? FileBlobWriter)
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 3 * 4096 + 1, alignment: 4096)
        defer { memory.deallocate() }
        for i in 0..<memory.count { memory[i] = UInt8(truncatingIfNeeded: i * 7) }
        try w.write(UnsafeRawBufferPointer(rebasing: memory[0..<4096]))  // aligned: direct
        XCTAssert(try Self.openForDirectIO(w))
        try w.writeBlocks(UnsafeRawBufferPointer(rebasing: memory[1..<4097]))  // misaligned
        guard w.direct == nil else {
            throw XCTSkip("this filesystem accepts misaligned O_DIRECT writes")
        }
        XCTAssertFalse(try Self.openForDirectIO(w))
        try w.write(UnsafeRawBufferPointer(rebasing: memory[100..<9000]))
        let blob = try w.commit()
        let read = try committed(blob)
        let expected = Array(memory[0..<4096]) + Array(memory[1..<4097]) + Array(memory[100..<9000])
        XCTAssert(read == expected, "bytes differ after the fallback")
    }
}
