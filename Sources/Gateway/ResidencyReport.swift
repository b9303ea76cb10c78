import Foundation
import GatewayCore

/// What the residency audit found: per bucket, per zone and country, and overall. Its JSON
/// form (`document`) is the stable interface documented in docs/RESIDENCY.md ("Audit").
public struct ResidencyReport: Sendable {
    public var generatedAt: Double
    public var grace: Double
    public var removeOrphans: Bool
    /// Every configured zone, and why it could not be read when it could not.
    public var zones: [ZoneStatus] = []
    public var buckets: [BucketReport] = []
    public var strays: [StrayBackendBucket] = []

    public init(generatedAt: Double, grace: Double, removeOrphans: Bool) {
        self.generatedAt = generatedAt
        self.grace = grace
        self.removeOrphans = removeOrphans
    }

    public var objects: Int { buckets.reduce(0) { $0 + $1.objects } }
    public var versions: Int { buckets.reduce(0) { $0 + $1.versions } }
    public var deleteMarkers: Int { buckets.reduce(0) { $0 + $1.deleteMarkers } }
    public var violations: Int { buckets.reduce(0) { $0 + $1.violations.count } }
    public var missingCopies: Int { buckets.reduce(0) { $0 + $1.missing.count } }
    public var shortObjects: Int { buckets.reduce(0) { $0 + $1.short.count } }
    public var orphans: Int { buckets.reduce(0) { $0 + $1.orphans.count } }
    public var orphansRemoved: Int { buckets.reduce(0) { $0 + $1.orphansRemoved } }
    public var unreadableZones: [ZoneStatus] { zones.filter { $0.error != nil } }

    /// No byte outside the allowed zones, no recorded copy missing, every zone read.
    public var clean: Bool { violations == 0 && missingCopies == 0 && unreadableZones.isEmpty }

    /// The counts, as the document's `summary` holds them.
    public var summary: Summary {
        Summary(
            buckets: buckets.count, objects: objects, violations: violations, missingCopies: missingCopies,
            shortObjects: shortObjects, orphans: orphans, orphansRemoved: orphansRemoved,
            strayBackendBuckets: strays.count, unreadableZones: unreadableZones.map(\.zone))
    }

    public func exitCode(strict: Bool) -> Int32 { summary.exitCode(strict: strict) }

    /// The report's counts: the document's `summary` (snake_case keys), which is all the exit
    /// status depends on, so `s3gw audit residency` decides it from the API's answer alone.
    public struct Summary: Codable, Sendable, Equatable {
        public var buckets: Int
        public var objects: Int
        public var violations: Int
        public var missingCopies: Int
        public var shortObjects: Int
        public var orphans: Int
        public var orphansRemoved: Int
        public var strayBackendBuckets: Int
        /// The zones that could not be read.
        public var unreadableZones: [String]

        /// 1: a violation or a missing copy; 2: a zone could not be read (nothing certified
        /// about it); with `strict` also 1 for orphans left, stray backend buckets and objects
        /// short of their replica-count; 0 otherwise.
        public func exitCode(strict: Bool) -> Int32 {
            if violations > 0 || missingCopies > 0 { return 1 }
            if !unreadableZones.isEmpty { return 2 }
            if strict && (orphans > orphansRemoved || strayBackendBuckets > 0 || shortObjects > 0) { return 1 }
            return 0
        }
    }

    /// The JSON document (format `s3gw-residency-audit/1`); keys are only ever added.
    public var document: [String: Any] {
        let summary = summary
        return [
            "format": "s3gw-residency-audit/1",
            "generated_at": HTTPDate.iso8601(generatedAt),
            "orphan_grace_seconds": Int(grace),
            "remove_orphans": removeOrphans,
            "clean": clean,
            "summary": [
                "buckets": summary.buckets, "objects": summary.objects, "violations": summary.violations,
                "missing_copies": summary.missingCopies, "short_objects": summary.shortObjects,
                "orphans": summary.orphans, "orphans_removed": summary.orphansRemoved,
                "stray_backend_buckets": summary.strayBackendBuckets, "unreadable_zones": summary.unreadableZones,
                "versions": versions, "delete_markers": deleteMarkers,
            ] as [String: Any],
            "zones": zones.map {
                ["zone": $0.zone, "country": $0.country, "readable": $0.error == nil, "error": $0.error ?? NSNull()]
                    as [String: Any]
            },
            "buckets": buckets.map(\.document),
            "stray_backend_buckets": strays.map {
                ["zone": $0.zone, "backend_bucket": $0.backendBucket, "blobs": $0.blobs, "bytes": $0.bytes]
                    as [String: Any]
            },
        ]
    }
}

