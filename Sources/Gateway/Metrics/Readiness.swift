import GatewayCore

/// `GET /readyz`: ready when the metadata store answers a read and every configured country
/// has a zone the health checker has not marked down (a degraded zone still serves). The
/// answer names countries and counts only: no zone endpoint, no bucket, nothing of a customer's.
struct Readiness: Encodable, Equatable {
    struct Country: Encodable, Equatable {
        var zones: Int
        var healthy: Int
    }

    var status: String
    var metadata: String
    var countries: [String: Country]
    /// What is not ready, in words (absent when ready).
    var problems: [String]?

    var ready: Bool { problems == nil }

    static func check(_ catalog: ZoneCatalog, _ metadata: any MetadataStore) -> Readiness {
        let down: Set<String>
        do {
            down = try zonesDown(metadata)
        } catch {
            return Readiness(
                status: "not ready", metadata: "unavailable", countries: [:],
                problems: ["the metadata store does not answer"])
        }
        var countries: [String: Country] = [:]
        for z in catalog.zones {
            countries[z.country, default: Country(zones: 0, healthy: 0)].zones += 1
            if !down.contains(z.name) { countries[z.country, default: Country(zones: 0, healthy: 0)].healthy += 1 }
        }
        let failing = countries.filter { $0.value.healthy == 0 }.keys.sorted()
        return Readiness(
            status: failing.isEmpty ? "ready" : "not ready", metadata: "ok", countries: countries,
            problems: failing.isEmpty ? nil : failing.map { "no healthy zone in \($0)" })
    }

    /// The zones the health checker marked down (a degraded zone still serves): for /readyz
    /// and `s3gw_zone_up` alike.
    static func zonesDown(_ metadata: any MetadataStore) throws -> Set<String> {
        Set(try metadata.zoneHealth().filter { $0.state == .down }.map(\.zone))
    }
}
