import Synchronization

/// Page-aligned buffers of `pipelineBufferSize` bytes for bodies on their way into a zone, kept
/// for the next request. glibc maps an allocation of this size afresh for every request and
/// unmaps it after, so each PUT paid an mmap, a munmap and 64 page faults that zero 256 KiB:
/// about 5 % of the machine in a 1 MiB PUT load (perf). At most `keep` buffers wait here
/// (4 MiB), so a burst of large PUTs leaves no more than that behind. A buffer is zeroed when it
/// comes back: it may have held decrypted plaintext, which must not outlive its request
/// (`DecryptingReader` wipes its own buffer for the same reason); zeroing 256 KiB costs less
/// than the page faults it replaces.
final class BodyBuffers: Sendable {
    static let shared = BodyBuffers(keep: 16)

    let keep: Int
    /// Addresses of the free buffers (as integers: a pointer is not Sendable).
    private let free = Mutex<[UInt]>([])

    init(keep: Int) { self.keep = keep }

    /// A buffer of `pipelineBufferSize` bytes, aligned for direct I/O, holding no earlier
    /// request's bytes.
    func take() -> UnsafeMutableRawBufferPointer {
        if let address = free.withLock({ $0.popLast() }), let base = UnsafeMutableRawPointer(bitPattern: address) {
            return UnsafeMutableRawBufferPointer(start: base, count: pipelineBufferSize)
        }
        return UnsafeMutableRawBufferPointer.allocate(byteCount: pipelineBufferSize, alignment: 4096)
    }

    /// Returns a buffer from `take`; beyond `keep` waiting it is freed.
    func give(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count == pipelineBufferSize)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let address = UInt(bitPattern: buffer.baseAddress)
        let kept = free.withLock { list in
            // Given twice, one buffer would serve two requests at once.
            precondition(!list.contains(address), "a body buffer was given back twice")
            guard list.count < keep else { return false }
            list.append(address)
            return true
        }
        if !kept { buffer.deallocate() }
    }

    var waiting: Int { free.withLock { $0.count } }
}
