/// A bucket's public access block (PutPublicAccessBlock): four switches that keep public
/// ACLs and public policies from being set or from taking effect.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
public struct PublicAccessBlock: Sendable, Equatable {
    /// PutBucketAcl/PutObjectAcl, PutObject, CreateBucket and the like refuse a public ACL.
    public var blockPublicAcls: Bool
    /// Public ACL grants (AllUsers, AuthenticatedUsers) are kept but not applied.
    public var ignorePublicAcls: Bool
    /// PutBucketPolicy refuses a public policy.
    public var blockPublicPolicy: Bool
    /// With a public policy, only callers of the bucket's own tenant get access through it.
    public var restrictPublicBuckets: Bool

    public init(
        blockPublicAcls: Bool = false, ignorePublicAcls: Bool = false, blockPublicPolicy: Bool = false,
        restrictPublicBuckets: Bool = false
    ) {
        self.blockPublicAcls = blockPublicAcls
        self.ignorePublicAcls = ignorePublicAcls
        self.blockPublicPolicy = blockPublicPolicy
        self.restrictPublicBuckets = restrictPublicBuckets
    }

    public static let all = PublicAccessBlock(
        blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true)
    public static let none = PublicAccessBlock()

    /// The element names of PublicAccessBlockConfiguration, in S3's order, with their values.
    public var elements: [(String, Bool)] {
        [
            ("BlockPublicAcls", blockPublicAcls), ("IgnorePublicAcls", ignorePublicAcls),
            ("BlockPublicPolicy", blockPublicPolicy), ("RestrictPublicBuckets", restrictPublicBuckets),
        ]
    }

    /// Stored form: four 0/1 digits in `elements` order ("1111"). '' means none configured.
    public var encoded: String { elements.map { $0.1 ? "1" : "0" }.joined() }

    /// nil for '' (none configured) and for text `encoded` does not write.
    public static func decode(_ text: String) -> PublicAccessBlock? {
        let u = Array(text.utf8)
        guard u.count == 4, u.allSatisfy({ $0 == 0x30 || $0 == 0x31 }) else { return nil }
        return PublicAccessBlock(
            blockPublicAcls: u[0] == 0x31, ignorePublicAcls: u[1] == 0x31, blockPublicPolicy: u[2] == 0x31,
            restrictPublicBuckets: u[3] == 0x31)
    }

    /// The setting in effect for a stored column: none configured ('') blocks nothing; text
    /// `encoded` never wrote blocks everything (fail closed).
    public init(stored: String) { self = stored.isEmpty ? .none : Self.decode(stored) ?? .all }

    /// The configuration from PutPublicAccessBlock's elements (name → text, "true"/"false",
    /// case-insensitive as S3 reads them); a missing element is false. Anything but a boolean
    /// is MalformedXML.
    public static func from(elements: [String: String]) throws(S3Error) -> PublicAccessBlock {
        func flag(_ name: String) throws(S3Error) -> Bool {
            guard let v = elements[name] else { return false }
            switch v.lowercased() {
            case "true": return true
            case "false": return false
            default: throw S3Error(.malformedXML)
            }
        }
        return PublicAccessBlock(
            blockPublicAcls: try flag("BlockPublicAcls"), ignorePublicAcls: try flag("IgnorePublicAcls"),
            blockPublicPolicy: try flag("BlockPublicPolicy"), restrictPublicBuckets: try flag("RestrictPublicBuckets"))
    }
}
