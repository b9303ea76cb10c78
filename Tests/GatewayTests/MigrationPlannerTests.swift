import Foundation
import GatewayCore
import XCTest

@testable import Gateway

/// The migration planner: where each source bucket goes under the residency rules, why one
/// cannot, and the usage, time and cost it adds up to. Table-driven over a small catalog:
/// Finland has two zones, Germany one, Sweden one (priced differently).
final class MigrationPlannerTests: XCTestCase {
    static let catalog = ZoneCatalog(
        zones: [
            .init(name: "fi-hel-1", country: "fi", region: "fi-hel"),
            .init(name: "fi-hel-2", country: "fi", region: "fi-hel"),
            .init(name: "de-fra-1", country: "de", region: "de-fra"),
            .init(name: "se-sto-1", country: "se", region: "se-sto"),
        ], defaultZone: "se-sto-1")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func bucket(
        _ name: String, objects: Int64 = 10, bytes: Int64 = 1000, listing: SnapshotV1.Listing = .complete,
        classes: [(String, Int64, Int64)] = [], statuses: SnapshotV1.Statuses = SnapshotV1.Statuses()
    ) -> SnapshotV1.Bucket {
        SnapshotV1.Bucket(
            name: name, region: "eu-west-1", objects: [], listing: listing, statuses: statuses,
            summary: SnapshotV1.BucketSummary(
                objectCount: objects, totalBytes: bytes,
                storageClasses: classes.map { .init(storageClass: $0.0, objects: $0.1, bytes: $0.2) },
                sizeHistogram: [], lastModified: [], topPrefixes: []))
    }

