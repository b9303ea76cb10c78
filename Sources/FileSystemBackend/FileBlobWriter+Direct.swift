import GatewayCore

#if canImport(CLinux)
    import CLinux
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Direct I/O for large blobs (`FileSystemZone.directWriteMinSize`). Through the page cache the
/// kernel copies every byte once more, and that copy cost as much CPU as the body's MD5: perf put
/// 35 % of a 1 GiB PUT's samples in copy_folio_from_iter_atomic, and dd of 1 GiB with fsync took
/// 1.3 s of system time buffered against 0.3 s with O_DIRECT. With O_DIRECT the disk reads the
/// writer's buffer itself.
///
/// O_DIRECT wants the buffer, the length and the file offset aligned to the device's blocks. The
/// pipelined pump's buffers (4 KiB-aligned, whole blocks) go to the disk as they are; anything
/// else (encrypted records, a body's last bytes) gathers in an aligned staging buffer first. The
/// last partial block goes through the page cache once O_DIRECT is cleared, and the fsync at
/// commit makes it, and the file's size, durable as for any blob. A filesystem that refuses a
/// direct write (EINVAL) gets the rest of the blob through the page cache.
extension FileBlobWriter {
    func writeDirect(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var rest = bytes
        if let staging = direct, staging.isEmpty, let base = rest.baseAddress,
            Int(bitPattern: base) % directBlock == 0
        {
            let whole = rest.count - rest.count % directBlock
            if whole > 0 {
                try writeBlocks(UnsafeRawBufferPointer(rebasing: rest[..<whole]))
                rest = UnsafeRawBufferPointer(rebasing: rest[whole...])
            }
        }
        while !rest.isEmpty, let staging = direct {
            // `staging.bytes` points into it: alive until written, whatever `direct` becomes.
            defer { withExtendedLifetime(staging) {} }
            let n = staging.append(rest)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if staging.isFull {
                try writeBlocks(staging.bytes)
                staging.clear()
            }
        }
        // Left over only once the filesystem refused direct writes.
        if !rest.isEmpty { try writeBuffered(rest) }
    }

    /// The staged whole blocks directly, then the last partial one through the page cache
    /// (also when writing the blocks fell back: they went buffered, the tail still has to).
    func finishDirect() throws(StoreError) {
        guard let staging = direct else { return }
        defer { withExtendedLifetime(staging) {} }  // `staged` points into it
        let staged = staging.bytes
        let whole = staged.count - staged.count % directBlock
        if whole > 0 { try writeBlocks(UnsafeRawBufferPointer(rebasing: staged[..<whole])) }
        if direct != nil { try stopDirect() }
        if whole < staged.count { try writeBuffered(UnsafeRawBufferPointer(rebasing: staged[whole...])) }
    }

    /// Whole blocks from an aligned buffer, bypassing the page cache.
    func writeBlocks(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = try syscall("write \(tmpPath)", tolerating: [EINVAL]) {
                Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            }
            if n < 0 {
                // This filesystem takes no direct writes (or a short write left the offset
                // unaligned): what remains, staged bytes included, goes through the page cache.
                written += Int64(done)
                try stopDirect()
                return try writeBuffered(UnsafeRawBufferPointer(rebasing: bytes[done...]))
            }
            done += n
        }
        written += Int64(bytes.count)
    }

    /// Clears O_DIRECT: the writes that follow go through the page cache.
    private func stopDirect() throws(StoreError) {
        #if canImport(CLinux)
            let (fd, path) = (self.fd, tmpPath)
            let flags = try syscall("fcntl \(path)") { fcntl(fd, F_GETFL) }
            try syscall("fcntl \(path)") { fcntl(fd, F_SETFL, flags & ~s3gw_o_direct()) }
        #endif
        direct = nil
    }
}
