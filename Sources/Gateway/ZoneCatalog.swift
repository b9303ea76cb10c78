import GatewayCore

/// Countries ⊃ regions ⊃ zones, in configuration order.
public struct ZoneCatalog: Sendable {
    public struct Zone: Sendable, Equatable {
        public let name: String
        public let country: String
        public let region: String
        public init(name: String, country: String, region: String) {
            self.name = name
            self.country = country
            self.region = region
        }
    }

    public let zones: [Zone]
    public let defaultZone: String

    public init(zones: [Zone], defaultZone: String) {
        self.zones = zones
        self.defaultZone = defaultZone
    }

    /// A LocationConstraint entry names a zone, a region or a country; a region or country
    /// resolves to its first zone. Ordered lists and health come with replication.
    public func resolve(_ constraint: String) -> [String]? {
        let entries = constraint.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if entries.isEmpty { return [defaultZone] }
        var out: [String] = []
        for e in entries {
            guard
                let z = zones.first(where: { $0.name == e }) ?? zones.first(where: { $0.region == e })
                    ?? zones.first(where: { $0.country == e })
            else { return nil }
            if !out.contains(z.name) { out.append(z.name) }
        }
        // One zone per bucket until replication lands: the first entry is the primary.
        return Array(out.prefix(1))
    }
}
