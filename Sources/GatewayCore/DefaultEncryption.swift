/// A bucket's default encryption (PutBucketEncryption's one rule): what a write that names no
/// encryption of its own gets. Kept in `BucketRecord.encryption` as `encoded`.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html
public struct DefaultEncryption: Sendable, Equatable {
    public enum Algorithm: String, Sendable {
        case aes256 = "AES256"
        case kms = "aws:kms"
    }

    public var algorithm: Algorithm
    /// With aws:kms: the gateway's id of the key (resolved when the configuration was put, so a
    /// renamed alias does not change it); nil: the tenant's default key.
    public var kmsKeyId: String?
    public var bucketKeyEnabled: Bool

    public init(algorithm: Algorithm, kmsKeyId: String? = nil, bucketKeyEnabled: Bool = false) {
        self.algorithm = algorithm
        self.kmsKeyId = algorithm == .kms ? kmsKeyId : nil
        self.bucketKeyEnabled = bucketKeyEnabled
    }

    /// Space-separated: the algorithm, then `key=<id>` and `bucket-key` when set
    /// ("AES256", "aws:kms key=0f3c… bucket-key"). Key ids hold no spaces.
    public var encoded: String {
        var words = [algorithm.rawValue]
        if let kmsKeyId { words.append("key=" + kmsKeyId) }
        if bucketKeyEnabled { words.append("bucket-key") }
        return words.joined(separator: " ")
    }

    /// nil for "" (no default) and for text `encoded` never writes.
    public static func decode(_ text: String) -> DefaultEncryption? {
        let words = text.split(separator: " ").map(String.init)
        guard let first = words.first, let algorithm = Algorithm(rawValue: first) else { return nil }
        var d = DefaultEncryption(algorithm: algorithm)
        for word in words.dropFirst() {
            if word == "bucket-key" {
                d.bucketKeyEnabled = true
            } else if word.hasPrefix("key="), algorithm == .kms, word.count > 4 {
                d.kmsKeyId = String(word.dropFirst(4))
            } else {
                return nil
            }
        }
        return d
    }
}
extension BucketRecord {
    /// The bucket's default encryption; nil when none is configured.
    public var defaultEncryption: DefaultEncryption? { DefaultEncryption.decode(encryption) }
}
