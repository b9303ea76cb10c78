import GatewayCore
import SigV4
import Synchronization

/// How a copied object's bytes were checked against the source, strongest first.
public enum CopyVerification: Sendable, Equatable, CustomStringConvertible {
    /// The MD5 of the bytes is the source's ETag (a single-part upload's ETag is its MD5).
    case md5
    /// The source's multipart ETag, recomputed with a part size that reproduces it.
    case multipartETag(partSize: Int64)
    /// A full-object `x-amz-checksum-*` the source returned, verified by the gateway's write path
    /// (PutObject, or a multipart upload's Complete for a CRC) or computed from the bytes on their
    /// way (a SHA in a multipart upload); for an SSE-KMS object, the only check of its bytes.
    case checksum(String)
    /// Only the size: a multipart ETag whose part size could not be found, or an ETag that is no
    /// digest of the bytes (SSE-KMS), and no usable checksum.
    case size

    /// The name stored in copy records and reports: "md5", "multipart-etag", "checksum-crc32", "size".
    public var name: String {
        switch self {
        case .md5: "md5"
        case .multipartETag: "multipart-etag"
        case .checksum(let alg): "checksum-\(alg)"
        case .size: "size"
        }
    }

    public var description: String {
        if case .multipartETag(let p) = self { return "multipart-etag (part size \(p))" }
        return name
    }
}

/// Why a copy was given up; the reason goes into the run's report.
enum CopyFailure: Error, Equatable {
    /// The run is being stopped: the object is abandoned, nothing of it becomes visible.
    case cancelled
    /// The source's bytes do not match what it said about them.
    case mismatch(String)
}

/// ETags as S3 makes them: a single-part upload's is the hex MD5 of its bytes; a multipart
/// upload's is the MD5 of its parts' binary MD5s, "-", and the part count.
enum SourceETag {
    /// 32 hex digits and nothing else.
    static func isPlainMD5(_ etag: String) -> Bool {
        etag.utf8.count == 32 && etag.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// The part count of a multipart ETag, nil for any other.
    static func partCount(_ etag: String) -> Int? {
        guard let dash = etag.lastIndex(of: "-"), isPlainMD5(String(etag[..<dash])),
            let n = Int(etag[etag.index(after: dash)...]), n >= 1, n <= 10000
        else { return nil }
        return n
    }

    /// Sizes tools upload parts in, the most common first: 8 MiB (boto3, the aws cli), 5 MiB (the
    /// minimum, s3cmd's and several SDKs'), 16 MiB (rclone's chunk size in several versions)…, round
    /// decimal sizes, and the smallest MiB multiple that fits the object in `parts` parts (what
    /// tools choose for objects too large for their default).
    static let commonPartSizes: [Int64] =
        [8, 5, 16, 10, 15, 25, 32, 50, 64, 100, 128, 256, 512, 1024].map {
            Int64($0) << 20
        } + [5_000_000, 10_000_000, 16_000_000, 100_000_000]

    /// The part sizes that could have made an object of `size` bytes in `parts` parts, most
    /// likely first, at most `limit` (each costs an MD5 pass over the bytes).
    static func partSizeCandidates(size: Int64, parts: Int, limit: Int = 4) -> [Int64] {
        guard size > 0 else { return [] }
        if parts == 1 { return [size] }
        let n = Int64(parts)
        func fits(_ p: Int64) -> Bool { p > 0 && (n - 1) * p < size && size <= n * p }
        let exact = (size + n - 1) / n
        let mib: Int64 = 1 << 20
        var out: [Int64] = []
        for p in commonPartSizes + [(exact + mib - 1) / mib * mib, exact] where fits(p) && !out.contains(p) {
            out.append(p)
        }
        return Array(out.prefix(limit))
    }
}

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
    private let atEnd: (_ verification: CopyVerification, _ md5Hex: String) throws -> Void
    private var md5 = Digest(.md5)
    private var candidates: [PartETagHasher]
    private var count: Int64 = 0
    private var finished = false
    /// Bytes read so far (the run's progress counts them as they move).
    let progress: (Int) -> Void

    init(
        reader: any SourceObjectReader, size: Int64, etag: String, etagIsDigest: Bool = true,
        checksum: ChecksumAlgorithm?, hashing: (algorithm: ChecksumAlgorithm, value: String)? = nil,
        cancelled: @escaping @Sendable () -> Bool, progress: @escaping (Int) -> Void = { _ in },
        atEnd: @escaping (CopyVerification, String) throws -> Void
    ) {
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
            md5.update(bytes)
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
        let md5Hex = hexEncode(md5.finalize())
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
