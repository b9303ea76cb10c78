import Foundation
import SigV4

/// How much of the object names a snapshot keeps (chosen when a discovery starts).
public enum SanitizationLevel: String, Codable, Sendable, CaseIterable {
    /// Keys and prefixes as they are.
    case full
    /// Keys and prefix segments replaced by HMAC-SHA256 under a key made for one snapshot and
    /// never written: equal names map equally within that snapshot only.
    case hashed
    /// No object entries at all; prefixes as they are.
    case prefixes
}

/// Writes object keys and prefixes at one sanitization level. Bucket names stay as they are at
/// every level: a migration plan must name the source bucket, and bucket names are public in DNS.
public struct Sanitizer: Sendable {
    public let level: SanitizationLevel
    private let hashKey: [UInt8]

    /// `hashKey` is for tests; by default each sanitizer draws its own 32 random bytes.
    public init(level: SanitizationLevel, hashKey: [UInt8]? = nil) {
        self.level = level
        if let hashKey {
            self.hashKey = hashKey
        } else {
            var g = SystemRandomNumberGenerator()
            self.hashKey = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        }
    }

    /// Whether snapshots at this level list objects one by one.
    public var writesObjects: Bool { level != .prefixes }

    /// A whole key: at the `hashed` level the 64 hex digits of its HMAC.
    public func key(_ key: String) -> String {
        level == .hashed ? hexEncode(HMAC.sha256(key: hashKey, data: Array(key.utf8))) : key
    }

    /// A prefix ending in "/" (or ""): at the `hashed` level each segment becomes the first 16 hex
    /// digits of its HMAC, so the hierarchy stays visible while the names do not.
    public func prefix(_ prefix: String) -> String {
        guard level == .hashed else { return prefix }
        return prefix.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.isEmpty ? "" : String(hexEncode(HMAC.sha256(key: hashKey, data: Array(segment.utf8))).prefix(16))
        }.joined(separator: "/")
    }
}
