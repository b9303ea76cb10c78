import GatewayCore

/// Streams a source into a sink with one reused buffer. Each read is passed on as it comes
/// (an answer's bytes go out as they arrive), or with `wholeBuffers` only full buffers and the
/// last: a zone's direct writes then take every buffer as it is, with no staging copy.
@discardableResult
func pump(
    _ source: any ByteSource, into sink: any ByteSink, bufferSize: Int = BodyBuffers.size, wholeBuffers: Bool = false
) throws -> Int64 {
    let buffer = BodyBuffers.shared.take(bufferSize)
    // A read that threw may have written bytes it never returned: then all of it is wiped.
    var used = buffer.count
    defer { BodyBuffers.shared.give(buffer, used: used) }
    var most = 0
    var total: Int64 = 0
    while true {
        let (n, ended) = wholeBuffers ? try fill(buffer, from: source) : (try source.read(into: buffer), false)
        most = max(most, n)
        if n > 0 { try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
        total += Int64(n)
        if n == 0 || ended {
            used = most
            return total
        }
    }
}
