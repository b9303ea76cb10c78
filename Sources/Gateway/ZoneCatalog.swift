import GatewayCore

/// Countries ⊃ regions ⊃ zones, in configuration order.
public struct ZoneCatalog: Sendable {
    public struct Zone: Sendable, Equatable {
        public let name: String
        public let country: String
        public let region: String
        /// "filesystem" or "s3" (a provider).
        public let kind: String
        /// Where it stores: a provider's endpoint (never with credentials) or a directory.
        public let location: String
        public init(name: String, country: String, region: String, kind: String = "filesystem", location: String = "") {
            self.name = name
            self.country = country
            self.region = region
            self.kind = kind
            self.location = location
        }
    }

    public let zones: [Zone]
    public let defaultZone: String

    public init(zones: [Zone], defaultZone: String) {
        self.zones = zones
        self.defaultZone = defaultZone
    }

    public func zone(named name: String) -> Zone? { zones.first { $0.name == name } }

    /// The zones one LocationConstraint entry names, in catalog order: the zone itself, every
    /// zone of a region, or every zone of a country (a name is looked up in that order).
    func zones(matching entry: String) -> [Zone] {
        if let z = zone(named: entry) { return [z] }
        let inRegion = zones.filter { $0.region == entry }
        return inRegion.isEmpty ? zones.filter { $0.country == entry } : inRegion
    }

    /// Resolves a LocationConstraint — an ordered, comma-separated list of countries, regions and
    /// zones — into the bucket's placement. An entry's zones come healthy first, then catalog
    /// order. Locations take the first zone of every entry in order (the first is the primary),
    /// then every entry's second zone, and so on: `fi,de` puts copy 2 in Germany, `fi` puts it
    /// in Finland's second zone. An empty constraint means the default zone.
    public func placement(for constraint: String, health: [String: ZoneHealth.State] = [:]) throws(PlacementError)
        -> Placement
    {
        let trimmed = constraint.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            guard let z = zone(named: defaultZone) else { throw .unknown(defaultZone) }
            return Placement(zones: [z.name], countries: [z.country])
        }
        var perEntry: [[Zone]] = []
        var seen: Set<String> = []
        for raw in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard !entry.isEmpty else { throw .empty }
            guard seen.insert(entry).inserted else { throw .duplicate(entry) }
            let matched = zones(matching: entry)
            guard !matched.isEmpty else { throw .unknown(entry) }
            // Stable: healthy, then degraded, then down, each in catalog order.
            perEntry.append(
                matched.enumerated().sorted { a, b in
                    let ra = rank(health[a.element.name])
                    let rb = rank(health[b.element.name])
                    return ra != rb ? ra < rb : a.offset < b.offset
                }.map(\.element))
        }
        var ordered: [String] = []
        for round in 0..<(perEntry.map(\.count).max() ?? 0) {
            for zones in perEntry where round < zones.count && !ordered.contains(zones[round].name) {
                ordered.append(zones[round].name)
            }
        }
        return Placement(zones: ordered, countries: Set(perEntry.flatMap { $0.map(\.country) }))
    }

    private func rank(_ state: ZoneHealth.State?) -> Int {
        switch state {
        case .healthy, nil: 0
        case .degraded: 1
        case .down: 2
        }
    }
}

/// Where a bucket's bytes may live, as resolved from its LocationConstraint.
public struct Placement: Sendable, Equatable {
    /// Every zone the constraint allows, in placement order: the primary first, then the
    /// replica targets. The first `replica-count` of them hold a copy.
    public let zones: [String]
    /// The countries the constraint names (through its zones, regions and countries).
    public let countries: Set<String>

    public init(zones: [String], countries: Set<String>) {
        self.zones = zones
        self.countries = countries
    }
}

/// Why a LocationConstraint cannot be placed; each names the offending entry.
public enum PlacementError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknown(String)
    case duplicate(String)
    case empty

    public var description: String {
        switch self {
        case .unknown(let e): "\(e) is not a country, region or zone of this gateway"
        case .duplicate(let e): "\(e) is named twice"
        case .empty: "an entry of the list is empty"
        }
    }
}
