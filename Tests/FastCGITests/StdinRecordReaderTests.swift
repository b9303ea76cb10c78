import GatewayCore
import XCTest

@testable import FastCGI

/// Our FCGI_STDIN record reader: the body comes out whole however the records are cut (record
/// sizes, padding, reads split at every byte position), it ends at the empty record without
/// reading past it, and a stream cut short or foreign throws rather than ending cleanly.
final class StdinRecordReaderTests: XCTestCase {
    static let id: UInt16 = 1

    func record(_ content: ArraySlice<UInt8>, padding: Int, type: UInt8 = 5, id: UInt16 = id) -> [UInt8] {
        [
            1, type, UInt8(id >> 8), UInt8(id & 0xff), UInt8(content.count >> 8), UInt8(content.count & 0xff),
            UInt8(padding), 0,
        ]
            + content + [UInt8](repeating: 0xEE, count: padding)
    }

    /// The body in records of `size` bytes with `padding` after each, then the end record.
    func stream(_ body: [UInt8], size: Int, padding: Int) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        while offset < body.count {
            let n = min(size, body.count - offset)
            out += record(body[offset..<(offset + n)], padding: padding)
            offset += n
        }
        return out + record([], padding: 0)
    }

    /// Delivers `bytes` at most `step` at a time across both buffers, like a socket; counts what it gave.
    final class Wire {
        let bytes: [UInt8]
        let step: Int
        var offset = 0
        init(_ bytes: [UInt8], step: Int) {
            self.bytes = bytes
            self.step = step
        }
        func read(_ a: UnsafeMutableRawBufferPointer, _ b: UnsafeMutableRawBufferPointer) throws -> Int {
            var budget = min(step, bytes.count - offset)
            var total = 0
            for buffer in [a, b] where budget > 0 && buffer.count > 0 {
                let n = min(budget, buffer.count)
                bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
                offset += n
                total += n
                budget -= n
                if n < buffer.count { break }
            }
            return total
        }
    }

    func body(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) } }

    func readAll(_ reader: inout StdinRecordReader, chunk: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    func reader(raw: [UInt8], wire: Wire, pending: [UInt8] = [], contentLeft: Int = 0, paddingLeft: Int = 0)
        -> StdinRecordReader
    {
        StdinRecordReader(
            requestID: Self.id, pending: pending, raw: raw, contentLeft: contentLeft, paddingLeft: paddingLeft,
            ended: false, readv: wire.read)
    }

    func testTheBodyComesOutWholeWhereverTheBytesAreSplit() throws {
        for (n, size, padding) in [(120, 120, 0), (120, 50, 3), (120, 33, 7), (60, 1, 2), (12, 5, 255)] {
            let data = body(n)
            let bytes = stream(data, size: size, padding: padding)
            let trailer: [UInt8] = Array("NEXT REQUEST".utf8)
            // libfcgi had buffered the first `split` raw bytes; the rest comes from the socket.
            for split in 0...bytes.count {
                for (step, chunk) in [(1, 64), (5, 1000), (4096, 4096)] where step > 1 || split % 17 == 0 {
                    let wire = Wire(Array(bytes[split...]) + trailer, step: step)
                    var r = reader(raw: Array(bytes[..<split]), wire: wire)
                    let got = try readAll(&r, chunk: chunk)
                    XCTAssertEqual(got, data, "size \(size) padding \(padding) split \(split) step \(step)")
                    XCTAssertEqual(wire.offset, bytes.count - split, "read past the end record")
                    XCTAssert(r.ended)
                }
            }
        }
    }

    func testItStartsInsideARecordLibfcgiExposedInPart() throws {
        let data = body(500)
        // The first record holds 300 bytes: libfcgi exposed 120, 180 more and 5 of padding follow.
        let rest =
            [UInt8](data[120..<300]) + [UInt8](repeating: 0, count: 5)
            + stream(Array(data[300...]), size: 64, padding: 2)
        for step in [1, 13, 10_000] {
            let wire = Wire(rest, step: step)
            var r = reader(raw: [], wire: wire, pending: Array(data[..<120]), contentLeft: 180, paddingLeft: 5)
            XCTAssertEqual(try readAll(&r, chunk: 77), data, "step \(step)")
            XCTAssertEqual(wire.offset, rest.count)
        }
    }

    func testAnEmptyBodyEndsAtOnce() throws {
        let wire = Wire(stream([], size: 10, padding: 0), step: 100)
        var r = reader(raw: [], wire: wire)
        XCTAssertEqual(try readAll(&r, chunk: 10), [])
        var done = StdinRecordReader(
            requestID: Self.id, pending: [], raw: [], contentLeft: 0, paddingLeft: 0, ended: true, readv: wire.read)
        XCTAssertEqual(try readAll(&done, chunk: 10), [], "libfcgi had seen the end already")
    }

    func testAStreamCutShortThrowsWherever() throws {
        let data = body(300)
        let bytes = stream(data, size: 100, padding: 3)
        for cut in 0..<bytes.count {
            let wire = Wire(Array(bytes[..<cut]), step: 7)
            var r = reader(raw: [], wire: wire)
            XCTAssertThrowsError(try readAll(&r, chunk: 64), "cut at \(cut)") { error in
                XCTAssertEqual(error as? FastCGIError, .streamFailed)
            }
        }
    }

    func testARecordOfAnotherTypeOrRequestThrows() throws {
        for bad in [
            record([1, 2], padding: 0, type: 4), record([1, 2], padding: 0, id: 2), [2, 5, 0, 1, 0, 1, 0, 0, 9],
        ] {
            let wire = Wire(bad + record([], padding: 0), step: 100)
            var r = reader(raw: [], wire: wire)
            XCTAssertThrowsError(try readAll(&r, chunk: 64))
        }
    }
}
