import GatewayCore
import XCTest

final class LifecycleEvaluatorTests: XCTestCase {
    let day = 86_400.0
    /// 2026-01-15 10:30 UTC.
    let t0 = 1_768_473_000.0

    func version(
        _ key: String, _ id: String, at t: Double, size: Int64 = 10, tags: [Header] = [], marker: Bool = false,
        noncurrentSince: Double = 0
    ) -> ObjectRecord {
        var o = ObjectRecord(
            bucket: "b", key: key, size: marker ? 0 : size, etag: "e", lastModified: t, contentType: "", headers: [],
            checksums: [:], zone: "z", blob: marker ? "" : "blob-\(id)", tags: tags)
        o.versionId = id
        o.isDeleteMarker = marker
        o.noncurrentSince = noncurrentSince
        return o
    }

    func evaluator(_ rules: LifecycleRule...) -> LifecycleEvaluator {
        LifecycleEvaluator(LifecycleConfiguration(rules: rules))
    }

    func testDaysRoundUpToTheNextMidnightUTC() {
        // AWS's example: written 2014-01-15 10:30 UTC, 3 days → 2014-01-19 00:00 UTC.
        XCTAssertEqual(LifecycleEvaluator.due(from: 1_389_781_800, days: 3), 1_390_089_600)
        // Already at midnight: stays.
        XCTAssertEqual(LifecycleEvaluator.due(from: 1_389_744_000, days: 1), 1_389_830_400)
    }

    func testCurrentVersionExpiresAtItsDueMidnight() {
        let e = evaluator(LifecycleRule(id: "d1", expiration: .days(1)))
        let v = [version("k", "v1", at: t0)]
        let due = LifecycleEvaluator.due(from: t0, days: 1)
        XCTAssertEqual(due, 1_768_608_000)  // 2026-01-17 00:00 UTC
        XCTAssertEqual(e.actions(versions: v, now: due - 1), [])
        XCTAssertEqual(e.actions(versions: v, now: due), [.expireCurrent(ruleId: "d1")])
        XCTAssertEqual(e.expiration(for: v[0])?.date, due)
        XCTAssertEqual(e.expiration(for: v[0])?.ruleId, "d1")
    }

    func testDateRuleAndEarliestRuleWins() {
        let date = 1_769_904_000.0  // 2026-02-01
        let e = evaluator(
            LifecycleRule(id: "late", expiration: .days(365)), LifecycleRule(id: "date", expiration: .date(date)))
        let v = [version("k", "v1", at: t0)]
        XCTAssertEqual(e.expiration(for: v[0])?.ruleId, "date")
        XCTAssertEqual(e.actions(versions: v, now: date - 1), [])
        XCTAssertEqual(e.actions(versions: v, now: date), [.expireCurrent(ruleId: "date")])
    }

    func testDisabledRulesDoNothing() {
        let e = evaluator(
            LifecycleRule(
                id: "off", enabled: false, expiration: .days(1), noncurrentExpiration: .init(noncurrentDays: 1)))
        let v = [version("k", "v2", at: t0), version("k", "v1", at: t0 - day, noncurrentSince: t0)]
        XCTAssertEqual(e.actions(versions: v, now: t0 + 100 * day), [])
        XCTAssertNil(e.expiration(for: v[0]))
    }

    func testFiltersByPrefixSizeTagsAndAnd() {
        let tag = Header("class", "tmp")
        let cases: [(LifecycleFilter, ObjectRecord, Bool)] = [
            (LifecycleFilter(prefix: "logs/"), version("logs/a", "1", at: t0), true),
            (LifecycleFilter(prefix: "logs/"), version("data/a", "1", at: t0), false),
            (LifecycleFilter(sizeGreaterThan: 10), version("a", "1", at: t0, size: 10), false),
            (LifecycleFilter(sizeGreaterThan: 10), version("a", "1", at: t0, size: 11), true),
            (LifecycleFilter(sizeLessThan: 10), version("a", "1", at: t0, size: 10), false),
            (LifecycleFilter(sizeLessThan: 10), version("a", "1", at: t0, size: 9), true),
            (LifecycleFilter(tags: [tag]), version("a", "1", at: t0), false),
            (LifecycleFilter(tags: [tag]), version("a", "1", at: t0, tags: [tag, Header("x", "y")]), true),
            (LifecycleFilter(tags: [tag]), version("a", "1", at: t0, tags: [Header("class", "keep")]), false),
            (
                LifecycleFilter(shape: .and, prefix: "p/", tags: [tag], sizeGreaterThan: 1, sizeLessThan: 100),
                version("p/a", "1", at: t0, size: 50, tags: [tag]), true
            ),
            (
                LifecycleFilter(shape: .and, prefix: "p/", tags: [tag], sizeGreaterThan: 1, sizeLessThan: 100),
                version("q/a", "1", at: t0, size: 50, tags: [tag]), false
            ),
            (
                LifecycleFilter(shape: .and, prefix: "p/", tags: [tag], sizeGreaterThan: 1, sizeLessThan: 100),
                version("p/a", "1", at: t0, size: 500, tags: [tag]), false
            ),
        ]
        for (i, (filter, v, expired)) in cases.enumerated() {
            let e = evaluator(LifecycleRule(id: "r", filter: filter, expiration: .days(1)))
            XCTAssertEqual(
                e.actions(versions: [v], now: t0 + 10 * day), expired ? [.expireCurrent(ruleId: "r")] : [], "case \(i)")
        }
    }

