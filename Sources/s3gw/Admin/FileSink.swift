import Foundation
import GatewayCore

/// Bytes to an open file, counted.
final class FileSink: ByteSink {
    let handle: FileHandle
    private(set) var written: Int64 = 0

    init(_ handle: FileHandle) { self.handle = handle }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try handle.write(contentsOf: Data(bytes))
        written += Int64(bytes.count)
    }
}
