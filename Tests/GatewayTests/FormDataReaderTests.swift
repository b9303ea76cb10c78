import GatewayCore
import XCTest

@testable import Gateway

final class FormDataReaderTests: XCTestCase {
    /// Hands out at most `step` bytes per read, so boundaries straddle reads.
    final class Trickle: ByteSource {
        let bytes: [UInt8]
        let step: Int
        var offset = 0
        init(_ bytes: [UInt8], step: Int) {
            self.bytes = bytes
            self.step = step
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = min(step, buffer.count, bytes.count - offset)
            for i in 0..<n { buffer[i] = bytes[offset + i] }
            offset += n
            return n
        }
    }

    func body(_ file: [UInt8], boundary: String = "XyZ") -> [UInt8] {
        var b = Array(
            "preamble\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n"
                .utf8)
        b += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\nabc\r\n".utf8)
        b += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.bin\"\r\nContent-Type: application/x\r\n\r\n"
                .utf8)
        b += file
        b += Array("\r\n--\(boundary)--\r\n".utf8)
        return b
    }

    func testFieldsThenStreamedFileAtEverySplit() throws {
        // A file that contains near-delimiters must come back exactly.
        let file = Array("head\r\n--XynoZ\r\n-XyZ\r\n--Xy".utf8) + (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        for step in [1, 2, 7, 64, 100_000] {
            let r = FormDataReader(source: Trickle(body(file), step: step), boundary: "XyZ")
            var fields: [String: String] = [:]
            var got: [UInt8] = []
            while let part = try r.nextPart() {
                if part.name == "file" {
                    XCTAssertEqual(part.filename, "a b.bin")
                    XCTAssertEqual(part.contentType, "application/x")
                    let sink = MemorySink()
                    _ = try pump(r.body(), into: sink, bufferSize: 13)
                    got = sink.bytes
                } else {
                    fields[part.name] = String(decoding: try r.readField(limit: 1024), as: UTF8.self)
                }
            }
            XCTAssertEqual(fields, ["key": "uploads/${filename}", "policy": "abc"], "step \(step)")
            XCTAssertEqual(got, file, "step \(step)")
        }
    }

    func testTruncatedAndMalformedBodiesAreErrors() {
        var truncated = body(Array(repeating: 7, count: 100))
        truncated.removeLast(12)
        let r = FormDataReader(source: MemorySource(truncated), boundary: "XyZ")
        XCTAssertThrowsError(
            try {
                while let p = try r.nextPart() {
                    if p.name == "file" {
                        _ = try pump(r.body(), into: MemorySink())
                    } else {
                        _ = try r.readField(limit: 100)
                    }
                }
            }())
        let noHeaders = FormDataReader(source: MemorySource("--XyZ\r\nbroken\r\n\r\nx\r\n--XyZ--"), boundary: "XyZ")
        XCTAssertThrowsError(try noHeaders.nextPart())
        let big = FormDataReader(source: MemorySource(body([])), boundary: "XyZ")
        _ = try? big.nextPart()
        XCTAssertThrowsError(try big.readField(limit: 3))
    }

    func testBoundaryParameter() {
        XCTAssertEqual(FormDataReader.boundary(contentType: "multipart/form-data; boundary=----abc"), "----abc")
        XCTAssertEqual(
            FormDataReader.boundary(contentType: "Multipart/Form-Data; charset=utf-8; boundary=\"q r\""), "q r")
        XCTAssertNil(FormDataReader.boundary(contentType: "application/json"))
        XCTAssertNil(FormDataReader.boundary(contentType: "multipart/form-data"))
    }
}
