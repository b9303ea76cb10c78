import GatewayCore
import XCTest

/// The one date module: each format both ways, the forms HTTP allows, and what must be refused.
final class HTTPDateTests: XCTestCase {
    func testFormats() {
        XCTAssertEqual(HTTPDate.iso8601(1_700_000_000.5), "2023-11-14T22:13:20.500Z")
        XCTAssertEqual(HTTPDate.iso8601(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(HTTPDate.rfc1123(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT")
        XCTAssertEqual(HTTPDate.rfc1123(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.amzDate(1_369_353_600), "20130524T000000Z")
        XCTAssertEqual(HTTPDate.amzDate(951_782_400 + 3661), "20000229T010101Z")
    }

    func testParsesEveryHTTPDateForm() {
        let cases: [(String, Int?)] = [
            ("Fri, 24 May 2013 00:00:00 GMT", 1_369_353_600),
            ("Fri, 24 May 2013 02:00:00 +0200", 1_369_353_600),
            ("Thu, 23 May 2013 23:00:00 -0100", 1_369_353_600),
            ("Friday, 24-May-13 00:00:00 GMT", 1_369_353_600),
            ("Fri May 24 00:00:00 2013", 1_369_353_600),
            ("Tue, 14 Nov 2023 22:13:20 GMT", 1_700_000_000),
            ("Tuesday, 14-Nov-23 22:13:20 GMT", 1_700_000_000),
            ("yesterday", nil),
            ("", nil),
            ("Fri, 24 Foo 2013 00:00:00 GMT", nil),
            ("Fri, 32 May 2013 00:00:00 GMT", nil),
            ("Fri, 24 May 2013 25:00:00 GMT", nil),
            ("Fri, 24 May 2013 00:00:00 CEST", nil),
        ]
        for (text, expected) in cases { XCTAssertEqual(HTTPDate.parseHTTP(text), expected, text) }
    }

    func testParsesAmzAndISODates() {
        XCTAssertEqual(HTTPDate.parseAmzDate("20130524T000000Z"), 1_369_353_600)
        XCTAssertNil(HTTPDate.parseAmzDate("2013-05-24T00:00:00Z"))
        XCTAssertNil(HTTPDate.parseAmzDate("20131324T000000Z"))
        XCTAssertNil(HTTPDate.parseAmzDate("2013052XT000000Z"))
        XCTAssertEqual(HTTPDate.parseISO8601("2013-05-24T00:00:00Z"), 1_369_353_600)
        XCTAssertEqual(HTTPDate.parseISO8601("2013-05-24T00:00:00.250Z"), 1_369_353_600.25)
        XCTAssertNil(HTTPDate.parseISO8601("2013-05-24T00:00:00.Z"))
        XCTAssertNil(HTTPDate.parseISO8601("2013-05-24 00:00:00Z"))
        XCTAssertEqual(HTTPDate.parseISO8601("2013-05-24T01:00:00+01:00"), 1_369_353_600)
        XCTAssertEqual(HTTPDate.parseISO8601("2013-05-23T23:29:59.5-00:30"), 1_369_353_599.5)
        for bad in [
            "2013-05-24T00:00:00+1:00", "2013-05-24T00:00:00+01:00Z", "2013-05-24T00:00:00Zx", "2013-05-24T00:00:00",
            "2013-05-24T00:00:00+24:00", "2013-05-24t00:00:00z",
        ] {
            XCTAssertNil(HTTPDate.parseISO8601(bad), bad)
        }
    }

    /// A day the month does not have is no date, in any format.
    func testRefusesDaysTheMonthDoesNotHave() {
        XCTAssertNil(HTTPDate.parseISO8601("2023-02-31T00:00:00Z"))
        XCTAssertNil(HTTPDate.parseISO8601("2023-02-29T00:00:00Z"))
        XCTAssertNil(HTTPDate.parseISO8601("1900-02-29T00:00:00Z"))
        XCTAssertNil(HTTPDate.parseISO8601("2023-04-31T00:00:00Z"))
        XCTAssertNotNil(HTTPDate.parseISO8601("2024-02-29T00:00:00Z"))
        XCTAssertNotNil(HTTPDate.parseISO8601("2000-02-29T00:00:00Z"))
        XCTAssertNil(HTTPDate.parseAmzDate("20230231T000000Z"))
        XCTAssertNil(HTTPDate.parseHTTP("Fri, 31 Feb 2023 00:00:00 GMT"))
        XCTAssertNil(HTTPDate.epoch(2023, 6, 31, 0, 0, 0))
    }

    func testRoundTripsAcrossCenturiesAndLeapDays() {
        for t in stride(from: -2_000_000_000, through: 4_000_000_000, by: 86_399 * 97) {
            XCTAssertEqual(HTTPDate.parseAmzDate(HTTPDate.amzDate(t)), t)
            XCTAssertEqual(HTTPDate.parseHTTP(HTTPDate.rfc1123(Double(t))), t)
            XCTAssertEqual(HTTPDate.parseISO8601(HTTPDate.iso8601(Double(t))), Double(t))
        }
    }
}
