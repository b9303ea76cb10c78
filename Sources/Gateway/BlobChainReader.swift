import GatewayCore

/// Reads `length` bytes from `offset` of an object stored as consecutive blobs (one for a
/// simple PUT, one per part for a completed multipart upload), opening each blob only when
/// the read reaches it.
final class BlobChainReader: ByteSource {
    private let zone: any StorageZone
    private let backendBucket: String
    private var pending: [(blob: String, offset: Int64, length: Int64)] = []
    private var current: (any BlobReader)?

    /// Opens the first blob at once, so a zone that is down fails the request before any
    /// response header is sent (a clean 503 instead of a truncated 200).
    init(zone: any StorageZone, backendBucket: String, parts: [BlobPart], offset: Int64, length: Int64) throws {
        self.zone = zone
        self.backendBucket = backendBucket
        var start: Int64 = 0
        let end = offset + length
        for p in parts {
            let from = max(offset, start)
            let to = min(end, start + p.size)
            if to > from { pending.append((p.blob, from - start, to - from)) }
            start += p.size
        }
        pending.reverse()
        if let first = pending.popLast() {
            current = try zone.open(
                backendBucket: backendBucket, blob: first.blob, offset: first.offset, length: first.length)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if let c = current {
                let n = try c.read(into: buffer)
                if n > 0 { return n }
                current = nil
            }
            guard let next = pending.popLast() else { return 0 }
            current = try zone.open(
                backendBucket: backendBucket, blob: next.blob, offset: next.offset, length: next.length)
        }
    }
}
