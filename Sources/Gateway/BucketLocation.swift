import GatewayCore

/// One zone of a bucket's placement as operators see it: what `s3gw buckets show` prints and
/// the admin API's bucket detail answers.
public struct BucketLocation: Sendable, Equatable {
    public enum Role: String, Sendable {
        /// Client writes go here.
        case primary
        /// Holds a copy of each object (within the bucket's replica-count).
        case replica
        /// Allowed by the constraint, holds no copy at the current replica-count.
        case allowed
    }

    public let zone: String
    public let role: Role
    /// The zone's endpoint or directory; nil when the configuration no longer has the zone.
    public let location: String?
    /// The bucket's name inside the zone's storage.
    public let backendBucket: String

    /// Every zone of `b`'s placement, primary first.
    public static func all(of b: BucketRecord, secret: [UInt8], catalog: ZoneCatalog) -> [BucketLocation] {
        b.zones.enumerated().map { i, z in
            BucketLocation(
                zone: z, role: i == 0 ? .primary : i < b.replicaCount ? .replica : .allowed,
                location: catalog.zone(named: z)?.location,
                backendBucket: BackendBucketName.derive(secret: secret, tenant: b.namingKey, bucket: b.name, zone: z))
        }
    }
}

extension GatewayContext {
    public func locations(of b: BucketRecord) -> [BucketLocation] {
        BucketLocation.all(of: b, secret: installationSecret, catalog: catalog)
    }
}
