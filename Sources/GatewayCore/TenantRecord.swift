/// A tenant: its own bucket namespace, users and credentials.
public struct TenantRecord: Sendable, Equatable, Codable {
    /// Lowercase letters, digits and dashes, 1–32 characters: it names the tenant in ARNs, the
    /// admin API's paths and (for every tenant but the default one) its buckets' internal names.
    public var id: String
    public var displayName: String
    public var createdAt: Double

    public init(id: String, displayName: String, createdAt: Double) {
        self.id = id
        self.displayName = displayName
        self.createdAt = createdAt
    }

    /// Everything that existed before tenants did belongs to this one (migrated in place), and
    /// its administrators manage the whole gateway.
    public static let defaultID = "default"

    public static func isValidID(_ id: String) -> Bool {
        let u = id.utf8
        guard (1...32).contains(u.count), u.first != UInt8(ascii: "-"), u.last != UInt8(ascii: "-") else {
            return false
        }
        return u.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-")
        }
    }

    /// The metadata store's name of a tenant's bucket. Bucket names never hold "/", so
    /// "acme/photos" cannot collide with any default-tenant name, which stays bare so existing
    /// installations keep every row as it was.
    public static func qualifiedBucket(tenant: String, name: String) -> String {
        tenant == defaultID ? name : tenant + "/" + name
    }
}
