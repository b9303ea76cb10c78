import Gateway
import GatewayCore
import XCTest

/// LocationConstraint × catalog × health → placement, or the entry that makes it invalid.
final class PlacementTests: XCTestCase {
    // Two countries; Finland has two regions, one with two zones.
    let catalog = ZoneCatalog(
        zones: [
            .init(name: "fi-hel-st-1", country: "fi", region: "fi-hel"),
            .init(name: "fi-hel-uc-1", country: "fi", region: "fi-hel"),
            .init(name: "fi-tku-1", country: "fi", region: "fi-tku"),
            .init(name: "de-fra-st-1", country: "de", region: "de-fra"),
            .init(name: "de-fra-hz-1", country: "de", region: "de-fra"),
            .init(name: "se-sto-fs-1", country: "se", region: "se-sto"),
        ], defaultZone: "se-sto-fs-1")

    func testResolvesConstraintsInOrder() throws {
        let cases: [(String, [String: ZoneHealth.State], [String], Set<String>)] = [
            ("", [:], ["se-sto-fs-1"], ["se"]),
            ("fi", [:], ["fi-hel-st-1", "fi-hel-uc-1", "fi-tku-1"], ["fi"]),
            ("fi-hel", [:], ["fi-hel-st-1", "fi-hel-uc-1"], ["fi"]),
            ("fi-tku-1", [:], ["fi-tku-1"], ["fi"]),
            // One location per entry first, then the entries' second zones.
            ("fi,de", [:], ["fi-hel-st-1", "de-fra-st-1", "fi-hel-uc-1", "de-fra-hz-1", "fi-tku-1"], ["fi", "de"]),
            ("de,fi", [:], ["de-fra-st-1", "fi-hel-st-1", "de-fra-hz-1", "fi-hel-uc-1", "fi-tku-1"], ["fi", "de"]),
            ("fi-hel-st-1,de-fra-hz-1", [:], ["fi-hel-st-1", "de-fra-hz-1"], ["fi", "de"]),
            // Overlapping entries name each zone once.
            ("fi,fi-hel", [:], ["fi-hel-st-1", "fi-hel-uc-1", "fi-tku-1"], ["fi"]),
            (
                " FI , de-fra ", [:], ["fi-hel-st-1", "de-fra-st-1", "fi-hel-uc-1", "de-fra-hz-1", "fi-tku-1"],
                ["fi", "de"]
            ),
            // Healthy first within an entry, then degraded, then down; catalog order among equals.
            (
                "fi", ["fi-hel-st-1": .down, "fi-hel-uc-1": .degraded], ["fi-tku-1", "fi-hel-uc-1", "fi-hel-st-1"],
                ["fi"]
            ),
            (
                "fi-hel,de", ["fi-hel-st-1": .down], ["fi-hel-uc-1", "de-fra-st-1", "fi-hel-st-1", "de-fra-hz-1"],
                ["fi", "de"]
            ),
        ]
        for (constraint, health, zones, countries) in cases {
            let p = try catalog.placement(for: constraint, health: health)
            XCTAssertEqual(p.zones, zones, constraint)
            XCTAssertEqual(p.countries, countries, constraint)
        }
    }

    func testInvalidConstraintsNameTheEntry() {
        let cases: [(String, PlacementError)] = [
            ("mars", .unknown("mars")),
            ("fi,mars", .unknown("mars")),
            ("fi,fi", .duplicate("fi")),
            ("fi-hel-st-1,FI-HEL-ST-1", .duplicate("fi-hel-st-1")),
            ("fi,,de", .empty),
            ("fi,", .empty),
        ]
        for (constraint, expected) in cases {
            XCTAssertThrowsError(try catalog.placement(for: constraint), constraint) {
                XCTAssertEqual($0 as? PlacementError, expected, constraint)
            }
        }
    }
}