    func testNoncurrentDaysCountFromNoncurrentSinceAndKeepNewer() {
        // v4 latest; v3, v2, v1 noncurrent since t0 + 1, 2, 3 days.
        let versions = [
            version("k", "v4", at: t0 + 3 * day),
            version("k", "v3", at: t0 + 2 * day, noncurrentSince: t0 + 3 * day),
            version("k", "v2", at: t0 + day, noncurrentSince: t0 + 2 * day),
            version("k", "v1", at: t0, noncurrentSince: t0 + day),
        ]
        let e = evaluator(LifecycleRule(id: "nc", noncurrentExpiration: .init(noncurrentDays: 1)))
        // v1 noncurrent since t0 + 1 day (10:30) → due at midnight after t0 + 2 days.
        let v1Due = LifecycleEvaluator.due(from: t0 + day, days: 1)
        XCTAssertEqual(e.actions(versions: versions, now: v1Due - 1), [])
        XCTAssertEqual(e.actions(versions: versions, now: v1Due), [.removeVersion(versionId: "v1", ruleId: "nc")])
        XCTAssertEqual(
            e.actions(versions: versions, now: t0 + 10 * day),
            ["v3", "v2", "v1"].map { .removeVersion(versionId: $0, ruleId: "nc") })

        // Keep the two newest noncurrent versions whatever their age.
        let keep = evaluator(
            LifecycleRule(id: "keep2", noncurrentExpiration: .init(noncurrentDays: 1, newerNoncurrentVersions: 2)))
        XCTAssertEqual(
            keep.actions(versions: versions, now: t0 + 10 * day), [.removeVersion(versionId: "v1", ruleId: "keep2")])

        // A row without noncurrent_since counts from the write that replaced it.
        let old = [version("k", "v2", at: t0), version("k", "v1", at: t0 - 30 * day)]
        XCTAssertEqual(
            e.actions(versions: old, now: LifecycleEvaluator.due(from: t0, days: 1)),
            [.removeVersion(versionId: "v1", ruleId: "nc")])
    }

    func testExpiredDeleteMarkerIsRemovedOnlyWhenAlone() {
        let e = evaluator(LifecycleRule(id: "m", expiration: .expiredObjectDeleteMarker(true)))
        let marker = version("k", "m1", at: t0, marker: true)
        XCTAssertEqual(e.actions(versions: [marker], now: t0), [.removeVersion(versionId: "m1", ruleId: "m")])
        let withOlder = [marker, version("k", "v1", at: t0 - day, noncurrentSince: t0)]
        XCTAssertEqual(e.actions(versions: withOlder, now: t0 + 100 * day), [])
        XCTAssertEqual(
            evaluator(LifecycleRule(id: "m", expiration: .expiredObjectDeleteMarker(false))).actions(
                versions: [marker], now: t0), [])
        // A marker has no expiration date of its own (no x-amz-expiration).
        XCTAssertNil(evaluator(LifecycleRule(id: "d", expiration: .days(1))).expiration(for: marker))
    }

