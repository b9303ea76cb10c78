import GatewayCore
import XCTest

@testable import SigV4

/// The example credentials every AWS SigV4 document uses.
let exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
let exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
/// 20130524T000000Z, the timestamp of all AWS S3 SigV4 examples.
let exampleNow: Double = 1_369_353_600

struct StaticCredentials: CredentialLookup {
    var keys: [String: String] = [exampleAccessKey: exampleSecret]
    func secretKey(forAccessKey key: String) -> String? { keys[key] }
}

let exampleVerifier = Verifier(credentials: StaticCredentials())

/// Hands out at most `step` bytes per read, so parsers see every possible split point.
final class TrickleSource: ByteSource {
    private let bytes: [UInt8]
    private let step: Int
    private var offset = 0
    init(_ bytes: [UInt8], step: Int) {
        self.bytes = bytes
        self.step = step
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(step, buffer.count, bytes.count - offset)
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }
}

/// Reads a body to EOF with a small buffer, as a handler streaming to a backend would.
func drain(_ body: VerifiedBody, bufferSize: Int = 4096) throws -> [UInt8] {
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: bufferSize)
    while true {
        let n = try buf.withUnsafeMutableBytes { try body.read(into: $0) }
        if n == 0 { return out }
        out.append(contentsOf: buf[0..<n])
    }
}

func authCode(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let e as S3Error {
        return e.code.code
    } catch {
        return "unexpected: \(error)"
    }
}

func assertS3Error(
    _ code: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) {
    XCTAssertEqual(authCode(body), code, file: file, line: line)
}

func head(_ method: String, _ uri: String, _ headers: [(String, String)]) -> RequestHead {
    RequestHead(method: method, rawURI: uri, headers: headers.map { (name: $0.0, value: $0.1) })
}
