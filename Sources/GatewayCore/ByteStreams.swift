/// A pull-based source of request bytes (the FastCGI stdin, a file, a decoder wrapped around
/// another source). Bodies are always streamed through these; nothing holds a whole body.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into the buffer's start, writing none of it past the
    /// count returned (a buffer's wipe relies on it: `BodyBuffers.give`); returns 0 only at end
    /// of stream. Throws on a broken stream (client went away, bad framing, digest mismatch
    /// detected at the end); a read that throws may have written anything.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A push-based sink for response bytes (the FastCGI stdout, a file being written).
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSource {
    /// Reads the whole remaining stream, refusing more than `limit` bytes. Only for small
    /// control bodies (XML configuration), never for object data.
    public func readAll(limit: Int) throws -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            if out.count + n > limit { return nil }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// A source over bytes already in memory (small bodies, tests).
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public convenience init(_ string: String) { self.init(Array(string.utf8)) }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}

/// A sink that collects bytes in memory (tests, small XML responses).
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
}

/// Where a handler sends its response: the status line and headers once, then body bytes.
public protocol ResponseSink: ByteSink {
    func sendHead(status: Int, headers: [Header]) throws
}
