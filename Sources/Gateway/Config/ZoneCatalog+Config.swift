extension ZoneCatalog {
    /// The configuration's zones, in its order: what every process (worker, agent, CLI) builds.
    public init(config: GatewayConfig) {
        self.init(
            zones: config.zones.map {
                Zone(
                    name: $0.name, country: $0.country, region: $0.region, kind: $0.kind,
                    location: $0.kind == "s3" ? Self.withoutUserInfo($0.endpoint) : $0.path)
            },
            defaultZone: config.defaultZone)
    }

    /// An endpoint as it may be shown: `https://user:secret@host` loses `user:secret@`.
    static func withoutUserInfo(_ endpoint: String) -> String {
        guard let scheme = endpoint.range(of: "://") else { return endpoint }
        let rest = endpoint[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return endpoint }
        return String(endpoint[..<scheme.upperBound]) + rest[rest.index(after: at)...]
    }
}
