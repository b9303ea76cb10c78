import GatewayCore
import XCTest

/// Condition operators, table-driven: operator × condition values × context → result, with the
/// missing-key rules (false; negated operators, …IfExists and ForAllValues true; Null tests
/// presence).
final class PolicyConditionTests: XCTestCase {
    typealias Op = PolicyCondition.Operator

    /// (type as written, values, context value(s) of the key or nil when missing, expected).
    /// Expected nil: unknown (a request value that does not parse).
    func check(_ rows: [(String, [String], [String]?, Bool?)], key: String = "k:k", line: UInt = #line) {
        for (type, values, present, expected) in rows {
            guard let (op, q, ifExists) = PolicyCondition.type(type) else {
                XCTFail("\(type) not a condition type", line: line)
                continue
            }
            let c = PolicyCondition(op: op, qualifier: q, ifExists: ifExists, key: key, values: values)
            let ctx = PolicyContext(present.map { [key: $0] } ?? [:])
            XCTAssertEqual(c.evaluate(ctx), expected, "\(type) \(values) vs \(present ?? ["<missing>"])", line: line)
        }
    }

    func testStrings() {
        check([
            ("StringEquals", ["a", "b"], ["b"], true),
            ("StringEquals", ["a"], ["A"], false),
            ("StringEquals", ["a"], nil, false),
            ("StringEqualsIfExists", ["a"], nil, true),
            ("StringEqualsIfExists", ["a"], ["x"], false),
            ("StringNotEquals", ["a"], ["b"], true),
            ("StringNotEquals", ["a", "b"], ["b"], false),
            ("StringNotEquals", ["a"], nil, true),
            ("StringNotEqualsIfExists", ["a"], nil, true),
            ("StringEqualsIgnoreCase", ["Hello"], ["hELLO"], true),
            ("StringEqualsIgnoreCase", ["Hello"], ["hell"], false),
            ("StringEqualsIgnoreCase", ["Hello"], nil, false),
            ("StringNotEqualsIgnoreCase", ["Hello"], ["HELLO"], false),
            ("StringNotEqualsIgnoreCase", ["Hello"], ["x"], true),
            ("StringNotEqualsIgnoreCase", ["Hello"], nil, true),
            ("StringLike", ["home/*", "a?c"], ["home/x/y"], true),
            ("StringLike", ["home/*", "a?c"], ["abc"], true),
            ("StringLike", ["home/*"], ["Home/x"], false),
            ("StringLike", ["home/*"], nil, false),
            ("StringLikeIfExists", ["home/*"], nil, true),
            ("StringNotLike", ["home/*"], ["work/x"], true),
            ("StringNotLike", ["home/*"], ["home/x"], false),
            ("StringNotLike", ["home/*"], nil, true),
        ])
    }

    func testNumbers() {
        check([
            ("NumericEquals", ["10"], ["10"], true),
            ("NumericEquals", ["10"], ["10.0"], true),
            ("NumericEquals", ["10"], ["11"], false),
            ("NumericEquals", ["10"], ["ten"], nil),
            ("NumericNotEquals", ["10"], ["ten"], nil),
            ("ForAllValues:NumericLessThan", ["10"], ["1", "x"], nil),
            ("ForAllValues:NumericLessThan", ["10"], ["11", "x"], false),
            ("ForAnyValue:NumericLessThan", ["10"], ["1", "x"], true),
            ("ForAnyValue:NumericLessThan", ["10"], ["11", "x"], nil),
            ("NumericEquals", ["10"], nil, false),
            ("NumericEqualsIfExists", ["10"], nil, true),
            ("NumericNotEquals", ["10"], ["11"], true),
            ("NumericNotEquals", ["10"], ["10"], false),
            ("NumericNotEquals", ["10"], nil, true),
            ("NumericLessThan", ["10"], ["9"], true),
            ("NumericLessThan", ["10"], ["10"], false),
            ("NumericLessThan", ["10"], nil, false),
            ("NumericLessThanEquals", ["10"], ["10"], true),
            ("NumericLessThanEquals", ["10"], ["11"], false),
            ("NumericLessThanEquals", ["10"], nil, false),
            ("NumericGreaterThan", ["10"], ["11"], true),
            ("NumericGreaterThan", ["10"], ["10"], false),
            ("NumericGreaterThan", ["-1.5"], ["-1"], true),
            ("NumericGreaterThan", ["10"], nil, false),
            ("NumericGreaterThanEquals", ["10"], ["10"], true),
            ("NumericGreaterThanEquals", ["10"], ["9"], false),
            ("NumericGreaterThanEqualsIfExists", ["10"], nil, true),
        ])
    }

