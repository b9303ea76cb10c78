import Compression
import Foundation
import GatewayCore
import XCTest

/// GzipSink's output is what `gzip -dc` (an independent implementation's reader) turns back into
/// the input; it leaves in bounded chunks while the input is still being written.
final class GzipSinkTests: XCTestCase {
    /// Collects the output and remembers the largest single write.
    final class Collector: ByteSink {
        var bytes: [UInt8] = []
        var largestWrite = 0
        func write(_ data: UnsafeRawBufferPointer) throws {
            bytes.append(contentsOf: data)
            largestWrite = max(largestWrite, data.count)
        }
    }

    /// Counts the output without keeping it, writing it to a file for `gzip -dc`.
    final class FileCounter: ByteSink {
        let handle: FileHandle
        var count = 0
        var largestWrite = 0
        init(_ path: String) throws {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        func write(_ data: UnsafeRawBufferPointer) throws {
            try handle.write(contentsOf: Data(data))
            count += data.count
            largestWrite = max(largestWrite, data.count)
        }
    }

    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "gzip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs `gzip -dc` on `file`, feeding its output to `consume` as it comes; returns the exit status.
    func gunzip(_ file: String, _ consume: (Data) -> Void) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", file]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        while true {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            consume(data)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func roundTrip(_ compressed: [UInt8]) throws -> [UInt8]? {
        let file = dir + "/t.gz"
        _ = FileManager.default.createFile(atPath: file, contents: Data(compressed))
        var out: [UInt8] = []
        let status = try gunzip(file) { out.append(contentsOf: $0) }
        return status == 0 ? out : nil
    }

    /// Deterministic bytes that do not compress (xorshift).
    static func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var x = seed
        return (0..<count).map { _ in
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }

    func testWhatIsWrittenComesBack() throws {
        let json = Array(
            (0..<5000).map { "{\"key\": \"photos/\($0).jpg\", \"size\": \($0 * 37)}\n" }.joined().utf8)
        let input = json + Self.noise(300_000) + [0, 0, 0, 255]
        for level in [1, 6, 9] {
            let out = Collector()
            let gzip = try GzipSink(into: out, level: level, chunkSize: 4096)
            // Writes of every size, including empty ones.
            var offset = 0
            var size = 0
            while offset < input.count {
                let n = min(size, input.count - offset)
                try input[offset..<offset + n].withUnsafeBytes { try gzip.write($0) }
                offset += n
                size = (size * 7 + 13) % 70_000
            }
            try gzip.finish()
            XCTAssertEqual(Array(out.bytes.prefix(3)), [0x1f, 0x8b, 8], "a gzip header, deflate")
            XCTAssertLessThanOrEqual(out.largestWrite, 4096)
            XCTAssertLessThan(out.bytes.count, input.count, "the JSON part compresses")
            XCTAssertEqual(try roundTrip(out.bytes), input, "level \(level)")
        }
    }

    func testEmptyInputIsAValidGzipFile() throws {
        let out = Collector()
        let gzip = try GzipSink(into: out)
        try gzip.finish()
        XCTAssertEqual(Array(out.bytes.prefix(3)), [0x1f, 0x8b, 8])
        XCTAssertEqual(try roundTrip(out.bytes), [])
    }

    func testWithoutFinishTheFileIsIncomplete() throws {
        let out = Collector()
        let gzip = try GzipSink(into: out, chunkSize: 1024)
        try Self.noise(100_000).withUnsafeBytes { try gzip.write($0) }
        XCTAssertNil(try roundTrip(out.bytes), "gzip accepted a stream without its trailer")
        try gzip.finish()
        try gzip.finish()  // a second finish adds nothing
        XCTAssertEqual(try roundTrip(out.bytes), Self.noise(100_000))
        XCTAssertThrowsError(try [1, 2, 3].withUnsafeBytes { try gzip.write($0) })
    }

    /// 48 MiB through a 64 KiB chunk: the output leaves while the input is still being written
    /// (all but what zlib holds back is out before finish), in writes no larger than the chunk,
    /// and decompresses to the same bytes.
    func testALargeStreamKeepsItsBuffersBounded() throws {
        let file = dir + "/large.gz"
        let out = try FileCounter(file)
        let gzip = try GzipSink(into: out, level: 1)
        let block = Self.noise(1 << 20)
        var checksum = Checksum()
        let blocks = 48
        for i in 0..<blocks {
            var b = block
            b[0] = UInt8(i)
            try b.withUnsafeBytes { try gzip.write($0) }
            checksum.add(b)
        }
        XCTAssertGreaterThan(out.count, (blocks - 1) << 20, "the compressed stream was held back, not streamed")
        try gzip.finish()
        try out.handle.close()
        XCTAssertLessThanOrEqual(out.largestWrite, 64 << 10)

        var back = Checksum()
        XCTAssertEqual(try gunzip(file) { back.add(Array($0)) }, 0)
        XCTAssertEqual(back, checksum)
    }

    /// A failing output sink fails the write that reached it.
    func testTheOutputsFailureIsTheWritersFailure() throws {
        struct Full: Error {}
        final class Failing: ByteSink {
            func write(_ bytes: UnsafeRawBufferPointer) throws { throw Full() }
        }
        let gzip = try GzipSink(into: Failing(), chunkSize: 512)
        XCTAssertThrowsError(try Self.noise(10_000).withUnsafeBytes { try gzip.write($0) }) { XCTAssert($0 is Full) }
    }
}

/// Length and a position-sensitive hash (FNV-1a) of a byte stream fed in pieces.
struct Checksum: Equatable {
    var count = 0
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for b in bytes {
            hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3
        }
        count += bytes.count
    }
}
