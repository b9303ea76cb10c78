import Foundation
import GatewayCore

/// Turns a discovery snapshot and the zone catalog into a migration plan under the residency
/// rules: pure logic, everything it looks at is an input (docs/MIGRATION.md).
public enum MigrationPlanner {
    /// A bucket of the target tenant that already has a name a plan wants.
    public struct ExistingBucket: Sendable, Equatable {
        /// Whether the user making the plan owns it (copies may then be added to it).
        public var ownedByPlanner: Bool
        public var constraint: String

        public init(ownedByPlanner: Bool, constraint: String) {
            self.ownedByPlanner = ownedByPlanner
            self.constraint = constraint
        }
    }

    /// What the plan is made from besides the snapshot and the options.
    public struct Inputs: Sendable {
        public var catalog: ZoneCatalog
        /// The health checker's last view: placement prefers healthy zones, as CreateBucket does.
        public var health: [String: ZoneHealth.State]
        /// `price_per_gb_month` by zone name, where configured.
        public var prices: [String: Double]
        public var bandwidthMbps: Double
        public var tenant: String
        /// The tenant's buckets by (unqualified) name.
        public var existing: [String: ExistingBucket]

        public init(
            catalog: ZoneCatalog, health: [String: ZoneHealth.State] = [:], prices: [String: Double] = [:],
            bandwidthMbps: Double = MigrationSettings().bandwidthMbps, tenant: String = TenantRecord.defaultID,
            existing: [String: ExistingBucket] = [:]
        ) {
            self.catalog = catalog
            self.health = health
            self.prices = prices
            self.bandwidthMbps = bandwidthMbps
            self.tenant = tenant
            self.existing = existing
        }
    }

    /// Storage classes whose objects cannot be read before a restore.
    public static let archiveClasses: Set<String> = ["GLACIER", "DEEP_ARCHIVE"]

    static let gib = Double(1 << 30)

    public static func plan(
        _ snapshot: SnapshotV1, options: MigrationPlanV1.Options, inputs: Inputs, id: String, now: Date
    ) -> MigrationPlanV1 {
        var placed: [MigrationPlanV1.Bucket] = []
        var unplaceable: [MigrationPlanV1.Unplaceable] = []
        for b in snapshot.buckets {
            switch place(b, options: options, inputs: inputs) {
            case .placed(let p): placed.append(p)
            case .refused(let u): unplaceable.append(u)
            }
        }
        let (zones, countries) = usage(placed, inputs: inputs)
        let objects = placed.reduce(Int64(0)) { $0 + $1.objects }
        let bytes = placed.reduce(Int64(0)) { $0 + $1.bytes }
        let priced = zones.compactMap(\.monthlyCost)
        let totals = MigrationPlanV1.Totals(
            buckets: placed.count, unplaceableBuckets: unplaceable.count, objects: objects, bytes: bytes,
            storedBytes: zones.reduce(Int64(0)) { $0 + $1.bytes },
            transferSeconds: Double(bytes) * 8 / (inputs.bandwidthMbps * 1_000_000),
            monthlyCost: priced.isEmpty ? nil : priced.reduce(0, +),
            monthlyCostComplete: zones.allSatisfy { $0.monthlyCost != nil })
        return MigrationPlanV1(
            planVersion: MigrationPlanV1.version,
            plan: MigrationPlanV1.Metadata(
                id: id, createdAt: now, snapshotId: snapshot.snapshot.id, tenant: inputs.tenant,
                source: MigrationPlanV1.Source(
                    endpointHost: snapshot.snapshot.source.endpointHost, region: snapshot.snapshot.source.region),
                options: options, bandwidthMbps: inputs.bandwidthMbps),
            buckets: placed, unplaceable: unplaceable, zones: zones, countries: countries, totals: totals)
    }

    enum Placing {
        case placed(MigrationPlanV1.Bucket)
        case refused(MigrationPlanV1.Unplaceable)
    }

