internal import CZlib
import GatewayCore

/// A streaming gzip writer: bytes written to it leave, compressed, for another sink in chunks of
/// at most `chunkSize` bytes, so a snapshot of any size is gzipped as it is written (a `.json.gz`
/// download) with memory bounded by this chunk and zlib's own state (some 256 KiB). `finish()`
/// writes the end of the deflate stream and the gzip trailer (CRC-32 and length); without it
/// the output is not a complete gzip file.
public final class GzipSink: ByteSink {
    private let output: any ByteSink
    /// zlib keeps a pointer back to its z_stream, so the struct lives at one address.
    private let stream: UnsafeMutablePointer<z_stream>
    private var chunk: [UInt8]
    private var finished = false
    private var ended = false

    /// `level` is zlib's: 1 (fastest) … 9 (smallest), 6 by default.
    public init(into output: any ByteSink, level: Int = 6, chunkSize: Int = 64 << 10) throws(GzipError) {
        precondition((1...9).contains(level) && chunkSize > 0)
        self.output = output
        chunk = [UInt8](repeating: 0, count: chunkSize)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        do {
            try Self.check(czlib_deflate_init_gzip(stream, Int32(level)), "deflateInit2")
        } catch {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw error
        }
    }

    deinit {
        if !ended { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw GzipError(call: "write", code: Z_STREAM_ERROR, detail: "after finish") }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        // zlib only reads from next_in, whatever its C type says.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = 0
        var rest = bytes.count
        // avail_in is 32-bit: hand a huge buffer over in slices.
        while rest > 0 {
            let slice = min(rest, Int(UInt32.max / 2))
            stream.pointee.avail_in = uInt(slice)
            rest -= slice
            try deflateAll(flush: Z_NO_FLUSH)
        }
        stream.pointee.next_in = nil
    }

    /// Writes the rest of the compressed stream and the gzip trailer. Writing after it fails.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        stream.pointee.avail_in = 0
        try deflateAll(flush: Z_FINISH)
        deflateEnd(stream)
        ended = true
    }

    /// Runs deflate until it has taken all input (and, finishing, written its end), passing
    /// every full chunk on at once.
    private func deflateAll(flush: Int32) throws {
        while true {
            let status = chunk.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = uInt(out.count)
                return deflate(stream, flush)
            }
            // Z_BUF_ERROR only says no progress was possible this round: not an error here.
            if status != Z_BUF_ERROR { try Self.check(status, "deflate") }
            let produced = chunk.count - Int(stream.pointee.avail_out)
            if produced > 0 { try chunk[0..<produced].withUnsafeBytes { try output.write($0) } }
            if flush == Z_FINISH {
                if status == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                return
            }
        }
    }

    /// The one place a zlib status becomes an error.
    private static func check(_ status: Int32, _ call: String) throws(GzipError) {
        guard status == Z_OK || status == Z_STREAM_END else { throw GzipError(call: call, code: status) }
    }
}

/// A zlib call that failed: the call, zlib's status code and its name.
public struct GzipError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let code: Int32
    public var detail: String = ""

    public var description: String {
        let name =
            switch code {
            case Z_STREAM_ERROR: "Z_STREAM_ERROR"
            case Z_DATA_ERROR: "Z_DATA_ERROR"
            case Z_MEM_ERROR: "Z_MEM_ERROR"
            case Z_BUF_ERROR: "Z_BUF_ERROR"
            case Z_VERSION_ERROR: "Z_VERSION_ERROR"
            default: "zlib status \(code)"
            }
        return "\(call) failed: \(name)" + (detail.isEmpty ? "" : " (\(detail))")
    }
}
