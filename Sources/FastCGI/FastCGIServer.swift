internal import CFastCGI
import Foundation
import GatewayCore
import Synchronization

/// The accept loop of one worker process: `threads` threads each blocking in FCGX_Accept_r on
/// the listening socket inherited as fd 0 (the FastCGI convention).
public final class FastCGIServer: Sendable {
    public typealias Handler = @Sendable (FastCGIExchange) -> Void

    private let threads: Int
    private let listenFD: Int32
    /// Requests accepted but not yet finished; a draining worker exits when this reaches zero.
    public let inFlight = Atomic<Int>(0)
    /// Failed accepts since start (a persistent failure shows here, and in the backoff).
    public let acceptFailures = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)

    public init(threads: Int, listenFD: Int32 = 0) {
        self.threads = max(1, threads)
        self.listenFD = listenFD
        FCGX_Init()
    }

    /// Starts the accept threads and returns; they run for the life of the process.
    public func start(_ handler: @escaping Handler) {
        for i in 0..<threads {
            let t = Thread { [self] in self.acceptLoop(handler) }
            t.name = "fcgi-\(i)"
            // Deep call stacks are not expected; 1 MiB (not the 8 MiB default) keeps many threads cheap.
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Stops taking new work after the current requests (best effort: a thread already inside
    /// accept() may still take one more, which it then serves).
    public func beginDrain() { draining.store(true, ordering: .relaxed) }
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    private func acceptLoop(_ handler: Handler) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        FCGX_InitRequest(request, listenFD, 0)
        var backoff = AcceptBackoff()
        while true {
            // A thread done with its request takes no new one once the worker drains.
            if isDraining { return }
            let rc = FCGX_Accept_r(request)
            if rc < 0 {
                if isDraining { return }
                // A transient failure (EINTR, a reset connection) passes; a persistent one
                // (EMFILE, a broken socket) must not spin a core, so each retry waits longer.
                acceptFailures.add(1, ordering: .relaxed)
                usleep(UInt32(backoff.failed() * 1_000_000))
                continue
            }
            backoff.succeeded()
            inFlight.add(1, ordering: .relaxed)
            let exchange = FastCGIExchange(request: request)
            handler(exchange)
            exchange.finish()
            FCGX_Finish_r(request)
            inFlight.subtract(1, ordering: .relaxed)
        }
    }
}

/// One request/response over FastCGI. Params are copied into Swift strings at once (libfcgi
/// reuses the envp array): header values (HTTP_*, CONTENT_TYPE) byte for byte as `HeaderBytes`,
/// the rest as UTF-8. The body is read straight from the FastCGI stdin stream.
public final class FastCGIExchange: ByteSource, ResponseSink {
    private let request: UnsafeMutablePointer<FCGX_Request>
    public let params: [String: String]
    private var headSent = false
    /// Our own reader of the rest of stdin, once a large read took it over from libfcgi.
    private var stdin: StdinRecordReader?
    private var stdinTried = false
    private var inputFailed = false
    public private(set) var failed = false

    init(request: UnsafeMutablePointer<FCGX_Request>) {
        self.request = request
        var p: [String: String] = [:]
        p.reserveCapacity(48)
        if var env = request.pointee.envp {
            while let entry = env.pointee {
                let bytes = UnsafeBufferPointer(
                    start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))
                if let eq = bytes.firstIndex(of: UInt8(ascii: "=")) {
                    let name = UnsafeBufferPointer(rebasing: bytes[..<eq])
                    let raw = UnsafeBufferPointer(rebasing: bytes[(eq + 1)...])
                    // Most values are ASCII, which reads the same as UTF-8 or as header bytes: one
                    // scan, then a plain copy; only the rest goes through `HeaderBytes`.
                    let value =
                        Self.isHeaderParam(name) && !HeaderBytes.isASCII(raw)
                        ? HeaderBytes.decode(Array(raw)) : String(decoding: raw, as: UTF8.self)
                    p[String(decoding: name, as: UTF8.self)] = value
                }
                env += 1
            }
        }
        params = p
    }

    /// HTTP_* and CONTENT_TYPE carry header values: bytes, not text (`HeaderBytes`).
    static func isHeaderParam(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        ByteSearch.hasPrefix(name, "HTTP_") || ByteSearch.equals(name, "CONTENT_TYPE")
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        // A failed stream stays failed (as libfcgi's does): no second try on the socket, which
        // could wait for bytes that never come.
        if inputFailed { throw FastCGIError.streamFailed }
        do {
            return try readInput(into: buffer)
        } catch {
            inputFailed = true
            throw error
        }
    }

    private func readInput(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if stdin == nil && !stdinTried && buffer.count >= directReadThreshold {
            stdinTried = true
            stdin = takeOverStdin()
        }
        if stdin != nil { return try stdin!.read(into: buffer) }
        let want = Int32(min(buffer.count, Int(Int32.max)))
        let n = FCGX_GetStr(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), want, request.pointee.in)
        // A dropped connection ends the stream early with an error set: never a clean EOF, or a
        // chunked upload cut short would be stored truncated.
        if n < 0 || (n == 0 && FCGX_GetError(request.pointee.in) != 0) { throw FastCGIError.streamFailed }
        return Int(n)
    }

    /// Hands the rest of stdin to a `StdinRecordReader`, starting from what libfcgi buffered;
    /// nil (libfcgi keeps reading) when its state cannot be taken over or already failed.
    private func takeOverStdin() -> StdinRecordReader? {
        var content: UnsafeMutablePointer<UInt8>?
        var raw: UnsafeMutablePointer<UInt8>?
        var contentCount: Int32 = 0
        var rawCount: Int32 = 0
        var contentLeft: Int32 = 0
        var paddingLeft: Int32 = 0
        var closed: Int32 = 0
        guard FCGX_GetError(request.pointee.in) == 0,
            s3gw_fcgx_stdin_state(
                request, &content, &contentCount, &raw, &rawCount, &contentLeft, &paddingLeft, &closed) == 0
        else { return nil }
        let pending = content.map { Array(UnsafeBufferPointer(start: $0, count: Int(contentCount))) } ?? []
        let buffered = raw.map { Array(UnsafeBufferPointer(start: $0, count: Int(rawCount))) } ?? []
        s3gw_fcgx_stdin_release(request)
        let fd = request.pointee.ipcFd
        return StdinRecordReader(
            requestID: UInt16(truncatingIfNeeded: request.pointee.requestId), pending: pending, raw: buffered,
            contentLeft: Int(contentLeft), paddingLeft: Int(paddingLeft), ended: closed != 0
        ) { first, second in
            var iov = [
                iovec(iov_base: first.baseAddress, iov_len: first.count),
                iovec(iov_base: second.baseAddress, iov_len: second.count),
            ]
            do {
                return try systemCall("readv") { Glibc.readv(fd, &iov, second.count > 0 ? 2 : 1) }
            } catch {
                throw FastCGIError.streamFailed
            }
        }
    }

    public func sendHead(status: Int, headers: [Header]) throws {
        precondition(!headSent)
        headSent = true
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        bytes += "Status: \(status) \(reasonPhrase(status))\r\n".utf8
        for h in headers {
            bytes += h.name.utf8
            bytes.append(UInt8(ascii: ":"))
            bytes.append(UInt8(ascii: " "))
            // Values go out byte for byte (HeaderBytes). Header injection guard: never a CR or LF
            // byte (they came from metadata). ASCII values are their own bytes, copied as is.
            let plain =
                h.value.utf8.withContiguousStorageIfAvailable {
                    HeaderBytes.isASCII($0) && !$0.contains(0x0D) && !$0.contains(0x0A)
                } ?? false
            if plain {
                bytes += h.value.utf8
            } else {
                bytes += HeaderBytes.encode(h.value).filter { $0 != 0x0D && $0 != 0x0A }
            }
            bytes.append(0x0D)
            bytes.append(0x0A)
        }
        bytes.append(0x0D)
        bytes.append(0x0A)
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if bytes.count >= directWriteThreshold {
            try writeRecords(bytes)
            return
        }
        let n = FCGX_PutStr(
            bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count), request.pointee.out)
        if n != Int32(bytes.count) {
            failed = true
            throw FastCGIError.streamFailed
        }
    }

    /// Large bodies bypass libfcgi's 8 KiB stream buffer (one syscall and one copy per 8 KiB):
    /// after flushing what it buffered, whole FCGI_STDOUT records go out with one writev each.
    private func writeRecords(_ bytes: UnsafeRawBufferPointer) throws {
        if FCGX_FFlush(request.pointee.out) != 0 {
            failed = true
            throw FastCGIError.streamFailed
        }
        let fd = request.pointee.ipcFd
        let id = UInt16(truncatingIfNeeded: request.pointee.requestId)
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, 65535)
            // FCGI_Header: version 1, type FCGI_STDOUT (6), request id, content length, no padding.
            var header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
                1, 6, UInt8(id >> 8), UInt8(id & 0xff), UInt8(n >> 8), UInt8(n & 0xff), 0, 0
            )
            try withUnsafeMutableBytes(of: &header) { h in
                try writeFully(fd, h.baseAddress!, 8, bytes.baseAddress! + offset, n)
            }
            offset += n
        }
    }

    private func writeFully(_ fd: Int32, _ a: UnsafeMutableRawPointer, _ aLen: Int, _ b: UnsafeRawPointer, _ bLen: Int)
        throws
    {
        var iov = [
            iovec(iov_base: a, iov_len: aLen),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: b), iov_len: bLen),
        ]
        var remaining = aLen + bLen
        while remaining > 0 {
            let w: Int
            do {
                w = try systemCall("writev") { writev(fd, &iov, 2) }
            } catch {
                failed = true
                throw FastCGIError.streamFailed
            }
            remaining -= w
            var consumed = w
            for i in 0..<2 {
                let take = min(consumed, iov[i].iov_len)
                iov[i].iov_base = iov[i].iov_base.map { $0 + take }
                iov[i].iov_len -= take
                consumed -= take
            }
        }
    }

    func finish() {
        if !headSent {
            // A handler that wrote nothing still owes nginx a valid response.
            try? sendHead(status: 500, headers: [])
        }
    }
}

/// Writes at least this large skip libfcgi's buffer (see `writeRecords`).
let directWriteThreshold = 32 * 1024
/// The first read at least this large hands stdin to our own record reader (see `takeOverStdin`).
let directReadThreshold = 32 * 1024

public enum FastCGIError: Error {
    case streamFailed
}

func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 200: "OK"
    case 204: "No Content"
    case 206: "Partial Content"
    case 304: "Not Modified"
    case 400: "Bad Request"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 409: "Conflict"
    case 411: "Length Required"
    case 412: "Precondition Failed"
    case 416: "Requested Range Not Satisfiable"
    case 500: "Internal Server Error"
    case 501: "Not Implemented"
    case 503: "Service Unavailable"
    default: "Status"
    }
}
