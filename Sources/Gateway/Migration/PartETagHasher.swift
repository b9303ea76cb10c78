import SigV4

/// The multipart ETag of a byte stream cut into parts of one size.
struct PartETagHasher {
    let partSize: Int64
    private var current = Digest(.md5)
    private var inPart: Int64 = 0
    private var partDigests: [UInt8] = []
    private var parts = 0

    init(partSize: Int64) { self.partSize = partSize }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            let take = Int(min(Int64(rest.count), partSize - inPart))
            current.update(UnsafeRawBufferPointer(rebasing: rest[0..<take]))
            inPart += Int64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if inPart == partSize { closePart() }
        }
    }

    private mutating func closePart() {
        partDigests += current.finalize()
        current = Digest(.md5)
        inPart = 0
        parts += 1
    }

    mutating func finalize() -> String {
        if inPart > 0 || parts == 0 { closePart() }
        return hexEncode(Digest.hash(.md5, partDigests)) + "-\(parts)"
    }
}
