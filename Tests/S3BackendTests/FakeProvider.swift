import GatewayCore
import GatewayTesting
import XCTest

@testable import S3Backend

/// A provider that answers from a script, in order, and records every request S3Zone sends
/// (head, body bytes, whether it was closed or aborted). It also holds S3Zone to the transport's
/// contract: no more body bytes than announced, and all of them before the body is closed.
final class FakeProvider: HTTPTransport, @unchecked Sendable {
    enum Answer: Sendable {
        case reply(Int, headers: [(String, String)] = [], body: String = "")
        /// Connection refused: the exchange fails as curl does, when it is driven.
        case unreachable
        /// Accepted, and then nothing: the response bound runs out, as CurlTransfer reports it
        /// (CurlTimeoutTests shows the real transport doing so against a real socket).
        case hang
        /// Status, headers and the start of a body, then nothing: the stall bound runs out.
        case stall(Int, headers: [(String, String)] = [], body: String)
    }

    final class Exchange: HTTPExchange {
        let request: HTTPRequest
        let answer: Answer
        private(set) var body: [UInt8] = []
        private(set) var closed = false
        private(set) var aborted = false
        private var responseOffset = 0

        init(request: HTTPRequest, answer: Answer) {
            self.request = request
            self.answer = answer
        }

        var method: String { request.method }
        /// Path and query as sent, e.g. "/bucket/key?uploads".
        var uri: String {
            let afterScheme = request.url.range(of: "://")!.upperBound
            let slash = request.url[afterScheme...].firstIndex(of: "/")!
            return String(request.url[slash...])
        }
        func header(request name: String) -> String? { request.header(name) }

        private var responseBody: [UInt8] {
            switch answer {
            case .reply(_, _, let body), .stall(_, _, let body): return Array(body.utf8)
            default: return []
            }
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            if case .unreachable = answer { throw StoreError.zoneUnavailable("Couldn't connect to server") }
            guard !closed else { throw StoreError.internalFailure("fake: body written after close") }
            body.append(contentsOf: bytes)
            guard Int64(body.count) <= request.bodyLength ?? 0 else {
                throw StoreError.internalFailure("fake: body longer than announced")
            }
        }

        func closeUpload() throws {
            closed = true
            guard Int64(body.count) == request.bodyLength ?? 0 else {
                throw StoreError.internalFailure(
                    "fake: body is \(body.count) bytes, announced \(request.bodyLength ?? 0)")
            }
        }

        func waitForResponse() throws -> Int {
            switch answer {
            case .unreachable: throw StoreError.zoneUnavailable("Couldn't connect to server")
            case .hang:
                throw ProviderTimeout(
                    description: "no response headers within \(request.timeouts.response.seconds) of the request")
            case .reply(let status, _, _), .stall(let status, _, _): return status
            }
        }

        func header(_ name: String) -> String? {
            switch answer {
            case .reply(_, let headers, _), .stall(_, let headers, _):
                return headers.first { $0.0.lowercased() == name }?.1
            default: return nil
            }
        }

        var responseHeaders: [(String, String)] {
            switch answer {
            case .reply(_, let headers, _), .stall(_, let headers, _): return headers.map { ($0.0.lowercased(), $0.1) }
            default: return []
            }
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if case .unreachable = answer { throw StoreError.zoneUnavailable("Couldn't connect to server") }
            let bytes = responseBody
            if case .stall = answer, responseOffset == bytes.count {
                throw ProviderTimeout(
                    description: "the response body stalled: no byte came for \(request.timeouts.stall.seconds)")
            }
            let n = min(buffer.count, bytes.count - responseOffset)
            bytes.withUnsafeBytes {
                buffer.baseAddress!.copyMemory(from: $0.baseAddress! + responseOffset, byteCount: n)
            }
            responseOffset += n
            return n
        }

        func abort() { aborted = true }
    }

    private var script: [Answer]
    private(set) var exchanges: [Exchange] = []

    init(_ script: [Answer] = []) { self.script = script }

    func answer(_ more: Answer...) { script += more }

    /// Answers not used by the requests so far (a test expecting fewer requests checks this).
    var unused: Int { script.count }

    func start(_ request: HTTPRequest) throws(StoreError) -> any HTTPExchange {
        guard !script.isEmpty else {
            throw .internalFailure("fake: no answer scripted for \(request.method) \(request.url)")
        }
        let exchange = Exchange(request: request, answer: script.removeFirst())
        exchanges.append(exchange)
        return exchange
    }

    /// "METHOD /path?query" of every request, in order.
    var sent: [String] { exchanges.map { "\($0.method) \($0.uri)" } }
}

// MARK: - fixtures

let exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
let exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
/// 20130524T000000Z, the timestamp of AWS's SigV4 examples.
let exampleNow: Double = 1_369_353_600
/// A backend bucket as the gateway names them ("s3gw-" + hex of a keyed hash).
let backendBucket = "s3gw-5d41402abc4b2a76b9719d911017c592"
let blobId = "0123456789abcdef0123456789abcdef"

func makeZone(
    _ provider: FakeProvider, pathStyle: Bool = true, region: String = "fi-hel", storageClass: String? = nil,
    payloadSigning: Bool = false, timeouts: ZoneTimeouts = ZoneTimeouts()
) throws -> S3Zone {
    try S3Zone(
        S3Zone.Config(
            name: "fi-hel-st-1", endpoint: "https://objects.example.net", region: region,
            accessKey: exampleAccessKey, secretKey: exampleSecret, pathStyle: pathStyle, storageClass: storageClass,
            payloadSigning: payloadSigning, timeouts: timeouts),
        transport: provider, clock: FixedClock(exampleNow), retryPause: 0)
}

func errorDocument(_ code: String, _ message: String = "provider says no") -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>\(message)</Message></Error>"
}

/// The StoreError `body` throws, or nil.
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch let e as StoreError {
        return e
    } catch {
        return .internalFailure("not a StoreError: \(error)")
    }
}

/// Reads a blob to its end.
func readAll(_ reader: any BlobReader) throws -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
        if n == 0 { return out }
        out.append(contentsOf: buffer[0..<n])
    }
}

extension BlobWriter {
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
}
