import GatewayCore

extension S3SourceClient {
    /// The headers S3 keeps with an object (besides x-amz-meta-*) that a copy carries over.
    static let storedHeaders: Set = [
        "cache-control", "content-disposition", "content-encoding", "content-language", "expires",
    ]

    /// GetObject, streaming: the answer's headers are read, the body is pulled as the caller
    /// reads it. The source's checksums are returned only when asked for.
    public func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        let operation = "GetObject \(bucket)"
        let answer = try send(
            Call(bucket: bucket, key: key, headers: [("x-amz-checksum-mode", "ENABLED")]), region: region)
        guard answer.status == 200 else { throw error(operation, answer, bucket: bucket, key: key) }
        guard let size = answer.header("content-length").flatMap({ Int64($0) }), size >= 0 else {
            answer.exchange.abort()
            throw .unreachable("\(operation) answered without a Content-Length")
        }
        return S3SourceObjectReader(
            exchange: answer.exchange, head: Self.head(answer.exchange, size: size), client: self)
    }

    /// What the answer says of the object, besides its bytes.
    static func head(_ exchange: any HTTPExchange, size: Int64) -> SourceObjectHead {
        var head = SourceObjectHead(
            size: size, etag: exchange.header("etag").map(unquotedETag) ?? "",
            lastModified: exchange.header("last-modified").flatMap(HTTPDate.parseHTTP).map(Double.init),
            contentType: exchange.header("content-type"))
        for (name, value) in exchange.responseHeaders {
            if storedHeaders.contains(name) || SourceObjectHead.encryptionHeaders.contains(name)
                || name.hasPrefix("x-amz-meta-")
            {
                // A repeated header is one value, as HTTP joins them.
                head.headers[name] = head.headers[name].map { $0 + ", " + value } ?? value
            } else if name.hasPrefix("x-amz-checksum-") {
                let algorithm = String(name.dropFirst("x-amz-checksum-".count))
                // x-amz-checksum-type says FULL_OBJECT or COMPOSITE: not a checksum.
                if algorithm != "type" && algorithm != "mode" { head.checksums[algorithm] = value }
            }
        }
        return head
    }
}

/// A source object's body, pulled from the source as the caller reads: memory stays at the
/// transport's bounded buffer whatever the size. A body shorter than its Content-Length is an
/// error, never a complete object.
final class S3SourceObjectReader: SourceObjectReader {
    let head: SourceObjectHead
    var size: Int64 { head.size }
    private let exchange: any HTTPExchange
    private let client: S3SourceClient
    private var remaining: Int64
    private var ended = false
    private var closed = false

    init(exchange: any HTTPExchange, head: SourceObjectHead, client: S3SourceClient) {
        self.exchange = exchange
        self.head = head
        self.client = client
        remaining = head.size
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if closed { throw SourceError.unreachable("the transfer was closed") }
        if ended { return 0 }
        let n: Int
        do {
            n = try exchange.read(into: buffer)
        } catch {
            close()
            throw client.transportError(error)
        }
        if n == 0 {
            ended = true
            if remaining > 0 { throw SourceError.unreachable("the object's body ended \(remaining) bytes early") }
            return 0
        }
        guard Int64(n) <= remaining else {
            close()
            throw SourceError.unreachable("the object's body is longer than its Content-Length")
        }
        remaining -= Int64(n)
        return n
    }

    /// Ends the transfer; a body not read to its end drops the connection.
    func close() {
        guard !closed else { return }
        closed = true
        if !ended { exchange.abort() }
    }
}
