import GatewayCore
import SigV4

/// A source object's bytes on their way into the gateway's write path, checked as they pass:
/// the count against the size the source announced, the MD5 against a plain ETag (a mismatch
/// throws before the write path sees the end, so nothing is committed), a multipart ETag
/// against the likely part sizes. An ETag that is no digest of the bytes (SSE-KMS, SSE-C) is not
/// compared: a full-object checksum or the size is all there is. At the end, before the write
/// path may commit, `atEnd` learns the outcome (the run records the copy there, so a crash right
/// after the commit loses nothing).
final class VerifyingSource: ByteSource {
    private let reader: any SourceObjectReader
    private let size: Int64
    private let etag: String
    /// False when the source's ETag is no digest of the bytes (`SourceObjectHead.etagHidingEncryption`).
    private let etagIsDigest: Bool
    /// The source's full-object checksum, checked by the write path or (`hashing`) here.
    private let checksum: ChecksumAlgorithm?
    /// A checksum the write path cannot check (a SHA in a multipart upload): computed from the
    /// bytes as they pass and compared at the end.
    private let hasher: (hasher: ChecksumHasher, value: String)?
    private let cancelled: @Sendable () -> Bool
    /// The bytes' hex MD5 for `atEnd` (empty when not computed).
    private let atEnd: (_ verification: CopyVerification, _ md5Hex: String) throws -> Void
    /// Nil when nobody reads the MD5: a multipart copy (the gateway hashes its parts itself)
    /// whose ETag is no plain MD5 to compare with.
    private var md5: Digest?
    private var candidates: [PartETagHasher]
    private var count: Int64 = 0
    private var finished = false
    /// Bytes read so far (the run's progress counts them as they move).
    let progress: (Int) -> Void

    init(
        reader: any SourceObjectReader, size: Int64, etag: String, etagIsDigest: Bool = true,
        checksum: ChecksumAlgorithm?, hashing: (algorithm: ChecksumAlgorithm, value: String)? = nil,
        cancelled: @escaping @Sendable () -> Bool, progress: @escaping (Int) -> Void = { _ in },
        wantsMD5: Bool = true, atEnd: @escaping (CopyVerification, String) throws -> Void
    ) {
        md5 = wantsMD5 || (etagIsDigest && SourceETag.isPlainMD5(etag)) ? Digest(.md5) : nil
        self.reader = reader
        self.size = size
        self.etag = etag
        self.etagIsDigest = etagIsDigest
        self.checksum = checksum
        hasher = hashing.map { ($0.algorithm.makeHasher(), $0.value) }
        self.cancelled = cancelled
        self.progress = progress
        self.atEnd = atEnd
        candidates =
            (etagIsDigest ? SourceETag.partCount(etag) : nil).map {
                SourceETag.partSizeCandidates(size: size, parts: $0).map { PartETagHasher(partSize: $0) }
            } ?? []
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if finished || buffer.count == 0 { return 0 }
        if cancelled() { throw CopyFailure.cancelled }
        let n = try reader.read(into: buffer)
        if n > 0 {
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            md5?.update(bytes)
            hasher?.hasher.update(bytes)
            for i in candidates.indices { candidates[i].update(bytes) }
            count += Int64(n)
            if count > size { throw CopyFailure.mismatch("the source sent more than its \(size) bytes") }
            progress(n)
            return n
        }
        guard count == size else {
            throw CopyFailure.mismatch("the source sent \(count) of its \(size) bytes")
        }
        let md5Hex =
            md5.map {
                var d = $0
                return hexEncode(d.finalize())
            } ?? ""
        if let (h, value) = hasher, base64Encode(h.finalize()) != value {
            throw CopyFailure.mismatch(
                "the \(h.algorithm.rawValue) checksum of the bytes read is not the source's: the bytes changed on the way"
            )
        }
        let verification: CopyVerification
        if etagIsDigest && SourceETag.isPlainMD5(etag) {
            guard md5Hex == etag else {
                throw CopyFailure.mismatch(
                    "the MD5 of the bytes read is not the source's ETag: the bytes changed on the way (or the source "
                        + "encrypted the object without saying so)")
            }
            verification = .md5
        } else if let hit = candidates.indices.first(where: { candidates[$0].finalize() == etag }) {
            verification = .multipartETag(partSize: candidates[hit].partSize)
        } else if let checksum {
            verification = .checksum(checksum.rawValue)
        } else {
            verification = .size
        }
        try atEnd(verification, md5Hex)
        finished = true
        return 0
    }
}
