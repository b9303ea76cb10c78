import GatewayCore

/// The zone catalog with each zone's health: `GET /admin/zones`, `GET /admin/zones/{zone}`,
/// and a probe now: `POST /admin/zones/{zone}/probe`.
extension AdminAPI {
    public struct ZoneView: Codable, Sendable {
        public var name: String
        /// filesystem or s3.
        public var kind: String
        public var country: String
        public var region: String
        /// A provider's endpoint (without credentials) or a filesystem zone's directory.
        public var location: String
        public var isDefault: Bool
        /// healthy, degraded, down, or unknown (never checked).
        public var state: String
        /// Seconds the last successful probe took (0 when it failed or none ran).
        public var latency: Double
        public var lastError: String
        public var consecutiveFailures: Int
        /// Absent when the zone was never checked.
        public var checkedAt: String?

        init(_ z: ZoneCatalog.Zone, health h: ZoneHealth?, defaultZone: String) {
            name = z.name
            kind = z.kind
            country = z.country
            region = z.region
            location = z.location
            isDefault = z.name == defaultZone
            state = h?.state.rawValue ?? "unknown"
            latency = h?.latency ?? 0
            lastError = h?.lastError ?? ""
            consecutiveFailures = h?.consecutiveFailures ?? 0
            checkedAt = h.map { HTTPDate.iso8601($0.checkedAt) }
        }
    }

    public struct ZoneProbeView: Codable, Sendable {
        /// Whether the zone answered its probe now.
        public var ok: Bool
        /// Seconds the probe took (0 when it failed).
        public var latency: Double
        /// Why it failed ("" when ok).
        public var error: String
        /// The zone with the health this probe recorded.
        public var zone: ZoneView
    }

    /// How long an operator's probe may take; a provider's own timeouts bound it sooner.
    static let probeTimeout: Double = 15

    static let zoneRoutes: [Route] = [
        Route("GET", "zones", "admin:ListZones", .gateway) { r, _, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let health = try healthByZone(ctx)
            // Catalog order (the configuration's); the marker is the last zone's name.
            let zones = ctx.catalog.zones
            let start = marker.isEmpty ? 0 : (zones.firstIndex { $0.name == marker }.map { $0 + 1 } ?? zones.count)
            let views = zones[start...].prefix(limit + 1).map {
                ZoneView($0, health: health[$0.name], defaultZone: ctx.catalog.defaultZone)
            }
            return .json(AdminPage(Array(views), limit: limit) { $0.name })
        },
        Route("GET", "zones/{zone}", "admin:GetZone", .gateway) { _, p, ctx throws(AdminError) in
            let z = try existingZone(p, ctx)
            return .json(ZoneView(z, health: try healthByZone(ctx)[z.name], defaultZone: ctx.catalog.defaultZone))
        },
        Route("POST", "zones/{zone}/probe", "admin:ProbeZone", .gateway) { _, p, ctx throws(AdminError) in
            let z = try existingZone(p, ctx)
            // The agent's own check, for this zone: recorded, and followed by failover as any check.
            guard let h = Maintenance.checkZones(ctx, only: [z.name], timeout: probeTimeout).first else {
                throw .conflict("zone \(z.name) is configured but this process has no storage for it")
            }
            let ok = h.consecutiveFailures == 0
            return .json(
                ZoneProbeView(
                    ok: ok, latency: ok ? h.latency : 0, error: ok ? "" : h.lastError,
                    zone: ZoneView(z, health: h, defaultZone: ctx.catalog.defaultZone)))
        },
    ]

    static func existingZone(_ p: [String: String], _ ctx: GatewayContext) throws(AdminError) -> ZoneCatalog.Zone {
        let name = p["zone"] ?? ""
        guard let z = ctx.catalog.zone(named: name) else { throw .notFound("zone \(name) is not configured") }
        return z
    }

    static func healthByZone(_ ctx: GatewayContext) throws(AdminError) -> [String: ZoneHealth] {
        Dictionary(try store { () throws(StoreError) in try ctx.metadata.zoneHealth() }.map { ($0.zone, $0) }) {
            a, _ in a
        }
    }
}