public struct ZoneStatus: Sendable, Equatable {
    public var zone: String
    public var country: String
    /// Why the zone could not be listed; nil when it could.
    public var error: String?
}

/// A backend bucket in a zone that no tenant bucket maps to.
public struct StrayBackendBucket: Sendable, Equatable {
    public var zone: String
    public var backendBucket: String
    public var blobs = 0
    public var bytes: Int64 = 0
}

/// Counts every item; keeps the first `limit` of them for the report.
public struct Listed<Item: Sendable>: Sendable {
    public private(set) var count = 0
    public var items: [Item] = []
    public var truncated: Bool { count > items.count }

    /// The kept item's index, nil when it was only counted.
    @discardableResult
    mutating func add(_ item: Item, limit: Int) -> Int? {
        count += 1
        guard items.count < limit else { return nil }
        items.append(item)
        return items.count - 1
    }
}

public struct BucketReport: Sendable {
    /// The metadata store's name: `tenant/name` for tenants other than the default one.
    public var bucket: String
    public var tenant: String
    /// The owning user's canonical id.
    public var owner: String
    public var locationConstraint: String
    /// The bucket's placement (the zones its constraint allows, primary first).
    public var placement: [String]
    public var allowedCountries: [String]
    public var replicaCount: Int
    /// Live objects in metadata (latest versions that are not delete markers), their bytes, and
    /// multipart uploads still open.
    public var objects = 0
    public var bytes: Int64 = 0
    public var openUploads = 0
    /// Every version holding bytes (the latest and the noncurrent ones) and their bytes; delete
    /// markers (no bytes). Copies are judged per version.
    public var versions = 0
    public var versionBytes: Int64 = 0
    public var deleteMarkers = 0
    /// Blobs named by removal jobs not done yet (referenced, never orphans).
    public var queuedRemovals = 0
    /// What each zone holds of the bucket (every blob found, referenced or not).
    public var zones: [ZoneUsage] = []
    public var countries: [CountryUsage] = []
    /// Versions with at least their replica-count of copies present; of them, with more.
    public var complete = 0
    public var over = 0
    /// Versions rewritten or deleted while the audit looked at them (not judged).
    public var changed = 0
    public var short = Listed<ShortObject>()
    public var missing = Listed<MissingCopy>()
    public var violations = Listed<Violation>()
    public var violationBytes: Int64 = 0
    public var orphans = Listed<Orphan>()
    public var orphanBytes: Int64 = 0
    public var orphansRemoved = 0
    /// Objects with a copy present in each country (filled by the audit).
    var countryObjects: [String: Int] = [:]

    init(_ b: BucketRecord, countries: Set<String>) {
        bucket = b.name
        tenant = b.tenant
        owner = b.owner
        locationConstraint = b.locationConstraint
        placement = b.zones
        allowedCountries = countries.sorted()
        replicaCount = b.replicaCount
    }

    mutating func summarizeCountries() {
        var byCountry: [String: CountryUsage] = [:]
        for z in zones {
            var c =
                byCountry[z.country]
                ?? CountryUsage(
                    country: z.country, allowed: allowedCountries.contains(z.country),
                    objects: countryObjects[z.country] ?? 0)
            c.blobs += z.blobs
            c.bytes += z.bytes
            byCountry[z.country] = c
        }
        countries = byCountry.values.sorted { $0.country < $1.country }
    }

