/// `[s3] default_object_ownership` and `[s3] default_public_access_block`: what CreateBucket
/// writes into a new bucket's row (docs/ACCESS.md). Defaults are AWS's since April 2023: ACLs
/// disabled (BucketOwnerEnforced) and all four public access block switches on.
public struct AccessDefaults: Sendable, Equatable {
    public static let ownerships = ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]

    /// "BucketOwnerEnforced", "BucketOwnerPreferred" or "ObjectWriter".
    public var objectOwnership = "BucketOwnerEnforced"
    /// true: a new bucket gets a public access block with all four settings on; false: none
    /// (GetPublicAccessBlock answers 404 until one is put).
    public var blockPublicAccess = true

    public init(objectOwnership: String = "BucketOwnerEnforced", blockPublicAccess: Bool = true) {
        self.objectOwnership = objectOwnership
        self.blockPublicAccess = blockPublicAccess
    }
}
