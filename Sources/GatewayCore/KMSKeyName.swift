/// How requests name a KMS key of a tenant (`x-amz-server-side-encryption-aws-kms-key-id`,
/// `KMSMasterKeyID`): its id, its ARN, `alias/<name>` or the alias's ARN; and the ARN S3
/// answers with. The account of an ARN is the tenant.
public enum KMSKeyName {
    /// The region in ARNs: the gateway has no regions of its own; SDKs accept any.
    public static let region = "us-east-1"

    public static func arn(tenant: String, id: String) -> String { "arn:aws:kms:\(region):\(tenant):key/\(id)" }

    public enum Reference: Sendable, Equatable {
        case id(String)
        case alias(String)
    }

    /// What `name` refers to within `tenant`; nil for an ARN of another tenant, another service,
    /// or an empty name.
    public static func parse(_ name: String, tenant: String) -> Reference? {
        var rest = Substring(name)
        if rest.hasPrefix("arn:") {
            let fields = name.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard fields.count == 6, fields[1] == "aws", fields[2] == "kms", String(fields[4]) == tenant else {
                return nil
            }
            rest = fields[5]
            if rest.hasPrefix("key/") {
                let id = rest.dropFirst(4)
                return id.isEmpty ? nil : .id(String(id))
            }
        }
        if rest.hasPrefix("alias/") {
            let alias = rest.dropFirst(6)
            return alias.isEmpty ? nil : .alias(String(alias))
        }
        return rest.isEmpty || rest.contains("/") || rest.contains(":") ? nil : .id(String(rest))
    }

    /// The tenant's key `name` refers to among `keys` (the tenant's keys), if any.
    public static func resolve(_ name: String, tenant: String, in keys: [KMSKeyRecord]) -> KMSKeyRecord? {
        switch parse(name, tenant: tenant) {
        case .id(let id)?: keys.first { $0.id == id && $0.tenant == tenant }
        case .alias(let alias)?: keys.first { $0.alias == alias && $0.tenant == tenant }
        case nil: nil
        }
    }
}
