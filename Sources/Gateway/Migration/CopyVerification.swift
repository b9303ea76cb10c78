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
