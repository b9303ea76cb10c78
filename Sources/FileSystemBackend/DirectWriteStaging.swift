/// The alignment O_DIRECT needs: 4 KiB covers every device's logical block.
let directBlock = 4096

/// Bytes of a direct-I/O blob that do not yet make whole blocks, in block-aligned memory
/// allocated on first use (the pipelined pump's aligned buffers never need it but for the end).
final class DirectWriteStaging {
    private var memory: UnsafeMutableRawBufferPointer?
    private var count = 0
    private let capacity: Int

    init(capacity: Int = 256 * 1024) { self.capacity = capacity }

    deinit { memory?.deallocate() }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == capacity }
    var bytes: UnsafeRawBufferPointer {
        guard let memory else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: memory[..<count])
    }

    /// Copies as much of `bytes` as fits; returns how much that was.
    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let buffer = memory ?? UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: directBlock)
        memory = buffer
        let n = min(bytes.count, capacity - count)
        if n > 0 { (buffer.baseAddress! + count).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        count += n
        return n
    }

    func clear() { count = 0 }
}
