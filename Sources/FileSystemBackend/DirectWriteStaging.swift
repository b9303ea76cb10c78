import GatewayCore

/// The alignment O_DIRECT needs: 4 KiB covers every device's logical block.
let directBlock = BodyBuffers.alignment

/// Bytes of a direct-I/O blob that do not yet make whole blocks, in a page-aligned buffer taken
/// from `BodyBuffers` on first use (the pumps' aligned buffers need it only for a body's end)
/// and given back with the writer.
final class DirectWriteStaging {
    private var memory: UnsafeMutableRawBufferPointer?
    private var count = 0
    /// The most `count` has been (what the buffer's wipe must cover).
    private var used = 0

    deinit { memory.map { BodyBuffers.shared.give($0, used: used) } }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == BodyBuffers.size }
    var bytes: UnsafeRawBufferPointer {
        guard let memory else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: memory[..<count])
    }

    /// Copies as much of `bytes` as fits; returns how much that was.
    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let buffer = memory ?? BodyBuffers.shared.take()
        memory = buffer
        let n = min(bytes.count, buffer.count - count)
        if n > 0 { (buffer.baseAddress! + count).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        count += n
        used = max(used, count)
        return n
    }

    func clear() { count = 0 }
}