    var document: [String: Any] {
        [
            "bucket": bucket, "tenant": tenant, "owner": owner, "location_constraint": locationConstraint,
            "placement": placement,
            "allowed_countries": allowedCountries, "replica_count": replicaCount, "objects": objects,
            "bytes": bytes, "open_uploads": openUploads, "versions": versions, "version_bytes": versionBytes,
            "delete_markers": deleteMarkers, "queued_removals": queuedRemovals,
            "zones": zones.map {
                [
                    "zone": $0.zone, "country": $0.country, "allowed": $0.allowed, "objects": $0.objects,
                    "blobs": $0.blobs, "bytes": $0.bytes,
                ] as [String: Any]
            },
            "countries": countries.map {
                [
                    "country": $0.country, "allowed": $0.allowed, "objects": $0.objects, "blobs": $0.blobs,
                    "bytes": $0.bytes,
                ] as [String: Any]
            },
            "copies": ["complete": complete, "over": over, "short": short.count, "changed_during_audit": changed],
            "short": listed(short) {
                [
                    "key": $0.key, "version_id": $0.versionId, "wanted": $0.wanted, "present": $0.present,
                    "pending": $0.pending,
                    "failed": $0.failed, "missing": $0.missing, "unverified": $0.unverified,
                ]
            },
            "missing": listed(missing) {
                [
                    "key": $0.key, "version_id": $0.versionId, "zone": $0.zone, "backend_bucket": $0.backendBucket,
                    "blob": $0.blob,
                    "role": $0.role, "reason": $0.reason, "expected_size": $0.expectedSize ?? NSNull(),
                    "found_size": $0.foundSize ?? NSNull(),
                ]
            },
            "violations": listed(violations, extra: ["bytes": violationBytes]) {
                [
                    "zone": $0.zone, "country": $0.country, "backend_bucket": $0.backendBucket, "blob": $0.blob,
                    "size": $0.size, "key": $0.key ?? NSNull(), "version_id": $0.versionId ?? NSNull(),
                ]
            },
            "orphans": listed(orphans, extra: ["bytes": orphanBytes, "removed": orphansRemoved]) {
                [
                    "zone": $0.zone, "backend_bucket": $0.backendBucket, "blob": $0.blob, "size": $0.size,
                    "last_modified": $0.lastModified.map { HTTPDate.iso8601($0) } ?? NSNull(),
                    "age_seconds": $0.age.map { Int($0) } ?? NSNull(), "removed": $0.removed,
                ]
            },
        ]
    }

    private func listed<T>(_ l: Listed<T>, extra: [String: Any] = [:], _ item: (T) -> [String: Any]) -> [String: Any] {
        extra.merging(["count": l.count, "truncated": l.truncated, "items": l.items.map(item)]) { a, _ in a }
    }
}

public struct ZoneUsage: Sendable, Equatable {
    public var zone: String
    public var country: String
    /// Whether the bucket's constraint allows this zone.
    public var allowed: Bool
    /// Objects with a complete copy here; blobs and bytes of everything found here.
    public var objects = 0
    public var blobs = 0
    public var bytes: Int64 = 0
}

public struct CountryUsage: Sendable, Equatable {
    public var country: String
    public var allowed: Bool
    /// Objects with at least one complete copy in the country.
    public var objects = 0
    public var blobs = 0
    public var bytes: Int64 = 0
}

/// A version with fewer copies present than its replica-count, and where the others are.
public struct ShortObject: Sendable, Equatable {
    public var key: String
    /// "null" for a null version.
    public var versionId = VersionId.null
    public var wanted: Int
    public var present: [String] = []
    /// Copies not made yet, dead-lettered, recorded but missing, or in zones not readable.
    public var pending: [String] = []
    public var failed: [String] = []
    public var missing: [String] = []
    public var unverified: [String] = []
}

/// A copy metadata records as stored that its zone lacks ("absent"), holds at another size
/// ("size"), or that is in a zone the configuration no longer has ("zone-not-configured").
public struct MissingCopy: Sendable, Equatable {
    public var key: String
    public var versionId = VersionId.null
    public var zone: String
    public var backendBucket: String
    public var blob: String
    /// "primary" or "replica".
    public var role: String
    public var reason: String
    public var expectedSize: Int64?
    public var foundSize: Int64?
}

/// A blob of the bucket in a zone its LocationConstraint does not allow.
public struct Violation: Sendable, Equatable {
    public var zone: String
    public var country: String
    public var backendBucket: String
    public var blob: String
    public var size: Int64
    /// The object (and version) it belongs to, when metadata references it.
    public var key: String?
    public var versionId: String? = nil
}

/// A blob in one of the bucket's backend buckets that no metadata references.
public struct Orphan: Sendable, Equatable {
    public var zone: String
    public var backendBucket: String
    public var blob: String
    public var size: Int64
    public var lastModified: Double?
    /// Seconds since the zone wrote it; nil when the zone does not say (never removed then).
    public var age: Double?
    public var removed = false
}
