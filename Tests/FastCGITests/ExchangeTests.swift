import Foundation
import GatewayCore
import XCTest

@testable import FastCGI

/// A FastCGIServer on a real unix socket, driven by a minimal FastCGI client (what nginx does).
final class ExchangeTests: XCTestCase {
    static let socketPath = NSTemporaryDirectory() + "s3gw-fcgi-\(getpid()).sock"
    static let server: FastCGIServer = {
        unlink(socketPath)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(socketPath.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        listen(fd, 16)
        let server = FastCGIServer(threads: 2, listenFD: fd)
        server.start { exchange in
            // Echo: the params it saw, then the body, in one response.
            // X_READ: the read size (64 KiB and more: stdin goes to our own record reader).
            var body = [UInt8]()
            var buf = [UInt8](repeating: 0, count: exchange.params["X_READ"].flatMap { Int($0) } ?? 4096)
            var readFailed = false
            while true {
                do {
                    let n = try buf.withUnsafeMutableBytes { try exchange.read(into: $0) }
                    if n == 0 { break }
                    body += buf[0..<n]
                } catch {
                    readFailed = true
                    break
                }
            }
            let echo =
                Array("\(exchange.params["REQUEST_METHOD"] ?? "")|\(exchange.params["X_VALUE"] ?? "")|".utf8) + body
            try? exchange.sendHead(
                status: 201,
                headers: [
                    Header("X-Len", String(body.count)), Header("Bad", "a\r\nInjected: 1"),
                    Header("X-Read-Failed", readFailed ? "1" : "0"),
                    Header("X-Meta", exchange.params["HTTP_X_AMZ_META_A"] ?? ""),
                ])
            try? echo.withUnsafeBytes { try exchange.write($0) }
        }
        return server
    }()

    /// Sends one request; returns the concatenated FCGI_STDOUT bytes.
    func request(
        params: [(String, String)], body: [UInt8], recordSize: Int = 65535, padding: Int = 0, cutAt: Int? = nil
    ) throws -> [UInt8] {
        try request(
            rawParams: params.map { ($0.0, Array($0.1.utf8)) }, body: body, recordSize: recordSize, padding: padding,
            cutAt: cutAt)
    }

    /// `recordSize` and `padding` shape the FCGI_STDIN records; `cutAt` ends the connection's
    /// input after that many bytes of the whole request (a client gone mid-body).
    func request(
        rawParams params: [(String, [UInt8])], body: [UInt8], recordSize: Int = 65535, padding: Int = 0,
        cutAt: Int? = nil
    ) throws -> [UInt8] {
        _ = Self.server
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(Self.socketPath.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(rc, 0)
        func record(_ type: UInt8, _ content: [UInt8], padding: Int = 0) -> [UInt8] {
            [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), UInt8(padding), 0] + content
                + [UInt8](repeating: 0, count: padding)
        }
        func length(_ n: Int) -> [UInt8] {
            n < 128
                ? [UInt8(n)]
                : [UInt8(0x80 | (n >> 24)), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
        }
        var out = record(1, [0, 1, 0, 0, 0, 0, 0, 0])  // BEGIN_REQUEST, role responder
        var nv: [UInt8] = []
        for (k, v) in params { nv += length(k.utf8.count) + length(v.count) + Array(k.utf8) + v }
        out += record(4, nv) + record(4, [])
        var offset = 0
        while offset < body.count {
            let n = min(recordSize, body.count - offset)
            out += record(5, Array(body[offset..<offset + n]), padding: padding)
            offset += n
        }
        out += record(5, [])
        if let cutAt { out = Array(out[..<cutAt]) }
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + sent, $0.count - sent) }
            XCTAssertGreaterThan(n, 0)
            if n <= 0 { break }
            sent += n
        }
        if cutAt != nil { shutdown(fd, Int32(SHUT_WR)) }
        var input: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            input += buf[0..<n]
        }
        var stdout: [UInt8] = []
        var i = 0
        while i + 8 <= input.count {
            let len = Int(input[i + 4]) << 8 | Int(input[i + 5])
            let pad = Int(input[i + 6])
            if input[i + 1] == 6 { stdout += input[(i + 8)..<(i + 8 + len)] }
            if input[i + 1] == 3 { break }  // END_REQUEST
            i += 8 + len + pad
        }
        return stdout
    }

    func testParamsBodyAndHeadersTravelBothWays() throws {
        let out = try request(params: [("REQUEST_METHOD", "PUT"), ("X_VALUE", "ä b")], body: Array("hello".utf8))
        let text = String(decoding: out, as: UTF8.self)
        XCTAssert(text.hasPrefix("Status: 201 Created\r\n") || text.hasPrefix("Status: 201 "), text)
        XCTAssert(text.contains("X-Len: 5\r\n"), text)
        XCTAssertFalse(text.contains("\r\nInjected: 1"), "a header value smuggled a header line: \(text)")
        XCTAssert(text.hasSuffix("\r\n\r\nPUT|ä b|hello"), text)
    }

    /// Header values are bytes: a Latin-1 byte and a UTF-8 sequence come in as params and go
    /// back out in a response header unchanged (HeaderBytes), never re-encoded.
    func testHeaderValueBytesRoundTrip() throws {
        for value: [UInt8] in [[0x63, 0x61, 0x66, 0xE9], [0x63, 0x61, 0x66, 0xC3, 0xA9], Array("plain".utf8)] {
            let out = try request(
                rawParams: [("REQUEST_METHOD", Array("GET".utf8)), ("HTTP_X_AMZ_META_A", value)], body: [])
            let line = Array("\r\nX-Meta: ".utf8) + value + [0x0D, 0x0A]
            XCTAssert(
                (0...(out.count - line.count)).contains { Array(out[$0..<$0 + line.count]) == line },
                String(decoding: out, as: UTF8.self))
        }
    }

    func testLargeBodiesGoOutAsWholeRecordsIntact() throws {
        var body = [UInt8](repeating: 0, count: 300_000)
        for i in body.indices { body[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 9) }
        let out = try request(params: [("REQUEST_METHOD", "POST")], body: body)
        let marker = Array("\r\n\r\nPOST||".utf8)
        let start = try XCTUnwrap(
            (0...(out.count - marker.count)).first { Array(out[$0..<$0 + marker.count]) == marker })
        XCTAssertEqual(Array(out[(start + marker.count)...]), body)
    }

    /// Large reads take stdin over from libfcgi (after what it buffered): the body arrives whole
    /// whatever the record sizes and padding.
    func testLargeReadsGetTheWholeBodyFromOurRecordReader() throws {
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 10) }
        for (recordSize, padding) in [(65535, 0), (32768, 0), (8000, 5), (1, 7)] {
            let part = recordSize == 1 ? Array(body[..<3000]) : body
            let out = try request(
                params: [("REQUEST_METHOD", "PUT"), ("X_READ", "262144")], body: part, recordSize: recordSize,
                padding: padding)
            let marker = Array("\r\n\r\nPUT||".utf8)
            let start = try XCTUnwrap(
                (0...(out.count - marker.count)).first { Array(out[$0..<$0 + marker.count]) == marker })
            XCTAssertEqual(Array(out[(start + marker.count)...]), part, "records of \(recordSize), padding \(padding)")
            XCTAssert(String(decoding: out, as: UTF8.self).contains("X-Read-Failed: 0\r\n"))
        }
    }

    /// A client gone mid-body: the read throws (never a clean end of a short body), with either reader.
    func testACutConnectionFailsTheRead() throws {
        let body = [UInt8](repeating: 7, count: 200_000)
        for read in ["4096", "262144"] {
            for cut in [300, 70_000, 150_003] {
                let out = try request(
                    params: [("REQUEST_METHOD", "PUT"), ("X_READ", read)], body: body, recordSize: 32768, cutAt: cut)
                XCTAssert(
                    String(decoding: out, as: UTF8.self).contains("X-Read-Failed: 1\r\n"),
                    "read size \(read), cut at \(cut): \(String(decoding: out.prefix(300), as: UTF8.self))")
            }
        }
    }
}