    func testDates() {
        let t = "2026-11-29T12:00:00Z"
        check([
            ("DateEquals", [t], ["2026-11-29T13:00:00+01:00"], true),
            ("DateEquals", [t], ["1795953600"], true),
            ("DateEquals", ["2026-11-29"], ["2026-11-29T00:00:00Z"], true),
            ("DateEquals", [t], ["2026-11-29T12:00:01Z"], false),
            ("DateEquals", [t], ["garbage"], nil),
            ("DateNotEquals", [t], ["garbage"], nil),
            ("DateEquals", [t], nil, false),
            ("DateNotEquals", [t], ["2026-11-29T12:00:01Z"], true),
            ("DateNotEquals", [t], [t], false),
            ("DateNotEquals", [t], nil, true),
            ("DateLessThan", [t], ["2026-11-29T11:59:59.500Z"], true),
            ("DateLessThan", [t], [t], false),
            ("DateLessThan", [t], nil, false),
            ("DateLessThanEquals", [t], [t], true),
            ("DateLessThanEquals", [t], ["2027-01-01T00:00:00Z"], false),
            ("DateGreaterThan", [t], ["2027-01-01T00:00:00Z"], true),
            ("DateGreaterThan", [t], [t], false),
            ("DateGreaterThan", [t], nil, false),
            ("DateGreaterThanEquals", [t], [t], true),
            ("DateGreaterThanEquals", [t], ["2000-01-01"], false),
            ("DateGreaterThanEqualsIfExists", [t], nil, true),
        ])
    }

    func testBoolBinaryNull() {
        check([
            ("Bool", ["true"], ["true"], true),
            ("Bool", ["true"], ["false"], false),
            ("Bool", ["false"], ["FALSE"], true),
            ("Bool", ["true"], nil, false),
            ("BoolIfExists", ["true"], nil, true),
            ("BinaryEquals", ["QmluYXJ5"], ["QmluYXJ5"], true),
            ("BinaryEquals", ["QmluYXJ5"], ["eA=="], false),
            ("BinaryEquals", ["QmluYXJ5"], nil, false),
            ("Null", ["true"], nil, true),
            ("Null", ["true"], ["x"], false),
            ("Null", ["false"], ["x"], true),
            ("Null", ["false"], nil, false),
            // Values are alternatives.
            ("Null", ["true", "false"], nil, true),
            ("Null", ["true", "false"], ["x"], true),
            ("Bool", ["true"], ["yes"], nil),
        ])
        XCTAssertNil(PolicyCondition.type("NullIfExists"))
        XCTAssertNil(PolicyCondition.type("ForAnyValue:Null"))
        XCTAssertNil(PolicyCondition.type("ForAnyValue:ForAllValues:StringEquals"))
        XCTAssertNil(PolicyCondition.type("ForAllValues:ForAnyValue:StringEquals"))
        XCTAssertNil(PolicyCondition.type("StringEqualsIfexists"))
        XCTAssertNil(PolicyCondition.type("stringequals"))
    }

    func testAddresses() {
        check(
            [
                ("IpAddress", ["192.0.2.0/24"], ["192.0.2.77"], true),
                ("IpAddress", ["192.0.2.0/24"], ["192.0.3.1"], false),
                ("IpAddress", ["192.0.2.0/24", "2001:db8::/32"], ["2001:db8:1::5"], true),
                ("IpAddress", ["192.0.2.0/24"], ["::ffff:192.0.2.9"], true),
                ("IpAddress", ["192.0.2.0/24"], ["not-an-ip"], nil),
                ("NotIpAddress", ["192.0.2.0/24"], ["not-an-ip"], nil),
                ("IpAddress", ["::ffff:192.0.2.0/120"], ["192.0.2.9"], true),
                ("IpAddress", ["192.0.2.0/24"], nil, false),
                ("IpAddressIfExists", ["192.0.2.0/24"], nil, true),
                ("NotIpAddress", ["192.0.2.0/24"], ["192.0.3.1"], true),
                ("NotIpAddress", ["192.0.2.0/24"], ["192.0.2.1"], false),
                ("NotIpAddress", ["192.0.2.0/24"], nil, true),
            ], key: "aws:sourceip")
    }

