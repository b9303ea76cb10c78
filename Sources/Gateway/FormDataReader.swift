import GatewayCore
import S3Protocol

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a multipart/form-data body part by part without holding it whole: small fields are
/// read into memory (bounded), the file part is handed out as a `ByteSource` that stops at the
/// next boundary. https://www.rfc-editor.org/rfc/rfc7578
final class FormDataReader {
    struct PartHead {
        var name: String
        var filename: String?
        var contentType: String?
    }

    private let source: any ByteSource
    /// "\r\n--boundary": every part ends with it (the stream is primed with "\r\n" so the first
    /// boundary line matches too).
    private let delimiter: [UInt8]
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var sourceDone = false
    private var finished = false
    /// Whether the current part's body has been read up to its delimiter.
    private var inBody = true

    static let malformed = S3Error(.malformedPOSTRequest)

    init(source: any ByteSource, boundary: String) {
        self.source = source
        delimiter = Array("\r\n--\(boundary)".utf8)
        buffer = [UInt8](repeating: 0, count: 256 * 1024)
        buffer[0] = 0x0D
        buffer[1] = 0x0A
        end = 2
    }

    /// The boundary parameter of a multipart/form-data Content-Type.
    static func boundary(contentType: String) -> String? {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2 && kv[0].lowercased() == "boundary" {
                let b =
                    kv[1].hasPrefix("\"") && kv[1].hasSuffix("\"") && kv[1].count >= 2
                    ? String(kv[1].dropFirst().dropLast()) : kv[1]
                return b.isEmpty || b.utf8.count > 70 ? nil : b
            }
        }
        return nil
    }

    /// Moves to the next part and returns its headers; nil after the closing boundary.
    func nextPart() throws -> PartHead? {
        if finished { return nil }
        // Skip what is left of the current part (or the preamble) up to its delimiter.
        if inBody {
            let sink = DiscardSink()
            _ = try pumpBody(into: sink)
        }
        // After a delimiter: "--" closes the body, "\r\n" starts a part.
        try ensure(2)
        if buffer[start] == 0x2D && buffer[start + 1] == 0x2D {
            finished = true
            return nil
        }
        // Transport padding (spaces, tabs) may precede the CRLF.
        while true {
            try ensure(1)
            if buffer[start] == 0x20 || buffer[start] == 0x09 { start += 1 } else { break }
        }
        try ensure(2)
        guard buffer[start] == 0x0D && buffer[start + 1] == 0x0A else { throw Self.malformed }
        start += 2
        let head = try readHeaders()
        inBody = true
        return head
    }

    /// The current part's body, at most `limit` bytes (form fields).
    func readField(limit: Int) throws -> [UInt8] {
        let sink = LimitedSink(limit: limit)
        _ = try pumpBody(into: sink)
        guard !sink.overflow else {
            throw S3Error(.invalidArgument, "A form field is larger than \(limit) bytes.")
        }
        return sink.bytes
    }

    /// The current part's body as a stream (the file).
    func body() -> any ByteSource { PartSource(reader: self) }

    /// Reads whatever follows, so nginx sees the whole request consumed.
    func drain() {
        while !sourceDone {
            start = 0
            end = 0
            if (try? fill()) == nil { return }
        }
    }

    // MARK: internals

    fileprivate func readBodyChunk(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        guard inBody else { return 0 }
        while true {
            if let i = find(delimiter, from: start, to: end) {
                let n = min(out.count, i - start)
                if n > 0 {
                    copy(n, into: out)
                    return n
                }
                start = i + delimiter.count
                inBody = false
                return 0
            }
            // Bytes that cannot begin a delimiter are safe to hand out.
            let safe = max(start, end - (delimiter.count - 1))
            if safe > start {
                let n = min(out.count, safe - start)
                copy(n, into: out)
                return n
            }
            if sourceDone { throw Self.malformed }
            try fill()
        }
    }

    private func pumpBody(into sink: any ByteSink) throws -> Int64 {
        try pump(PartSource(reader: self), into: sink, bufferSize: 64 * 1024)
    }

    private func copy(_ n: Int, into out: UnsafeMutableRawBufferPointer) {
        buffer.withUnsafeBytes { src in out.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n) }
        start += n
    }

    private func readHeaders() throws -> PartHead {
        let terminator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var i: Int?
        while true {
            i = find(terminator, from: start, to: end)
            if i != nil { break }
            if end - start > 8 * 1024 { throw Self.malformed }
            if sourceDone { throw Self.malformed }
            try fill()
        }
        let text = String(decoding: buffer[start..<i!], as: UTF8.self)
        start = i! + 4
        var head = PartHead(name: "", filename: nil, contentType: nil)
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { throw Self.malformed }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-type" { head.contentType = value }
            if name == "content-disposition" {
                for param in value.split(separator: ";").dropFirst() {
                    let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard kv.count == 2 else { continue }
                    var v = kv[1]
                    if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                    switch kv[0].lowercased() {
                    case "name": head.name = v
                    case "filename": head.filename = v
                    default: break
                    }
                }
            }
        }
        guard !head.name.isEmpty else { throw Self.malformed }
        return head
    }

    /// Makes at least `n` unread bytes available.
    private func ensure(_ n: Int) throws {
        while end - start < n {
            if sourceDone { throw Self.malformed }
            try fill()
        }
    }

    /// Compacts the buffer and reads more from the source.
    private func fill() throws {
        if start > 0 {
            buffer.withUnsafeMutableBytes { b in
                b.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: end - start)
            }
            end -= start
            start = 0
        }
        let n = try buffer.withUnsafeMutableBytes { b in
            try source.read(into: UnsafeMutableRawBufferPointer(rebasing: b[end...]))
        }
        if n == 0 { sourceDone = true }
        end += n
    }

    private func find(_ needle: [UInt8], from: Int, to: Int) -> Int? {
        guard to - from >= needle.count else { return nil }
        return buffer.withUnsafeBytes { hay in
            needle.withUnsafeBytes { n in
                ByteSearch.find(n, in: UnsafeRawBufferPointer(rebasing: hay[from..<to])).map { from + $0 }
            }
        }
    }
}

private final class PartSource: ByteSource {
    let reader: FormDataReader
    init(reader: FormDataReader) { self.reader = reader }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try reader.readBodyChunk(into: buffer) }
}

private final class DiscardSink: ByteSink {
    func write(_ bytes: UnsafeRawBufferPointer) throws {}
}

private final class LimitedSink: ByteSink {
    let limit: Int
    var bytes: [UInt8] = []
    var overflow = false
    init(limit: Int) { self.limit = limit }
    func write(_ b: UnsafeRawBufferPointer) throws {
        if bytes.count + b.count > limit {
            overflow = true
            return
        }
        bytes.append(contentsOf: b)
    }
}