    static func snapshot(_ buckets: [SnapshotV1.Bucket]) -> SnapshotV1 {
        SnapshotV1(
            schemaVersion: 1,
            snapshot: .init(
                id: "snap-1", createdAt: now,
                source: .init(endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1")!,
                sanitization: .full, prefixDepth: 2),
            buckets: buckets)
    }

    func plan(
        _ buckets: [SnapshotV1.Bucket], _ options: MigrationPlanV1.Options, inputs: MigrationPlanner.Inputs? = nil
    ) -> MigrationPlanV1 {
        MigrationPlanner.plan(
            Self.snapshot(buckets), options: options, inputs: inputs ?? .init(catalog: Self.catalog), id: "plan-1",
            now: Self.now)
    }

    // MARK: - Placement, one row per case

    func testPlacementFollowsTheResidencyRules() {
        struct Case {
            let name: String
            let constraint: String
            let replicas: Int
            let prefix: String
            let existing: [String: MigrationPlanner.ExistingBucket]
            let health: [String: ZoneHealth.State]
            let listing: SnapshotV1.Listing
            /// The copies' zones, or the reason it cannot be placed.
            let expected: Result<[String], Failure>
            struct Failure: Error, Equatable { let reason: MigrationPlanV1.Reason }
            init(
                _ name: String, _ constraint: String, replicas: Int = 1, prefix: String = "",
                existing: [String: MigrationPlanner.ExistingBucket] = [:], health: [String: ZoneHealth.State] = [:],
                listing: SnapshotV1.Listing = .complete, _ expected: Result<[String], Failure>
            ) {
                self.name = name
                self.constraint = constraint
                self.replicas = replicas
                self.prefix = prefix
                self.existing = existing
                self.health = health
                self.listing = listing
                self.expected = expected
            }
        }
        func refused(_ r: MigrationPlanV1.Reason) -> Result<[String], Case.Failure> { .failure(.init(reason: r)) }
        let owned = MigrationPlanner.ExistingBucket(ownedByPlanner: true, constraint: "FI, de")
        let cases: [Case] = [
            Case("two countries, two copies", "fi,de", replicas: 2, .success(["fi-hel-1", "de-fra-1"])),
            Case("one country, two copies stay in it", "fi", replicas: 2, .success(["fi-hel-1", "fi-hel-2"])),
            Case(
                "three copies over two countries", "fi,de", replicas: 3, .success(["fi-hel-1", "de-fra-1", "fi-hel-2"])),
            Case("a zone by name", "de-fra-1", .success(["de-fra-1"])),
            Case("a region", "fi-hel", .success(["fi-hel-1"])),
            Case("a down zone goes last", "fi", health: ["fi-hel-1": .down], .success(["fi-hel-2"])),
            Case("too few zones for the copies", "de", replicas: 2, refused(.tooFewZones)),
            Case("unknown country", "xx", refused(.invalidConstraint)),
            Case("an entry twice", "fi,FI", refused(.invalidConstraint)),
            Case("an empty entry", "fi,,de", refused(.invalidConstraint)),
            Case("listing denied", "fi", listing: .accessDenied, refused(.listingAccessDenied)),
            Case("listing incomplete", "fi", listing: .incomplete, refused(.listingIncomplete)),
            Case("prefix makes an invalid name", "fi", prefix: "Old_", refused(.invalidTargetName)),
            Case(
                "prefix makes a name too long", "fi", prefix: String(repeating: "a", count: 60),
                refused(.invalidTargetName)),
            Case("prefix applied", "fi", prefix: "old-", .success(["fi-hel-1"])),
            Case(
                "target owned by another user", "fi",
                existing: ["photos": .init(ownedByPlanner: false, constraint: "fi")], refused(.targetOwnedByAnother)),
            Case(
                "target exists with another constraint", "fi",
                existing: ["photos": .init(ownedByPlanner: true, constraint: "de")], refused(.targetConstraintDiffers)),
            Case(
                "target exists with the same constraint", "fi,de", existing: ["photos": owned], .success(["fi-hel-1"])),
        ]
        for c in cases {
            let p = plan(
                [Self.bucket("photos", listing: c.listing)],
                .init(constraint: c.constraint, replicas: c.replicas, bucketPrefix: c.prefix),
                inputs: .init(catalog: Self.catalog, health: c.health, existing: c.existing))
            switch c.expected {
            case .success(let zones):
                XCTAssertEqual(p.unplaceable.map(\.message), [], c.name)
                XCTAssertEqual(p.buckets.first?.zones, zones, c.name)
                XCTAssertEqual(p.buckets.first?.targetBucket, c.prefix + "photos", c.name)
                XCTAssertEqual(p.buckets.first?.targetExists, !c.existing.isEmpty, c.name)
                // Every copy's country is one the constraint names.
                let allowed = try? Self.catalog.placement(for: c.constraint).countries
                for z in zones {
                    XCTAssertTrue(allowed?.contains(Self.catalog.zone(named: z)!.country) == true, c.name)
                }
            case .failure(let f):
                XCTAssertEqual(p.buckets.count, 0, c.name)
                XCTAssertEqual(p.unplaceable.map(\.reason), [f.reason], c.name)
                XCTAssertEqual(p.unplaceable.first?.sourceBucket, "photos", c.name)
                XCTAssertFalse(p.unplaceable.first?.message.isEmpty ?? true, c.name)
            }
        }
    }

    func testReasonsNameWhatIsWrong() {
        let p = plan(
            [Self.bucket("alpha"), Self.bucket("beta")],
            .init(constraint: "de", replicas: 2, bucketConstraints: [.init(bucket: "beta", constraint: "fi,nowhere")]))
        XCTAssertEqual(
            p.unplaceable.map(\.message),
            [
                "the constraint 'de' allows 1 zone (de-fra-1); 2 copies need 2",
                "the constraint 'fi,nowhere' is not valid: nowhere is not a country, region or zone of this gateway",
            ])
    }

    /// The names the gateway's own APIs take path-style are refused as targets, as CreateBucket
    /// refuses them.
    func testReservedNamesAreNoTargets() {
        let p = plan([Self.bucket("admin"), Self.bucket("api"), Self.bucket("apis")], .init(constraint: "fi"))
        XCTAssertEqual(p.unplaceable.map(\.reason), [.invalidTargetName, .invalidTargetName])
        XCTAssertEqual(p.buckets.map(\.targetBucket), ["apis"])
    }

    func testABucketsOwnConstraintOverridesThePlans() {
        let p = plan(
            [Self.bucket("alpha"), Self.bucket("beta")],
            .init(constraint: "fi", bucketConstraints: [.init(bucket: "beta", constraint: "se")]))
        XCTAssertEqual(p.buckets.map(\.zones), [["fi-hel-1"], ["se-sto-1"]])
        XCTAssertEqual(p.buckets.map(\.constraint), ["fi", "se"])
        XCTAssertEqual(p.countries.map(\.country), ["fi", "se"])
    }

    // MARK: - Usage, time and cost

    func testUsageCountsEveryCopyPerZoneAndCountry() {
        let p = plan(
            [
                Self.bucket("alpha", objects: 3, bytes: 3 << 30),
                Self.bucket("beta", objects: 2, bytes: 1 << 30),
                Self.bucket("denied", listing: .accessDenied),
            ],
            .init(constraint: "fi,de", replicas: 3),
            inputs: .init(catalog: Self.catalog, prices: ["fi-hel-1": 0.02, "de-fra-1": 0.03], bandwidthMbps: 80))
        XCTAssertEqual(
            p.zones.map { [$0.zone, $0.country, "\($0.objects)", "\($0.bytes)"] },
            [
                ["fi-hel-1", "fi", "5", "\(4 << 30)"], ["fi-hel-2", "fi", "5", "\(4 << 30)"],
                ["de-fra-1", "de", "5", "\(4 << 30)"],
            ])
        XCTAssertEqual(
            p.countries.map { "\($0.country) \($0.objects) \($0.bytes)" }, ["de 5 \(4 << 30)", "fi 10 \(8 << 30)"])
        XCTAssertEqual(p.totals.buckets, 2)
        XCTAssertEqual(p.totals.unplaceableBuckets, 1)
        XCTAssertEqual(p.totals.objects, 5)
        XCTAssertEqual(p.totals.bytes, 4 << 30)
        XCTAssertEqual(p.totals.storedBytes, 12 << 30)
        // 4 GiB at 80 Mbit/s: 4 × 2^30 × 8 / 80e6 s.
        XCTAssertEqual(p.totals.transferSeconds, Double(4 << 30) * 8 / 80e6, accuracy: 1e-6)
        XCTAssertEqual(p.zones.map(\.monthlyCost), [0.08, nil, 0.12])
        XCTAssertEqual(p.totals.monthlyCost!, 0.20, accuracy: 1e-9)
        XCTAssertFalse(p.totals.monthlyCostComplete)
    }

    func testCostIsCompleteWhenEveryZoneHasAPriceAndNullWhenNoneHas() {
        let priced = plan(
            [Self.bucket("alpha", bytes: 1 << 30)], .init(constraint: "se"),
            inputs: .init(catalog: Self.catalog, prices: ["se-sto-1": 0.5]))
        XCTAssertEqual(priced.totals.monthlyCost, 0.5)
        XCTAssertTrue(priced.totals.monthlyCostComplete)
        let unpriced = plan([Self.bucket("alpha", bytes: 1 << 30)], .init(constraint: "se"))
        XCTAssertNil(unpriced.totals.monthlyCost)
        XCTAssertFalse(unpriced.totals.monthlyCostComplete)
        let json = String(decoding: try! MigrationPlanFile.encode(unpriced), as: UTF8.self)
        XCTAssertTrue(json.contains("\"monthly_cost\":null"), json)
        XCTAssertTrue(json.contains("\"price_per_gb_month\":null"), json)
    }

    func testArchivedObjectsAreLeftOutOfTheCopyAndNoted() {
        var statuses = SnapshotV1.Statuses()
        statuses.versioning = .enabled
        statuses.lifecycle = .enabled
        let p = plan(
            [
                Self.bucket(
                    "alpha", objects: 10, bytes: 1000,
                    classes: [("STANDARD", 7, 700), ("GLACIER", 2, 200), ("DEEP_ARCHIVE", 1, 100)], statuses: statuses)
            ],
            .init(constraint: "fi"))
        let b = p.buckets[0]
        XCTAssertEqual([b.objects, b.bytes, b.archivedObjects, b.archivedBytes], [7, 700, 3, 300])
        XCTAssertEqual(p.totals.bytes, 700)
        XCTAssertEqual(b.notes.count, 3, "\(b.notes)")
        XCTAssertTrue(b.notes[0].hasPrefix("versioning is enabled"))
        XCTAssertTrue(b.notes[2].hasPrefix("3 objects are in an archive storage class"))
    }

    // MARK: - The committed snapshot fixture, the file and the summary

    func testPlanOfTheCommittedSnapshotFixture() throws {
        let snapshot = try SnapshotReader.read(
            contentsOf: SnapshotTests.fixtures.appendingPathComponent("snapshot-v1.json"))
        let p = MigrationPlanner.plan(
            snapshot, options: .init(constraint: "fi,de", replicas: 2), inputs: .init(catalog: Self.catalog), id: "p",
            now: Self.now)
        XCTAssertEqual(p.plan.source, .init(endpointHost: "s3.eu-north-1.amazonaws.com:443", region: "eu-north-1"))
        XCTAssertEqual(p.buckets.map(\.targetBucket), ["photos-eu"])
        XCTAssertEqual(p.buckets[0].objects, 4)
        XCTAssertEqual(p.buckets[0].bytes, 1018)
        XCTAssertEqual(
            p.unplaceable.map { "\($0.sourceBucket) \($0.reason.rawValue)" },
            ["private-archive listing_access_denied", "copy-of-photos listing_incomplete"])
    }

    func testFileRoundTripAndVersionCheck() throws {
        let p = plan(
            [Self.bucket("alpha"), Self.bucket("beta", listing: .accessDenied)], .init(constraint: "fi,de", replicas: 2)
        )
        let data = try MigrationPlanFile.encode(p)
        XCTAssertEqual(try MigrationPlanFile.decode(data), p)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"buckets\":"), text)
        XCTAssertTrue(text.contains("\"plan_version\":1"))
        let newer = text.replacingOccurrences(of: "\"plan_version\":1", with: "\"plan_version\":2")
        XCTAssertThrowsError(try MigrationPlanFile.decode(Data(newer.utf8))) {
            XCTAssertEqual($0 as? MigrationPlanFile.Failure, .unsupportedVersion(2))
        }
        XCTAssertThrowsError(try MigrationPlanFile.decode(Data("{\"buckets\":[]}".utf8))) {
            XCTAssertEqual($0 as? MigrationPlanFile.Failure, .notAPlan)
        }
    }

    func testSummaryNamesBucketsReasonsZonesAndTotals() {
        let p = plan(
            [Self.bucket("photos", objects: 1234, bytes: 5 << 30), Self.bucket("logs", listing: .accessDenied)],
            .init(constraint: "fi,de", replicas: 2),
            inputs: .init(catalog: Self.catalog, prices: ["fi-hel-1": 0.02], bandwidthMbps: 100))
        let text = MigrationPlanSummary.text(p)
        for expected in [
            "constraint fi,de · 2 copies per object", "photos", "fi-hel-1,de-fra-1", "1,234", "5.0 GiB",
            "logs (listing_access_denied): the discovery could not list the bucket (AccessDenied)",
            "10.0 GiB stored with every copy", "at 100 Mbit/s", "0.10 a month for the zones with a price",
        ] {
            XCTAssertTrue(text.contains(expected), "missing \(expected) in\n\(text)")
        }
        XCTAssertEqual(MigrationPlanSummary.duration(Double(5 << 30) * 8 / 100e6), "8 min")
    }

    // MARK: - Configuration

    func testBandwidthAndPricesComeFromTheConfiguration() throws {
        let zones = """
            [[zones]]
            name = "fi-hel-1"
            path = "/data/z1"
            price_per_gb_month = 0.023

            [[zones]]
            name = "de-fra-1"
            path = "/data/z2"
            price_per_gb_month = 2
            """
        let c = try GatewayConfig.parse("[migration]\nbandwidth_mbps = 250.5\n" + zones, file: "t.toml")
        XCTAssertEqual(c.migration.bandwidthMbps, 250.5)
        XCTAssertEqual(c.zones.map(\.pricePerGBMonth), [0.023, 2])
        let defaults = try GatewayConfig.parse("[[zones]]\nname = \"z\"\npath = \"/z\"\n", file: "t.toml")
        XCTAssertEqual(defaults.migration.bandwidthMbps, 100)
        XCTAssertNil(defaults.zones[0].pricePerGBMonth)
        for bad in [
            "[migration]\nbandwidth_mbps = 0\n", "[migration]\nbandwidth_mbps = \"fast\"\n", "[migration]\nspeed = 1\n",
        ] {
            XCTAssertThrowsError(try GatewayConfig.parse(bad + zones, file: "t.toml"), bad)
        }
        XCTAssertThrowsError(try GatewayConfig.parse(zones + "\nprice_per_gb_month = -1\n", file: "t.toml"))
    }

    /// Writes Tests/Fixtures/migration-plan-v1.json (validated against the schema by
    /// Tests/e2e/test_migration.py) when S3GW_WRITE_PLAN_FIXTURE names the directory.
    func testWriteFixtureWhenAsked() throws {
        guard let out = ProcessInfo.processInfo.environment["S3GW_WRITE_PLAN_FIXTURE"] else {
            throw XCTSkip("S3GW_WRITE_PLAN_FIXTURE not set")
        }
        var statuses = SnapshotV1.Statuses()
        statuses.versioning = .enabled
        let p = plan(
            [
                Self.bucket(
                    "photos", objects: 1234, bytes: 5 << 30,
                    classes: [("STANDARD", 1233, (5 << 30) - 10), ("GLACIER", 1, 10)], statuses: statuses),
                Self.bucket("logs", listing: .accessDenied),
            ],
            .init(
                constraint: "fi,de", replicas: 2, bucketPrefix: "old-",
                bucketConstraints: [.init(bucket: "logs", constraint: "de")]),
            inputs: .init(catalog: Self.catalog, prices: ["fi-hel-1": 0.02], bandwidthMbps: 100))
        try MigrationPlanFile.encode(p).write(
            to: URL(fileURLWithPath: out).appendingPathComponent("migration-plan-v1.json"))
    }
}
