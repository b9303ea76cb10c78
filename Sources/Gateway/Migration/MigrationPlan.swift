import Foundation

/// Version 1 of a migration plan, as docs/MIGRATION.md and docs/migration-plan.schema.json
/// describe it: what `s3gw migrate plan` writes and `s3gw migrate run` carries out. Like
/// snapshots, any change to what a file holds is a new version; this type then stays as it is.
public struct MigrationPlanV1: Codable, Sendable, Equatable {
    public static let version = 1

    public var planVersion: Int
    public var plan: Metadata
    /// The buckets that will be copied, in snapshot order.
    public var buckets: [Bucket]
    /// The buckets that cannot be, each with its reason.
    public var unplaceable: [Unplaceable]
    /// Bytes and objects stored per zone and country, every copy counted.
    public var zones: [ZoneUsage]
    public var countries: [CountryUsage]
    public var totals: Totals

    public struct Metadata: Codable, Sendable, Equatable {
        public var id: String
        public var createdAt: Date
        public var snapshotId: String
        /// The gateway tenant whose buckets receive the copies.
        public var tenant: String
        /// Where the snapshot was read: a host (and port) and a region, never a URL.
        public var source: Source
        public var options: Options
        public var bandwidthMbps: Double
    }

    public struct Source: Codable, Sendable, Equatable {
        public var endpointHost: String
        public var region: String
    }

    public struct Options: Codable, Sendable, Equatable {
        /// A LocationConstraint, as CreateBucket takes it ("fi,de").
        public var constraint: String
        /// Copies of each object (the target buckets' replica-count).
        public var replicas: Int
        /// Put before every source bucket's name to make its target's.
        public var bucketPrefix: String
        /// Constraints for single source buckets, overriding `constraint`.
        public var bucketConstraints: [BucketConstraint]

        public init(
            constraint: String, replicas: Int = 1, bucketPrefix: String = "", bucketConstraints: [BucketConstraint] = []
        ) {
            self.constraint = constraint
            self.replicas = replicas
            self.bucketPrefix = bucketPrefix
            self.bucketConstraints = bucketConstraints
        }

        /// The constraint for one source bucket.
        public func constraint(for sourceBucket: String) -> String {
            bucketConstraints.first { $0.bucket == sourceBucket }?.constraint ?? constraint
        }
    }

    /// A source bucket's own constraint (a list, not a map: bucket names are data, not keys).
    public struct BucketConstraint: Codable, Sendable, Equatable {
        public var bucket: String
        public var constraint: String

        public init(bucket: String, constraint: String) {
            self.bucket = bucket
            self.constraint = constraint
        }
    }

    public struct Bucket: Codable, Sendable, Equatable {
        public var sourceBucket: String
        public var sourceRegion: String
        /// The gateway bucket, in the plan's tenant.
        public var targetBucket: String
        /// The target's LocationConstraint.
        public var constraint: String
        public var replicas: Int
        /// The zones that hold a copy: the primary first, then the replicas.
        public var zones: [String]
        /// Every zone the constraint allows, in placement order (failover may use the rest).
        public var allowedZones: [String]
        /// The countries of `zones`, sorted.
        public var countries: [String]
        public var objects: Int64
        public var bytes: Int64
        /// Objects in archive storage classes (GLACIER, DEEP_ARCHIVE), skipped unless restored.
        public var archivedObjects: Int64
        public var archivedBytes: Int64
        /// The target exists already (owned by the planner, with this constraint): copies are
        /// added to it.
        public var targetExists: Bool
        /// What the copy will not carry over, in words (versions, encryption, lifecycle…).
        public var notes: [String]
    }

    public struct Unplaceable: Codable, Sendable, Equatable {
        public var sourceBucket: String
        public var targetBucket: String
        public var constraint: String
        public var reason: Reason
        public var message: String
        public var objects: Int64
        public var bytes: Int64
    }

    /// Why a bucket cannot be placed.
    public enum Reason: String, Codable, Sendable, Equatable, CaseIterable {
        /// The constraint names an unknown country, region or zone, one twice, or an empty entry.
        case invalidConstraint = "invalid_constraint"
        /// The constraint allows fewer zones than the copies asked for.
        case tooFewZones = "too_few_zones"
        /// The discovery could not list the bucket: nothing to plan with.
        case listingAccessDenied = "listing_access_denied"
        /// The discovery stopped part way through the bucket: its numbers are not the bucket's.
        case listingIncomplete = "listing_incomplete"
        /// Prefix + name is no valid S3 bucket name, or one the gateway reserves.
        case invalidTargetName = "invalid_target_name"
        /// The target bucket exists in the tenant and belongs to another user.
        case targetOwnedByAnother = "target_owned_by_another"
        /// The target bucket exists with another LocationConstraint.
        case targetConstraintDiffers = "target_constraint_differs"
    }

    public struct ZoneUsage: Codable, Sendable, Equatable {
        public var zone: String
        public var country: String
        public var objects: Int64
        public var bytes: Int64
        /// From the zone's `price_per_gb_month`; nil when not configured.
        public var pricePerGbMonth: Double?
        /// bytes / 2^30 × price; nil when the price is unknown.
        public var monthlyCost: Double?

        public func encode(to encoder: any Encoder) throws {
            // Unknown prices are written as null: a reader sees the field and that it is unknown.
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(zone, forKey: .zone)
            try c.encode(country, forKey: .country)
            try c.encode(objects, forKey: .objects)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(pricePerGbMonth, forKey: .pricePerGbMonth)
            try c.encode(monthlyCost, forKey: .monthlyCost)
        }
    }

    public struct CountryUsage: Codable, Sendable, Equatable {
        public var country: String
        public var objects: Int64
        public var bytes: Int64
    }

    public struct Totals: Codable, Sendable, Equatable {
        public var buckets: Int
        public var unplaceableBuckets: Int
        /// Objects and bytes read from the source (one read per object).
        public var objects: Int64
        public var bytes: Int64
        /// Bytes stored in the gateway, every copy counted.
        public var storedBytes: Int64
        /// `bytes` at the configured bandwidth.
        public var transferSeconds: Double
        /// The sum of the zones' monthly costs that are known; nil when none is.
        public var monthlyCost: Double?
        /// Whether every zone holding copies has a price.
        public var monthlyCostComplete: Bool

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(buckets, forKey: .buckets)
            try c.encode(unplaceableBuckets, forKey: .unplaceableBuckets)
            try c.encode(objects, forKey: .objects)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(storedBytes, forKey: .storedBytes)
            try c.encode(transferSeconds, forKey: .transferSeconds)
            try c.encode(monthlyCost, forKey: .monthlyCost)
            try c.encode(monthlyCostComplete, forKey: .monthlyCostComplete)
        }
    }
}
