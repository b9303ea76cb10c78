import Foundation
import GatewayCore
import Logging
import S3Protocol
import SigV4

/// Everything a request needs, immutable and shared by all worker threads.
public struct GatewayContext: Sendable {
    public let metadata: any MetadataStore
    public let zones: [String: any StorageZone]
    public let catalog: ZoneCatalog
    public let verifier: Verifier
    public let clock: any Clock
    /// Keys the hash that names backend buckets; never leaves the installation.
    public let installationSecret: [UInt8]
    public let logger: Logger
    /// `bucket.<domain>` Host headers address buckets virtual-host style; lowercased.
    public let baseDomains: [String]

    public init(
        metadata: any MetadataStore, zones: [String: any StorageZone], catalog: ZoneCatalog, verifier: Verifier,
        clock: any Clock, installationSecret: [UInt8], logger: Logger, baseDomains: [String] = []
    ) {
        self.baseDomains = baseDomains.map { $0.lowercased() }
        self.metadata = metadata
        self.zones = zones
        self.catalog = catalog
        self.verifier = verifier
        self.clock = clock
        self.installationSecret = installationSecret
        self.logger = logger
    }

    func zone(_ name: String) throws(S3Error) -> any StorageZone {
        guard let z = zones[name] else {
            throw S3Error(.internalError, "zone \(name) is not configured")
        }
        return z
    }
}

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

public struct SystemClock: Clock {
    public init() {}
    public func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

#if canImport(Glibc)
    import Glibc
#endif
