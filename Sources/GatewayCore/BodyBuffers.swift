import Synchronization

/// Buffers for bodies on their way into a zone or out to a client. Those of `size` bytes are
/// page-aligned (direct I/O takes them as they are) and kept for the next request: glibc maps an
/// allocation that large afresh for every request and unmaps it after, so each PUT paid an
/// mmap, a munmap and 64 page faults that zero 256 KiB, about 5 % of the machine in a 1 MiB PUT
/// load (perf). At most `keep` wait here (4 MiB), so a burst of large PUTs leaves no more than
/// that behind. Other sizes are plain allocations. A kept buffer is zeroed when it comes back,
/// as far as its user wrote in it: it may have held decrypted plaintext, which must not outlive
/// its request (`DecryptingReader` wipes its own buffer for the same reason). Only that far: a
/// 4 KiB PUT's wipe of all 256 KiB cost 262,000 instructions, more than a quarter of the request
/// (callgrind).
public final class BodyBuffers: Sendable {
    public static let shared = BodyBuffers(keep: 16)
    /// The size kept: the pumps' buffers and a direct write's staging.
    public static let size = 256 * 1024
    /// The alignment O_DIRECT needs: 4 KiB covers every device's logical block.
    public static let alignment = 4096

    public let keep: Int
    /// Addresses of the free buffers (as integers: a pointer is not Sendable).
    private let free = Mutex<[UInt]>([])

    public init(keep: Int) { self.keep = keep }

    /// A buffer of `byteCount` bytes; page-aligned from a page on. One of `size` holds no
    /// earlier request's bytes: a kept one was wiped, a fresh one is zeroed (the heap may hand
    /// out memory another part freed unwiped, which would then stay in the pool, since only
    /// what is written is wiped on return).
    public func take(_ byteCount: Int = size) -> UnsafeMutableRawBufferPointer {
        guard byteCount == Self.size else {
            return .allocate(byteCount: byteCount, alignment: byteCount >= Self.alignment ? Self.alignment : 16)
        }
        if let address = free.withLock({ $0.popLast() }), let base = UnsafeMutableRawPointer(bitPattern: address) {
            return UnsafeMutableRawBufferPointer(start: base, count: byteCount)
        }
        let fresh = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: Self.alignment)
        fresh.initializeMemory(as: UInt8.self, repeating: 0)
        return fresh
    }

    /// Returns a buffer from `take`, of which at most the first `used` bytes were written since
    /// (`ByteSource.read` writes only the bytes it returns; after a read that threw, pass the
    /// whole count): kept if it is of `size` and fewer than `keep` wait, else freed.
    public func give(_ buffer: UnsafeMutableRawBufferPointer, used: Int) {
        guard buffer.count == Self.size else { return buffer.deallocate() }
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(max(used, 0), buffer.count)])
            .initializeMemory(as: UInt8.self, repeating: 0)
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

    public var waiting: Int { free.withLock { $0.count } }
}