    func testArns() {
        let arn = "arn:aws:iam::acme:user/bob"
        check([
            ("ArnEquals", [arn], [arn], true),
            ("ArnEquals", [arn], ["arn:aws:iam::acme:user/bobby"], false),
            ("ArnEquals", [arn], nil, false),
            ("ArnLike", ["arn:aws:iam::*:user/b*"], [arn], true),
            ("ArnLike", ["arn:aws:iam::*:user/b*"], ["arn:aws:iam::acme:root"], false),
            // `*` does not reach across the ARN's parts.
            ("ArnLike", ["arn:*:user/bob"], [arn], false),
            ("ArnLike", ["arn:aws:iam::acme:*"], ["not-an-arn"], false),
            ("ArnLikeIfExists", ["arn:aws:iam::*:user/b*"], nil, true),
            ("ArnNotEquals", [arn], ["arn:aws:iam::acme:user/eve"], true),
            ("ArnNotEquals", [arn], [arn], false),
            ("ArnNotEquals", [arn], nil, true),
            ("ArnNotLike", ["arn:aws:iam::acme:*"], [arn], false),
            ("ArnNotLike", ["arn:aws:iam::other:*"], [arn], true),
            ("ArnNotLike", ["arn:aws:iam::acme:*"], nil, true),
        ])
    }

    func testSetQualifiers() {
        check([
            ("ForAnyValue:StringEquals", ["a", "b"], ["x", "b"], true),
            ("ForAnyValue:StringEquals", ["a", "b"], ["x", "y"], false),
            ("ForAnyValue:StringEquals", ["a"], nil, false),
            ("ForAnyValue:StringEquals", ["a"], [], false),
            ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], true),
            ("ForAllValues:StringEquals", ["a", "b"], ["a", "x"], false),
            ("ForAllValues:StringEquals", ["a"], nil, true),
            ("ForAllValues:StringEquals", ["a"], [], true),
            ("ForAnyValue:StringNotEquals", ["a"], ["a", "x"], true),
            ("ForAnyValue:StringNotEquals", ["a"], ["a"], false),
            ("ForAllValues:StringNotLike", ["tmp*"], ["a", "b"], true),
            ("ForAllValues:StringNotLike", ["tmp*"], ["a", "tmp1"], false),
            ("ForAnyValue:StringLikeIfExists", ["a*"], nil, true),
        ])
    }

    func testAcceptedValues() {
        let rows: [(Op, String, Bool)] = [
            (.numericEquals, "10", true), (.numericEquals, "-1.5", true), (.numericEquals, "1e3", false),
            (.numericEquals, "", false), (.numericEquals, ".", false),
            (.dateLessThan, "2026-11-29", true), (.dateLessThan, "2026-11-29T10:00:00Z", true),
            (.dateLessThan, "2026-11-29T10:00:00.123+02:00", true), (.dateLessThan, "1796990400", true),
            (.dateLessThan, "2026-13-01", false), (.dateLessThan, "2026-02-30", false),
            (.dateLessThan, "2026-11-29T10:00:00", false), (.dateLessThan, "29/11/2026", false),
            (.dateLessThan, "2026-11-29T10:00:00+24:00", false),
            (.bool, "true", true), (.bool, "False", true), (.bool, "1", false),
            (.null, "true", true), (.null, "maybe", false),
            (.ipAddress, "10.0.0.0/8", true), (.notIpAddress, "::1", true), (.ipAddress, "10.0.0.256", false),
            (.stringEquals, "", true),
        ]
        for (op, value, expected) in rows {
            XCTAssertEqual(PolicyCondition.accepts(op, value), expected, "\(op) \(value)")
        }
    }
}
