import GatewayCore

/// Streams a source into a sink with one reused buffer.
@discardableResult
func pump(_ source: any ByteSource, into sink: any ByteSink, bufferSize: Int = 256 * 1024) throws -> Int64 {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    defer { buffer.deallocate() }
    var total: Int64 = 0
    while true {
        let n = try source.read(into: buffer)
        if n == 0 { return total }
        try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        total += Int64(n)
    }
}
