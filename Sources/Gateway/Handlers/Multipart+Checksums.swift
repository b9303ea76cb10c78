import GatewayCore
import S3Protocol
import SigV4

/// The checksum rules of multipart uploads: the algorithm and type an upload is created with,
/// the object checksum Complete makes from the part checksums, and the checks Complete's own
/// checksum headers ask for.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
enum MultipartChecksum {
    /// CreateMultipartUpload's `x-amz-checksum-algorithm` and `x-amz-checksum-type`; nil when no
    /// algorithm was asked for.
    static func fromCreate(_ r: S3Request) throws(S3Error) -> (algorithm: ChecksumAlgorithm, type: ChecksumType)? {
        let typeHeader = r.header("x-amz-checksum-type")
        guard let name = r.header("x-amz-checksum-algorithm") else {
            if typeHeader != nil {
                throw S3Error(
                    .invalidRequest,
                    "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
            }
            return nil
        }
        guard let algorithm = ChecksumAlgorithm(algorithmName: name) else {
            throw S3Error(.invalidRequest, "Checksum algorithm provided is unsupported.")
        }
        guard let typeHeader else { return (algorithm, algorithm.defaultMultipartType) }
        guard let type = ChecksumType(rawValue: typeHeader.uppercased()) else {
            throw S3Error(.invalidRequest, "Value for x-amz-checksum-type header is invalid.")
        }
        guard algorithm.supports(type) else {
            throw S3Error(
                .invalidRequest,
                "The \(type.rawValue) checksum type cannot be used with the \(algorithm.rawValue) checksum algorithm.")
        }
        return (algorithm, type)
    }

    /// The upload's algorithm and type (uploads recorded before types were kept get the default).
    static func of(_ upload: UploadRecord) -> (algorithm: ChecksumAlgorithm, type: ChecksumType)? {
        guard let a = ChecksumAlgorithm(rawValue: upload.checksumAlgorithm) else { return nil }
        return (a, ChecksumType(rawValue: upload.checksumType) ?? a.defaultMultipartType)
    }

    /// The object's checksum, base64 (a composite one ends in "-<part count>"), made from the
    /// part checksums alone: no byte is read again. nil when a part has none.
    static func object(_ algorithm: ChecksumAlgorithm, _ type: ChecksumType, _ parts: [PartRecord]) -> String? {
        var raws: [[UInt8]] = []
        for p in parts {
            guard let v = p.checksums[algorithm.rawValue], let raw = base64Decode(v) else { return nil }
            raws.append(raw)
        }
        switch type {
        case .composite:
            let hasher = algorithm.makeHasher()
            for raw in raws { hasher.update(raw) }
            return base64Encode(hasher.finalize()) + "-\(parts.count)"
        case .fullObject:
            return algorithm.combined(zip(raws, parts).map { (checksum: $0, length: $1.size) }).map(base64Encode)
        }
    }

    /// Complete's own headers: `x-amz-checksum-type` must repeat the upload's type, a whole-object
    /// `x-amz-checksum-*` must name the upload's algorithm and equal the computed checksum
    /// (BadDigest otherwise, before anything is committed: the upload stays open), and
    /// `x-amz-mp-object-size` must be the object's size.
    static func checkComplete(
        _ r: S3Request, _ chosen: (algorithm: ChecksumAlgorithm, type: ChecksumType)?, computed: String?,
        size: Int64
    ) throws(S3Error) {
        if let t = r.header("x-amz-checksum-type"), ChecksumType(rawValue: t.uppercased()) != chosen?.type {
            throw S3Error(
                .invalidRequest,
                "The upload was created using the \(chosen?.type.rawValue ?? "null") checksum mode. The complete request must use the same checksum mode."
            )
        }
        for a in ChecksumAlgorithm.allCases {
            guard let sent = r.header(a.headerName) else { continue }
            guard let chosen, chosen.algorithm == a else {
                throw S3Error(
                    .invalidRequest,
                    "The upload was created using the \(chosen?.algorithm.rawValue ?? "null") checksum algorithm. The complete request must use the same checksum algorithm."
                )
            }
            // A composite value may be given with or without its "-<part count>".
            guard let computed, sent == computed || (chosen.type == .composite && computed.hasPrefix(sent + "-"))
            else {
                throw S3Error(.badDigest, "The \(a.rawValue) you specified did not match the calculated checksum.")
            }
        }
        if let s = r.header("x-amz-mp-object-size"), Int64(s) != size {
            throw S3Error(
                .invalidRequest,
                "The provided 'x-amz-mp-object-size' header value \(s) does not match what was computed: \(size)")
        }
    }
}
