import GatewayCore
import XCTest

/// Address ranges of `aws:SourceIp` conditions: parsing and membership, IPv4 and IPv6.
final class CIDRTests: XCTestCase {
    func testParsing() {
        let rows: [(String, String?)] = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("192.0.2.1", "192.0.2.1/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:db8::/32", "2001:db8:0:0:0:0:0:0/32"),
            ("::1", "0:0:0:0:0:0:0:1/128"),
            ("::", "0:0:0:0:0:0:0:0/128"),
            ("::ffff:192.0.2.1/120", "192.0.2.0/24"), ("::ffff:0:0/96", "0.0.0.0/0"),
            ("::ffff:0:0/95", "0:0:0:0:0:fffe:0:0/95"), ("::ffff:1.2.3.4", "1.2.3.4/32"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8/128"),
            ("10.0.0.0/33", nil), ("10.0.0/8", nil), ("10.0.0.256", nil), ("010.0.0.1", nil), ("10.0.0.0/", nil),
            ("10.0.0.0/-1", nil), ("10.0.0.0/8/8", nil), ("", nil), ("a.b.c.d", nil),
            ("2001:db8::/129", nil), ("1::2::3", nil), ("1:2:3:4:5:6:7:8:9", nil), ("12345::", nil),
            ("fe80::1%eth0", nil), ("+1::", nil), ("1:+2::", nil), ("-1::", nil), ("[::1]", nil),
            ("1:2:3:4:5:6:7", nil), (":::", nil),
        ]
        for (text, expected) in rows {
            XCTAssertEqual(CIDR(text)?.description, expected, text)
        }
    }

    func testMembership() {
        let rows: [(String, String, Bool)] = [
            ("10.0.0.0/8", "10.255.1.2", true), ("10.0.0.0/8", "11.0.0.1", false),
            ("192.0.2.128/25", "192.0.2.200", true), ("192.0.2.128/25", "192.0.2.127", false),
            ("0.0.0.0/0", "203.0.113.5", true), ("0.0.0.0/0", "::1", false),
            ("192.0.2.7", "192.0.2.7", true), ("192.0.2.7", "192.0.2.8", false),
            ("192.0.2.0/24", "::ffff:192.0.2.3", true),
            ("::ffff:192.0.2.0/120", "192.0.2.3", true), ("::ffff:192.0.2.0/120", "::ffff:192.0.2.3", true),
            ("::ffff:0:0/96", "203.0.113.5", true), ("::ffff:192.0.2.0/120", "192.0.3.3", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/32", "2001:db9::1", false),
            ("2001:db8::/33", "2001:db8:8000::", false), ("2001:db8::/33", "2001:db8:7fff::", true),
            ("::/0", "::1", true), ("::/0", "10.0.0.1", false),
            ("10.0.0.0/8", "garbage", false), ("10.0.0.0/8", "", false),
        ]
        for (range, ip, expected) in rows {
            XCTAssertEqual(CIDR(range)?.contains(ip), expected, "\(ip) in \(range)")
        }
    }
}
