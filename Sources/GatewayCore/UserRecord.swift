/// A user inside a tenant: what its credentials may do.
public struct UserRecord: Sendable, Equatable, Codable {
    public var tenant: String
    /// Unique inside the tenant; the display name in Owner elements.
    public var name: String
    /// The canonical user id (64 hex digits) shown as Owner ID; never changes.
    public var id: String
    public var permissions: PermissionSet
    public var createdAt: Double

    public init(tenant: String, name: String, id: String, permissions: PermissionSet, createdAt: Double) {
        self.tenant = tenant
        self.name = name
        self.id = id
        self.permissions = permissions
        self.createdAt = createdAt
    }

    /// Letters, digits and `+=,.@_-`, 1–64 characters (IAM's user name alphabet).
    public static func isValidName(_ name: String) -> Bool {
        let u = name.utf8
        guard (1...64).contains(u.count) else { return false }
        return u.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "+=,.@_-".utf8.contains($0)
        }
    }
}
