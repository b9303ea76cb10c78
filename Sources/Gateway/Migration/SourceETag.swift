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
