import XCTest

@testable import Metrics

/// The text Prometheus reads: every family with HELP and TYPE in catalog order, histogram
/// buckets cumulative with `_count` equal to the +Inf bucket, label values escaped.
final class ExpositionTests: XCTestCase {
    func lines(_ s: MetricsSnapshot) -> [String] { Exposition.render(s).split(separator: "\n").map(String.init) }

    func testEveryFamilyHasHelpAndTypeInCatalogOrder() {
        let text = lines(MetricsSnapshot())
        let types = text.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        XCTAssertEqual(types.map(String.init), MetricFamily.all.map(\.name))
        XCTAssertEqual(text.filter { $0.hasPrefix("# HELP ") }.count, MetricFamily.all.count)
        for family in MetricFamily.all where family.kind == .counter {
            XCTAssertTrue(family.name.hasSuffix("_total"), family.name)
        }
        // Unlabelled counters are there from the start.
        XCTAssertTrue(text.contains("s3gw_worker_restarts_total 0"))
    }

    func testHistogramBucketsAreCumulativeAndCountMatches() {
        var raw: [String: UInt64] = [:]
        let f = MetricFamily.requestDuration
        raw[SeriesKey.make(f, ["GetObject"], part: "0.001")] = 2
        raw[SeriesKey.make(f, ["GetObject"], part: "0.01")] = 3
        raw[SeriesKey.make(f, ["GetObject"], part: "+Inf")] = 1
        raw[SeriesKey.make(f, ["GetObject"], part: "s")] = 1_500_000  // µs
        let text = lines(MetricsSnapshot(counted: raw))
        let buckets = text.filter { $0.hasPrefix("s3gw_request_duration_seconds_bucket{operation=\"GetObject\"") }
        XCTAssertEqual(buckets.count, f.buckets.count + 1)
        XCTAssertEqual(buckets[0], "s3gw_request_duration_seconds_bucket{operation=\"GetObject\",le=\"0.001\"} 2")
        XCTAssertEqual(buckets[2], "s3gw_request_duration_seconds_bucket{operation=\"GetObject\",le=\"0.005\"} 2")
        XCTAssertEqual(buckets[3], "s3gw_request_duration_seconds_bucket{operation=\"GetObject\",le=\"0.01\"} 5")
        XCTAssertEqual(buckets[9], "s3gw_request_duration_seconds_bucket{operation=\"GetObject\",le=\"1\"} 5")
        XCTAssertEqual(buckets.last, "s3gw_request_duration_seconds_bucket{operation=\"GetObject\",le=\"+Inf\"} 6")
        XCTAssertTrue(text.contains("s3gw_request_duration_seconds_sum{operation=\"GetObject\"} 1.5"))
        XCTAssertTrue(text.contains("s3gw_request_duration_seconds_count{operation=\"GetObject\"} 6"))
        let values = buckets.map { UInt64($0.split(separator: " ").last!)! }
        XCTAssertEqual(values, values.sorted(), "cumulative")
    }

    func testLabelValuesAreEscaped() {
        var s = MetricsSnapshot()
        s.set(.zoneUp, ["a\"b\\c\nd", "se"], 1)
        XCTAssertTrue(lines(s).contains("s3gw_zone_up{zone=\"a\\\"b\\\\c\\nd\",country=\"se\"} 1"))
        XCTAssertEqual(Exposition.escapeHelp("a\\b\nc"), "a\\\\b\\nc")
    }

    /// "\r\n" and a quote followed by a combining mark are each one Character: escaping by
    /// Character let the line feed and the quote through unescaped.
    func testEscapingIsByScalarNotCharacter() {
        XCTAssertEqual(Exposition.escapeLabel("a\r\nb"), "a\r\\nb")
        XCTAssertEqual(Exposition.escapeLabel("x\"\u{301}y"), "x\\\"\u{301}y")
        XCTAssertEqual(Exposition.escapeHelp("a\r\nb"), "a\r\\nb")
        var s = MetricsSnapshot()
        s.set(.zoneUp, ["a\r\nb", "se"], 1)
        XCTAssertEqual(
            lines(s).filter { $0.hasPrefix("s3gw_zone_up") }, ["s3gw_zone_up{zone=\"a\r\\nb\",country=\"se\"} 1"])
    }

    /// A histogram's bucket keys name bounds: counts kept under buckets an earlier build had go
    /// to the bucket that still holds them (the first bound at or above), not shifted by index.
    func testHistogramKeysNameBoundsSoChangedBucketsDoNotShiftCounts() {
        let f = MetricFamily.requestDuration
        XCTAssertEqual(SeriesKey.part(f, 2), "0.005")
        XCTAssertEqual(SeriesKey.part(f, f.buckets.count), "+Inf")
        XCTAssertEqual(SeriesKey.part(f, CounterFile.sumPart), "s")
        var raw: [String: UInt64] = [:]
        raw[SeriesKey.make(f, ["GetObject"], part: "0.005")] = 2
        raw[SeriesKey.make(f, ["GetObject"], part: "0.007")] = 3  // a bound no longer there: into ≤ 0.01
        raw[SeriesKey.make(f, ["GetObject"], part: "9999")] = 4  // past the last bound: +Inf
        let h = MetricsSnapshot(counted: raw).histogram("s3gw_request_duration_seconds")!
        XCTAssertEqual(h.buckets[2], 2)
        XCTAssertEqual(h.buckets[3], 3)
        XCTAssertEqual(h.buckets.last, 4)
    }

    func testControlCharactersCannotSplitAKey() {
        let key = SeriesKey.make(.requests, ["Get\u{1F}Object\n", "200"])
        let parsed = SeriesKey.parse(key)
        XCTAssertEqual(parsed?.labels, ["Get_Object_", "200"])
    }

    func testSeriesAreSortedAndNumbersReadable() {
        var raw: [String: UInt64] = [:]
        raw[SeriesKey.make(.requests, ["PutObject", "200"])] = 1
        raw[SeriesKey.make(.requests, ["GetObject", "404"])] = 2
        raw[SeriesKey.make(.requests, ["GetObject", "200"])] = 3
        var s = MetricsSnapshot(counted: raw)
        s.set(.replicationOldestPending, [], 12.25)
        let text = lines(s)
        XCTAssertEqual(
            text.filter { $0.hasPrefix("s3gw_requests_total{") },
            [
                "s3gw_requests_total{operation=\"GetObject\",status=\"200\"} 3",
                "s3gw_requests_total{operation=\"GetObject\",status=\"404\"} 2",
                "s3gw_requests_total{operation=\"PutObject\",status=\"200\"} 1",
            ])
        XCTAssertTrue(text.contains("s3gw_replication_oldest_pending_seconds 12.25"))
        XCTAssertEqual(Exposition.number(.infinity), "+Inf")
        XCTAssertEqual(Exposition.number(.nan), "NaN")
        XCTAssertEqual(Exposition.number(1e20), "1e+20")
    }

    func testQuantileInterpolatesWithinItsBucket() {
        let h = MetricsSnapshot.Histogram(buckets: [0, 10, 10, 0], sum: 0)
        XCTAssertEqual(h.quantile(0.5, bounds: [1, 2, 4]) ?? -1, 2, accuracy: 1e-9)
        XCTAssertEqual(h.quantile(0.75, bounds: [1, 2, 4]) ?? -1, 3, accuracy: 1e-9)
        XCTAssertNil(MetricsSnapshot.Histogram(buckets: [0, 0], sum: 0).quantile(0.5, bounds: [1]))
    }
}
