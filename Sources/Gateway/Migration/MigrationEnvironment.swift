import GatewayCore

/// What migration needs of the installation besides the metadata and zones.
public struct MigrationEnvironment: Sendable {
    public var settings: MigrationSettings
    /// `price_per_gb_month` by zone name, for the zones that have one.
    public var prices: [String: Double]
    /// The state directory: plans under `plans/<tenant>/`, snapshots under `snapshots/<tenant>/`,
    /// read-through sockets under `migration/`. nil (handler tests): none is written.
    public var stateDir: String?
    /// How a worker asks a running copy for a missing key (read-through).
    public var readThrough: any ReadThroughFetcher = UnixSocketReadThrough()
    /// How many of this process's threads may wait for a run at once.
    public var readThroughGate = ReadThroughGate()
    /// Keys runs said their source lacks, for a while.
    public var absentKeys = ReadThroughAbsentKeys()
    /// Opens source accounts for runs started through the API; nil: such runs are refused.
    public var connector: SourceConnector?
    /// The runs this process carries (started through the API).
    public var runs = MigrationRuns()

    public init(
        settings: MigrationSettings = MigrationSettings(), prices: [String: Double] = [:], stateDir: String? = nil
    ) {
        self.settings = settings
        self.prices = prices
        self.stateDir = stateDir
    }

    public init(config: GatewayConfig) {
        var prices: [String: Double] = [:]
        for z in config.zones { if let p = z.pricePerGBMonth { prices[z.name] = p } }
        self.init(settings: config.migration, prices: prices, stateDir: config.stateDir)
        // A quarter of the worker's threads: the rest keep serving everything else.
        readThroughGate = ReadThroughGate(limit: max(1, config.threads / 4))
    }
}
