import GatewayCore
import XCTest

/// The one Object Lock decision, table-driven: mode × retain-until (past, future) × legal hold ×
/// bypass header × permission → may the version go; then retention changes (extend, shorten,
/// remove, change mode) with and without the bypass.
final class ObjectLockTests: XCTestCase {
    static let now: Double = 1_800_000_000
    static let future = now + 60
    static let past = now - 60

    func version(_ retention: Retention?, hold: Bool) -> ObjectRecord {
        var o = ObjectRecord(
            bucket: "b", key: "k", size: 1, etag: "e", lastModified: Self.now - 100, contentType: "", headers: [],
            checksums: [:], zone: "z", blob: "blob")
        o.retention = retention
        o.legalHold = hold
        return o
    }

    func testDecideTable() {
        // (mode, until, legal hold, bypass header, bypass permission) → allowed
        typealias Row = (ObjectLockMode?, Double, Bool, Bool, Bool, Bool)
        var rows: [Row] = []
        for header in [false, true] {
            for permission in [false, true] {
                let bypass = header && permission
                // No retention: only the hold matters.
                rows.append((nil, 0, false, header, permission, true))
                rows.append((nil, 0, true, header, permission, false))
                // COMPLIANCE: never before its date, whoever asks; free after it (unless held).
                rows.append((.compliance, Self.future, false, header, permission, false))
                rows.append((.compliance, Self.past, false, header, permission, true))
                rows.append((.compliance, Self.past, true, header, permission, false))
                rows.append((.compliance, Self.future, true, header, permission, false))
                // GOVERNANCE: before its date only with header AND permission.
                rows.append((.governance, Self.future, false, header, permission, bypass))
                rows.append((.governance, Self.past, false, header, permission, true))
                // A legal hold is not bypassed by the governance bypass.
                rows.append((.governance, Self.future, true, header, permission, false))
                rows.append((.governance, Self.past, true, header, permission, false))
            }
        }
        for (mode, until, hold, header, permission, allowed) in rows {
            let o = version(mode.map { Retention(mode: $0, until: until) }, hold: hold)
            let d = ObjectLock.decide(o, now: Self.now, bypassGovernance: header && permission)
            let context =
                "\(mode?.rawValue ?? "none") until \(until - Self.now) hold \(hold) header \(header) permission \(permission)"
            if allowed {
                XCTAssertEqual(d, .allowed, context)
            } else {
                guard case .denied(let why) = d else { return XCTFail("\(context): allowed") }
                XCTAssertFalse(why.isEmpty, context)
            }
        }
    }

    /// The retain-until instant itself no longer holds the version.
    func testRetentionEndsAtItsDate() {
        let o = version(Retention(mode: .compliance, until: Self.now), hold: false)
        XCTAssertEqual(ObjectLock.decide(o, now: Self.now, bypassGovernance: false), .allowed)
        XCTAssertNotEqual(ObjectLock.decide(o, now: Self.now - 0.001, bypassGovernance: false), .allowed)
    }

    func testRetentionChangeTable() {
        let g = ObjectLockMode.governance
        let c = ObjectLockMode.compliance
        let later = Self.future + 3600
        let sooner = Self.now + 10
        // (old, new, bypass) → allowed
        let rows: [(Retention?, Retention?, Bool, Bool, String)] = [
            (nil, Retention(mode: c, until: later), false, true, "first retention"),
            (nil, nil, false, true, "nothing to remove"),
            (
                Retention(mode: c, until: Self.future), Retention(mode: c, until: later), false, true,
                "COMPLIANCE extended"
            ),
            (Retention(mode: c, until: Self.future), Retention(mode: c, until: Self.future), false, true, "same"),
            (
                Retention(mode: c, until: Self.future), Retention(mode: c, until: sooner), false, false,
                "COMPLIANCE shortened"
            ),
            (
                Retention(mode: c, until: Self.future), Retention(mode: c, until: sooner), true, false,
                "shortened, bypass"
            ),
            (Retention(mode: c, until: Self.future), nil, true, false, "COMPLIANCE removed with bypass"),
            (Retention(mode: c, until: Self.future), nil, false, false, "COMPLIANCE removed"),
            (Retention(mode: c, until: Self.future), Retention(mode: g, until: later), false, false, "to GOVERNANCE"),
            (
                Retention(mode: c, until: Self.future), Retention(mode: g, until: later), true, false,
                "to GOVERNANCE, bypass"
            ),
            (Retention(mode: c, until: Self.past), nil, false, true, "COMPLIANCE passed, removed"),
            (Retention(mode: c, until: Self.past), Retention(mode: g, until: sooner), false, true, "passed, weakened"),
            (
                Retention(mode: g, until: Self.future), Retention(mode: g, until: later), false, true,
                "GOVERNANCE extended"
            ),
            (
                Retention(mode: g, until: Self.future), Retention(mode: c, until: Self.future), false, true,
                "to COMPLIANCE"
            ),
            (
                Retention(mode: g, until: Self.future), Retention(mode: c, until: later), false, true,
                "to COMPLIANCE, later"
            ),
            (
                Retention(mode: g, until: Self.future), Retention(mode: c, until: sooner), false, false,
                "to COMPLIANCE, sooner"
            ),
            (Retention(mode: g, until: Self.future), Retention(mode: c, until: sooner), true, true, "sooner, bypass"),
            (
                Retention(mode: g, until: Self.future), Retention(mode: g, until: sooner), false, false,
                "GOVERNANCE shortened"
            ),
            (
                Retention(mode: g, until: Self.future), Retention(mode: g, until: sooner), true, true,
                "shortened, bypass"
            ),
            (Retention(mode: g, until: Self.future), nil, false, false, "GOVERNANCE removed"),
            (Retention(mode: g, until: Self.future), nil, true, true, "GOVERNANCE removed, bypass"),
            (Retention(mode: g, until: Self.past), nil, false, true, "GOVERNANCE passed, removed"),
        ]
        for (old, new, bypass, allowed, context) in rows {
            let d = ObjectLock.retentionChange(from: old, to: new, now: Self.now, bypassGovernance: bypass)
            XCTAssertEqual(d == .allowed, allowed, "\(context): \(d)")
        }
    }

    /// Default retention: days × 86400 s, years × 365 days, from the write.
    func testDefaultRetentionPeriod() {
        let days = ObjectLockConfig.DefaultRetention(mode: .governance, days: 2).retention(from: Self.now)
        XCTAssertEqual(days, Retention(mode: .governance, until: Self.now + 2 * 86_400))
        let years = ObjectLockConfig.DefaultRetention(mode: .compliance, years: 1).retention(from: Self.now)
        XCTAssertEqual(years, Retention(mode: .compliance, until: Self.now + 365 * 86_400))
    }
}