    /// One source bucket: where its copies go, or why they cannot.
    static func place(_ b: SnapshotV1.Bucket, options: MigrationPlanV1.Options, inputs: Inputs) -> Placing {
        let constraint = options.constraint(for: b.name)
        let target = options.bucketPrefix + b.name
        let archived = b.summary.storageClasses.filter { archiveClasses.contains($0.storageClass) }
        let archivedObjects = archived.reduce(Int64(0)) { $0 + $1.objects }
        let archivedBytes = archived.reduce(Int64(0)) { $0 + $1.bytes }
        func refuse(_ reason: MigrationPlanV1.Reason, _ message: String) -> Placing {
            .refused(
                MigrationPlanV1.Unplaceable(
                    sourceBucket: b.name, targetBucket: target, constraint: constraint, reason: reason,
                    message: message, objects: b.summary.objectCount, bytes: b.summary.totalBytes))
        }

        switch b.listing {
        case .accessDenied:
            return refuse(.listingAccessDenied, "the discovery could not list the bucket (AccessDenied)")
        case .incomplete:
            return refuse(
                .listingIncomplete, "the discovery stopped part way through the bucket; discover it again first")
        case .complete: break
        }
        if ReservedBucketNames.contains(target) {
            return refuse(.invalidTargetName, "\(target) is reserved for the gateway's own API")
        }
        if !BucketName.isValid(target) {
            return refuse(.invalidTargetName, "\(target) is not a valid S3 bucket name")
        }
        let placement: Placement
        do {
            placement = try inputs.catalog.placement(for: constraint, health: inputs.health)
        } catch {
            return refuse(.invalidConstraint, "the constraint '\(constraint)' is not valid: \(error)")
        }
        if placement.zones.count < options.replicas {
            let n = placement.zones.count
            return refuse(
                .tooFewZones,
                "the constraint '\(constraint)' allows \(n) zone\(n == 1 ? "" : "s") "
                    + "(\(placement.zones.joined(separator: ", "))); \(options.replicas) copies need \(options.replicas)"
            )
        }
        var notes = Self.notes(b.statuses)
        if let existing = inputs.existing[target] {
            guard existing.ownedByPlanner else {
                return refuse(.targetOwnedByAnother, "the bucket \(target) exists and belongs to another user")
            }
            guard normalized(existing.constraint) == normalized(constraint) else {
                return refuse(
                    .targetConstraintDiffers,
                    "the bucket \(target) exists with LocationConstraint '\(existing.constraint)', not '\(constraint)'")
            }
            notes.append("the bucket \(target) exists: the copies are added to it")
        }
        if archivedObjects > 0 {
            notes.append(
                "\(archivedObjects) object\(archivedObjects == 1 ? " is" : "s are") in an archive storage class "
                    + "(GLACIER, DEEP_ARCHIVE): skipped unless restored at the source first")
        }
        let copies = Array(placement.zones.prefix(options.replicas))
        let countries = Set(copies.compactMap { inputs.catalog.zone(named: $0)?.country }).sorted()
        return .placed(
            MigrationPlanV1.Bucket(
                sourceBucket: b.name, sourceRegion: b.region, targetBucket: target, constraint: constraint,
                replicas: options.replicas, zones: copies, allowedZones: placement.zones, countries: countries,
                objects: b.summary.objectCount - archivedObjects, bytes: b.summary.totalBytes - archivedBytes,
                archivedObjects: archivedObjects, archivedBytes: archivedBytes,
                targetExists: inputs.existing[target] != nil,
                notes: notes))
    }

    /// What the gateway will not carry over from the source bucket's configuration.
    static func notes(_ s: SnapshotV1.Statuses) -> [String] {
        var notes: [String] = []
        if s.versioning == .enabled || s.versioning == .suspended {
            notes.append(
                "versioning is \(s.versioning.rawValue) at the source: only current versions are copied, "
                    + "not noncurrent versions or delete markers")
        }
        if s.objectLock == .enabled { notes.append("Object Lock retention and legal holds are not carried over") }
        if s.lifecycle == .enabled { notes.append("lifecycle rules are not carried over") }
        if s.replication == .enabled { notes.append("the replication configuration is not carried over") }
        if s.policy == .enabled { notes.append("the bucket policy is not carried over") }
        return notes
    }

    /// A constraint as CreateBucket compares entries: trimmed, lowercased, in order.
    static func normalized(_ constraint: String) -> [String] {
        constraint.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty }
    }

    /// Per zone (catalog order) and per country (sorted), every copy counted.
    static func usage(_ placed: [MigrationPlanV1.Bucket], inputs: Inputs) -> (
        [MigrationPlanV1.ZoneUsage], [MigrationPlanV1.CountryUsage]
    ) {
        var byZone: [String: (objects: Int64, bytes: Int64)] = [:]
        for b in placed {
            for z in b.zones {
                byZone[z, default: (0, 0)].objects += b.objects
                byZone[z, default: (0, 0)].bytes += b.bytes
            }
        }
        var zones: [MigrationPlanV1.ZoneUsage] = []
        var byCountry: [String: (objects: Int64, bytes: Int64)] = [:]
        for z in inputs.catalog.zones {
            guard let u = byZone[z.name] else { continue }
            let price = inputs.prices[z.name]
            zones.append(
                MigrationPlanV1.ZoneUsage(
                    zone: z.name, country: z.country, objects: u.objects, bytes: u.bytes, pricePerGbMonth: price,
                    monthlyCost: price.map { Double(u.bytes) / gib * $0 }))
            byCountry[z.country, default: (0, 0)].objects += u.objects
            byCountry[z.country, default: (0, 0)].bytes += u.bytes
        }
        let countries = byCountry.keys.sorted().map {
            MigrationPlanV1.CountryUsage(country: $0, objects: byCountry[$0]!.objects, bytes: byCountry[$0]!.bytes)
        }
        return (zones, countries)
    }
}