    /// S3 ("Managing delete markers"): with Days, expired object delete markers are cleaned up
    /// once they are old enough for the rule's age; with Date, once the date has come. Only a
    /// lone marker, only under the rule's prefix, never with a tag or size filter.
    func testExpirationDaysAndDateAlsoRemoveExpiredObjectDeleteMarkers() {
        let marker = version("logs/k", "m1", at: t0, marker: true)
        let days = evaluator(LifecycleRule(id: "d", filter: LifecycleFilter(prefix: "logs/"), expiration: .days(2)))
        let due = LifecycleEvaluator.due(from: t0, days: 2)
        XCTAssertEqual(days.actions(versions: [marker], now: due - 1), [], "not old enough yet")
        XCTAssertEqual(days.actions(versions: [marker], now: due), [.removeVersion(versionId: "m1", ruleId: "d")])
        let withOlder = [marker, version("logs/k", "v1", at: t0 - day, noncurrentSince: t0)]
        XCTAssertEqual(days.actions(versions: withOlder, now: due + 100 * day), [], "not alone: kept")
        let date = evaluator(
            LifecycleRule(id: "date", expiration: .date(t0 + 10 * day - t0.truncatingRemainder(dividingBy: day))))
        XCTAssertEqual(date.actions(versions: [marker], now: t0), [])
        XCTAssertEqual(
            date.actions(versions: [marker], now: t0 + 10 * day), [.removeVersion(versionId: "m1", ruleId: "date")])
        let otherPrefix = evaluator(
            LifecycleRule(id: "p", filter: LifecycleFilter(prefix: "tmp/"), expiration: .days(1)))
        XCTAssertEqual(otherPrefix.actions(versions: [marker], now: t0 + 100 * day), [])
        let tagged = evaluator(
            LifecycleRule(id: "t", filter: LifecycleFilter(tags: [Header("a", "b")]), expiration: .days(1)))
        XCTAssertEqual(tagged.actions(versions: [marker], now: t0 + 100 * day), [])
        let sized = evaluator(LifecycleRule(id: "s", filter: LifecycleFilter(sizeLessThan: 100), expiration: .days(1)))
        XCTAssertEqual(sized.actions(versions: [marker], now: t0 + 100 * day), [], "a marker has no size to match")
    }

    /// The streamed pass (`KeyPass`, fed one version at a time) decides what the whole list does,
    /// keeping only the counts: NewerNoncurrentVersions across many versions.
    func testAKeyPassStreamsVersionsWithTheSameOutcome() {
        let e = evaluator(
            LifecycleRule(id: "keep3", noncurrentExpiration: .init(noncurrentDays: 1, newerNoncurrentVersions: 3)),
            LifecycleRule(
                id: "all", filter: LifecycleFilter(sizeGreaterThan: 5), noncurrentExpiration: .init(noncurrentDays: 5)))
        var versions = [version("k", "v100", at: t0 + 100 * day)]
        for i in (0..<100).reversed() {
            versions.append(
                version(
                    "k", "v\(i)", at: t0 + Double(i) * day, size: Int64(i % 10),
                    noncurrentSince: t0 + Double(i + 1) * day))
        }
        let now = t0 + 110 * day
        let whole = e.actions(versions: versions, now: now)
        var pass = LifecycleEvaluator.KeyPass(e, now: now)
        var streamed: [LifecycleEvaluator.Action] = []
        for v in versions { streamed += pass.next(v) }
        streamed += pass.finish()
        XCTAssertEqual(streamed, whole)
        // v99, v98, v97: the three newest noncurrent, kept by keep3, let go by "all" (size > 5,
        // noncurrent 5 days); the rest go by keep3.
        XCTAssertEqual(whole.count, 100)
        XCTAssertEqual(
            Array(whole.prefix(4)),
            [
                .removeVersion(versionId: "v99", ruleId: "all"), .removeVersion(versionId: "v98", ruleId: "all"),
                .removeVersion(versionId: "v97", ruleId: "all"), .removeVersion(versionId: "v96", ruleId: "keep3"),
            ])
    }

    func testExpireCurrentAndNoncurrentInOnePass() {
        let e = evaluator(
            LifecycleRule(id: "all", expiration: .days(1), noncurrentExpiration: .init(noncurrentDays: 1)))
        let versions = [version("k", "v2", at: t0), version("k", "v1", at: t0 - day, noncurrentSince: t0)]
        XCTAssertEqual(
            e.actions(versions: versions, now: t0 + 3 * day),
            [.expireCurrent(ruleId: "all"), .removeVersion(versionId: "v1", ruleId: "all")])
    }

    func testAbortDateAndHeaderFormat() {
        let e = evaluator(
            LifecycleRule(id: "abort 7", filter: LifecycleFilter(prefix: "up/"), abortIncompleteUploadDays: 7),
            LifecycleRule(id: "abort2", abortIncompleteUploadDays: 2))
        XCTAssertEqual(e.abortDate(key: "up/a", initiated: t0)?.ruleId, "abort2")
        XCTAssertEqual(e.abortDate(key: "up/a", initiated: t0)?.date, LifecycleEvaluator.due(from: t0, days: 2))
        XCTAssertNil(evaluator(LifecycleRule(id: "x", expiration: .days(1))).abortDate(key: "a", initiated: t0))
        XCTAssertEqual(
            LifecycleEvaluator.header(date: 1_356_220_800, ruleId: "picture deletion/rule"),
            "expiry-date=\"Sun, 23 Dec 2012 00:00:00 GMT\", rule-id=\"picture%20deletion%2Frule\"")
    }
}
