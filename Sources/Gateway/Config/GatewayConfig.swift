import Foundation

/// The validated gateway configuration. Immutable once loaded; a reload builds a new one.
public struct GatewayConfig: Sendable {
    public struct Zone: Sendable {
        public var name: String
        public var country: String
        public var region: String
        /// "filesystem" (path) or "s3" (a provider: endpoint, credentials…).
        public var kind: String
        public var path: String
        public var endpoint = ""
        public var signingRegion = "us-east-1"
        public var accessKey = ""
        public var secretKey = ""
        public var pathStyle = true
        public var verifyTLS = true
        public var caBundle: String?
        public var storageClass: String?
        public var payloadSigning = false
        /// Seconds; a provider zone's own values, or the [storage] defaults (see ZoneTimeouts).
        public var connectTimeout = 3
        public var responseTimeout = 3
        public var stallTimeout = 10
        public var completeTimeout = 120
        /// What a GB (2^30 bytes) stored here costs a month, for migration plans; nil: unknown.
        public var pricePerGBMonth: Double?
        /// A filesystem zone's `direct_writes` / `direct_write_min_size`: blobs of at least this
        /// many bytes bypass the page cache (O_DIRECT); nil: none do.
        public var directWriteMinSize: Int64? = 1 << 20
    }

    public var socket = "/run/s3gw/s3gw.sock"
    public var socketMode: UInt32 = 0o660
    public var workers = 0
    public var threads = 32
    public var stateDir = "/var/lib/s3gw"
    /// `[server] host_id`: this host's name in the shared metadata store (docs/HOSTS.md);
    /// nil: the id kept in the state directory's `host-id` (`HostIdentity.stored`).
    public var hostId: String?
    public var logLevel = "info"
    public var maxClockSkew = 900
    /// Hosts under which `bucket.<domain>` addresses a bucket (virtual-host style).
    public var baseDomains: [String] = []
    /// `[server] accel_redirect`: nginx sends the files of filesystem-zone GETs itself
    /// (X-Accel-Redirect to the locations `s3gw config nginx-locations` prints).
    public var accelRedirect = true
    /// `[server] accel_min_size`: answers shorter than this many bytes stream even when
    /// accelerated GETs are on (a redirect costs nginx its kept FastCGI connection).
    public var accelMinSize: Int64 = 512 * 1024
    /// `[server] md5_lanes`: concurrent bodies hash their MD5 together in AVX-512 lanes
    /// (`LaneMD5`); no effect on a CPU without AVX-512.
    public var md5Lanes = true
    public var accessKey: String?
    public var secretKey: String?
    public var defaultZone = ""
    /// Multipart uploads not completed within this many seconds are aborted by the agent
    /// (0: never).
    public var multipartExpiry = 7 * 24 * 3600
    /// How often, in seconds, the agent looks for work (expired uploads).
    public var cleanupInterval = 300
    /// How often, in seconds, the agent probes every zone's health.
    public var healthInterval = 30
    public var replication = ReplicationSettings()
    /// `[s3] allow_sse_c_over_http`: FOR TESTS ONLY, customer-provided encryption keys (SSE-C)
    /// accepted over plain HTTP (S3 refuses them there; logged at every start).
    public var allowSSECOverHTTP = false
    /// `[sts]`: temporary credentials (docs/STS.md).
    public var sts = STSSettings()
    /// `[discovery]`: discovery jobs per worker and how long a stopping worker waits for them.
    public var discovery = DiscoverySettings()
    /// `[migration]`: copying an existing S3 account in (docs/MIGRATION.md).
    public var migration = MigrationSettings()
    /// `[metrics]`: counting, and who may scrape `/metrics` (docs/OBSERVABILITY.md).
    public var metrics = MetricsSettings()
    /// `[audit]`: digests of the audit chain (docs/OBSERVABILITY.md).
    public var audit = AuditSettings()
    /// `[oplog]`: the operations log (docs/OBSERVABILITY.md); its path resolved.
    public var oplog = OplogSettings()
    /// `[lifecycle] interval`: seconds between the agent's lifecycle passes (docs/VERSIONING.md).
    public var lifecycleInterval = 3600
    /// `[s3] default_object_ownership` / `default_public_access_block` (docs/ACCESS.md).
    public var accessDefaults = AccessDefaults()
    /// `[testing] clock_offset_file`: FOR TESTS ONLY, the file `OffsetClock` reads; the agent's
    /// test clock runs only when this and `S3GW_TEST_CLOCK_OFFSET_FILE` name the same file.
    public var testClockOffsetFile: String?
    /// Defaults, in seconds, for how long a provider zone may keep a request waiting: to
    /// connect, from the end of the request to the response headers, with no body byte moving,
    /// and over a CompleteMultipartUpload. A zone's own connect_timeout / response_timeout /
    /// stall_timeout / complete_timeout win.
    public var zoneConnectTimeout = 3
    public var zoneResponseTimeout = 3
    public var zoneStallTimeout = 10
    public var zoneCompleteTimeout = 120
    public var zones: [Zone] = []
    /// `[discovery] endpoints`: URL patterns of the S3 endpoints discovery and migration may
    /// connect to; nil (not configured) means AWS S3 and every provider zone's endpoint
    /// (`EndpointAllowList(config:)`).
    public var discoveryEndpoints: [String]?

    public var workerCount: Int { workers > 0 ? workers : ProcessInfo.processInfo.activeProcessorCount }
    /// `[metadata]`: SQLite (the default) or PostgreSQL.
    public var metadata = MetadataSettings()
    /// `[backup]`: continuous backup of the SQLite metadata store; nil: off.
    public var backup: BackupSettings?
    /// The SQLite metadata file (`[metadata] path`, else in the state directory).
    public var metadataPath: String { metadata.path ?? stateDir + "/metadata.sqlite" }
    /// `[router]`: set when this installation is the global router (docs/ROUTER.md).
    public var router: RouterSettings?
    /// `[s3] signing_hosts`: hosts (`name:port` as clients send Host) whose SigV4 signatures
    /// this gateway also accepts: the global router's, whose 307 clients follow here.
    public var signingHosts: [String] = []
    /// This host's id in the shared store: `[server] host_id`, else the state directory's
    /// `host-id` (the supervisor makes it at the first start), else — a command run before that
    /// start — one derived from the hostname and the state directory.
    public var hostIdentity: String {
        hostId ?? HostIdentity.stored(stateDir: stateDir, create: false) ?? HostIdentity.derived(stateDir: stateDir)
    }

    /// Whole seconds: at least 1, at most an hour (a bound longer than that is no bound).
    static let timeoutRange = 1...3600

    public struct Invalid: Error, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    public static func load(path: String) throws(Invalid) -> GatewayConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw Invalid(file: path, line: 0, message: "cannot read configuration file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(Invalid) -> GatewayConfig {
        let doc: TOMLDocument
        do {
            doc = try TOMLDocument.parse(text)
        } catch {
            throw Invalid(file: file, line: error.line, message: error.message)
        }
        var c = GatewayConfig()
        var reader = Reader(file: file)
        var overrides: [String: (connect: Int?, response: Int?, stall: Int?, complete: Int?)] = [:]
        for table in doc.tables {
            reader.table = table
            switch table.name {
            case "":
                try reader.noKeys()
            case "server":
                c.socket = try reader.string("socket") ?? c.socket
                if let mode = try reader.string("socket_mode") {
                    guard let m = UInt32(mode, radix: 8), m <= 0o777 else {
                        throw reader.invalid("socket_mode", "must be an octal mode like \"0660\"")
                    }
                    c.socketMode = m
                }
                c.workers = try reader.int("workers", in: 0...256) ?? c.workers
                c.threads = try reader.int("threads", in: 1...1024) ?? c.threads
                c.stateDir = try reader.string("state_dir") ?? c.stateDir
                if let id = try reader.string("host_id") {
                    // It ends up in lease owners "<host id>:<pid>" and heartbeat keys.
                    guard !id.isEmpty, id.count <= 64,
                        id.allSatisfy({ $0.isLetter || $0.isNumber || "-._".contains($0) })
                    else { throw reader.invalid("host_id", "must be 1-64 letters, digits, '-', '.' or '_'") }
                    c.hostId = id
                }
                c.logLevel =
                    try reader.oneOf("log_level", ["trace", "debug", "info", "notice", "warning", "error", "critical"])
                    ?? c.logLevel
                c.maxClockSkew = try reader.int("max_clock_skew", in: 1...86400) ?? c.maxClockSkew
                c.baseDomains = try reader.strings("base_domains") ?? []
                for d in c.baseDomains where d.isEmpty || d.contains("/") || d.contains(":") {
                    throw reader.invalid("base_domains", "\"\(d)\" is not a host name")
                }
                c.accelRedirect = try reader.bool("accel_redirect") ?? c.accelRedirect
                c.accelMinSize = try reader.int("accel_min_size", in: 0...(1 << 40)).map(Int64.init) ?? c.accelMinSize
                c.md5Lanes = try reader.bool("md5_lanes") ?? c.md5Lanes
                try reader.noOtherKeys()
            case "credentials":
                c.accessKey = try reader.string("access_key").flatMap { $0.isEmpty ? nil : $0 }
                c.secretKey = try reader.string("secret_key").flatMap { $0.isEmpty ? nil : $0 }
                if (c.accessKey == nil) != (c.secretKey == nil) {
                    throw Invalid(
                        file: file, line: table.line, message: "access_key and secret_key must be set together")
                }
                try reader.noOtherKeys()
            case "storage":
                c.defaultZone = try reader.string("default_zone") ?? ""
                c.multipartExpiry = try reader.int("multipart_expiry", in: 0...(10 * 365 * 86400)) ?? c.multipartExpiry
                c.cleanupInterval = try reader.int("cleanup_interval", in: 1...86400) ?? c.cleanupInterval
                c.healthInterval = try reader.int("health_interval", in: 1...86400) ?? c.healthInterval
                c.zoneConnectTimeout =
                    try reader.int("zone_connect_timeout", in: Self.timeoutRange) ?? c.zoneConnectTimeout
                c.zoneResponseTimeout =
                    try reader.int("zone_response_timeout", in: Self.timeoutRange) ?? c.zoneResponseTimeout
                c.zoneStallTimeout = try reader.int("zone_stall_timeout", in: Self.timeoutRange) ?? c.zoneStallTimeout
                c.zoneCompleteTimeout =
                    try reader.int("zone_complete_timeout", in: Self.timeoutRange) ?? c.zoneCompleteTimeout
                try reader.noOtherKeys()
            case "replication":
                var r = c.replication
                r.defaultReplicaCount = try reader.int("replica_count", in: 1...16) ?? r.defaultReplicaCount
                r.workers = try reader.int("workers", in: 0...64) ?? r.workers
                r.maxAttempts = try reader.int("max_attempts", in: 1...1000) ?? r.maxAttempts
                r.retryBase = Double(try reader.int("retry_base", in: 1...3600) ?? Int(r.retryBase))
                r.retryMax = Double(try reader.int("retry_max", in: 1...(7 * 86400)) ?? Int(r.retryMax))
                r.lease = Double(try reader.int("lease", in: 5...3600) ?? Int(r.lease))
                // In MB/s (10^6 bytes) in the file, as operators state link speeds.
                r.zoneRate = Double(try reader.int("zone_rate_mb", in: 0...100_000) ?? 0) * 1_000_000
                r.tenantRate = Double(try reader.int("tenant_rate_mb", in: 0...100_000) ?? 0) * 1_000_000
                r.failover =
                    try reader.oneOf("failover", ["auto", "manual"]).flatMap(ReplicationSettings.FailoverMode.init)
                    ?? r.failover
                r.failoverAfter = try reader.int("failover_after", in: 1...1000) ?? r.failoverAfter
                r.scrubPerHour = try reader.int("scrub_per_hour", in: 0...100_000_000) ?? r.scrubPerHour
                r.orphanGrace = Double(try reader.int("orphan_grace", in: 0...(365 * 86400)) ?? Int(r.orphanGrace))
                r.orphanInterval = Double(
                    try reader.int("orphan_interval", in: 0...(30 * 86400)) ?? Int(r.orphanInterval))
                c.replication = r
                try reader.noOtherKeys()
            case "sts":
                c.sts.minDuration =
                    try reader.int("min_duration_seconds", in: 1...c.sts.maxDuration) ?? c.sts.minDuration
                try reader.noOtherKeys()
            case "discovery":
                if let patterns = try reader.strings("endpoints") {
                    for pattern in patterns {
                        if let why = EndpointAllowList.problem(with: pattern) {
                            throw reader.invalid("endpoints", "\"\(pattern)\" is not an endpoint pattern: \(why)")
                        }
                    }
                    c.discoveryEndpoints = patterns
                }
                c.discovery.maxJobs = try reader.int("max_jobs", in: 1...64) ?? c.discovery.maxJobs
                c.discovery.drainTimeout = Double(
                    try reader.int("drain_timeout", in: 0...100) ?? Int(c.discovery.drainTimeout))
                try reader.noOtherKeys()
            case "migration":
                c.migration.bandwidthMbps =
                    try reader.number("bandwidth_mbps", in: 0.001...1_000_000) ?? c.migration.bandwidthMbps
                try reader.noOtherKeys()
            case "metrics":
                c.metrics.enabled = try reader.bool("enabled") ?? c.metrics.enabled
                if let entries = try reader.strings("allow") {
                    c.metrics.allow = try entries.map { entry throws(Invalid) in
                        guard let range = AddressRange(entry) else {
                            throw reader.invalid("allow", "\"\(entry)\" is not an address or a CIDR range")
                        }
                        return range
                    }
                }
                c.metrics.historyInterval =
                    try reader.int("history_interval", in: 1...3600) ?? c.metrics.historyInterval
                try reader.noOtherKeys()
            case "metadata":
                if let kind = try reader.oneOf("kind", MetadataSettings.Kind.allCases.map(\.rawValue)) {
                    c.metadata.kind = MetadataSettings.Kind(rawValue: kind) ?? .sqlite
                }
                c.metadata.path = try reader.string("path").flatMap { $0.isEmpty ? nil : $0 }
                c.metadata.url = try reader.string("url") ?? ""
                c.metadata.bucketCache = try reader.bool("bucket_cache") ?? true
                if c.metadata.kind == .postgres && c.metadata.url.isEmpty {
                    throw Invalid(file: file, line: table.line, message: "kind = \"postgres\" needs url")
                }
                if c.metadata.urlCarriesPassword {
                    throw Invalid(
                        file: file, line: table.line,
                        message: "url holds a password: keep it in ~/.pgpass or the file PGPASSFILE names")
                }
            case "backup":
                c.backup = try Self.backup(&reader)
            case "audit":
                c.audit.enabled = try reader.bool("enabled") ?? c.audit.enabled
                c.audit.digestInterval =
                    try reader.number("digest_interval", in: 0.05...1440) ?? c.audit.digestInterval
                c.audit.digestZone = try reader.string("digest_zone").flatMap { $0.isEmpty ? nil : $0 }
                c.audit.digestBucket = try reader.string("digest_bucket").flatMap { $0.isEmpty ? nil : $0 }
                if (c.audit.digestZone == nil) != (c.audit.digestBucket == nil) {
                    throw Invalid(
                        file: file, line: table.line, message: "digest_zone and digest_bucket must be set together")
                }
                if let b = c.audit.digestBucket, !AuditSettings.isValidBucket(b) {
                    throw reader.invalid("digest_bucket", "\"\(b)\" is not a valid bucket name")
                }
                c.audit.authFailuresPerMinute =
                    try reader.int("auth_failures_per_minute", in: 1...100_000) ?? c.audit.authFailuresPerMinute
                try reader.noOtherKeys()
            case "oplog":
                c.oplog.enabled = try reader.bool("enabled") ?? c.oplog.enabled
                if let path = try reader.string("path") {
                    guard path.hasPrefix("/"), !path.hasSuffix("/") else {
                        throw reader.invalid("path", "must be an absolute file path")
                    }
                    c.oplog.path = path
                }
                c.oplog.maxBytes = try reader.int("max_bytes", in: 1024...(1 << 40)) ?? c.oplog.maxBytes
                c.oplog.files = try reader.int("files", in: 1...OplogSettings.maxFiles) ?? c.oplog.files
                try reader.noOtherKeys()
            case "lifecycle":
                c.lifecycleInterval = try reader.int("interval", in: 1...(7 * 86400)) ?? c.lifecycleInterval
                try reader.noOtherKeys()
            case "s3":
                c.accessDefaults.objectOwnership =
                    try reader.oneOf("default_object_ownership", AccessDefaults.ownerships)
                    ?? c.accessDefaults.objectOwnership
                c.accessDefaults.blockPublicAccess =
                    try reader.bool("default_public_access_block") ?? c.accessDefaults.blockPublicAccess
                c.allowSSECOverHTTP = try reader.bool("allow_sse_c_over_http") ?? c.allowSSECOverHTTP
                c.signingHosts = try reader.strings("signing_hosts") ?? []
                for h in c.signingHosts where h.isEmpty || h.contains("/") || h.contains(" ") {
                    throw reader.invalid("signing_hosts", "\"\(h)\" is not a host[:port]")
                }
                try reader.noOtherKeys()
            case "router":
                var r = RouterSettings()
                r.store = try reader.string("store").flatMap { $0.isEmpty ? nil : $0 }
                if let store = r.store, !store.hasPrefix("/") {
                    throw reader.invalid("store", "must be an absolute file path")
                }
                r.lookup = try reader.bool("lookup") ?? r.lookup
                c.router = r
                try reader.noOtherKeys()
            case "testing":
                if let path = try reader.string("clock_offset_file") {
                    guard path.hasPrefix("/") else {
                        throw reader.invalid("clock_offset_file", "must be an absolute file path")
                    }
                    c.testClockOffsetFile = path
                }
                try reader.noOtherKeys()
            case "zones[]":
                guard let name = try reader.string("name"), !name.isEmpty else {
                    throw Invalid(file: file, line: table.line, message: "zone needs a name")
                }
                if c.zones.contains(where: { $0.name == name }) {
                    throw reader.invalid("name", "zone \"\(name)\" defined twice")
                }
                if let problem = ZoneLabels.nameProblem(name) { throw reader.invalid("name", problem) }
                let kind = try reader.oneOf("kind", ["filesystem", "s3"]) ?? "filesystem"
                var zone = Zone(
                    name: name, country: try reader.string("country") ?? "", region: try reader.string("region") ?? "",
                    kind: kind, path: try reader.string("path") ?? "")
                if let problem = ZoneLabels.countryProblem(zone.country) { throw reader.invalid("country", problem) }
                zone.pricePerGBMonth = try reader.number("price_per_gb_month", in: 0...1_000_000)
                if kind == "filesystem" {
                    guard zone.path.hasPrefix("/") else {
                        throw Invalid(
                            file: file, line: table.line, message: "filesystem zone \"\(name)\" needs an absolute path")
                    }
                    let minSize = try reader.int("direct_write_min_size", in: 0...(1 << 50)).map(Int64.init)
                    if try reader.bool("direct_writes") ?? true {
                        zone.directWriteMinSize = minSize ?? zone.directWriteMinSize
                    } else {
                        zone.directWriteMinSize = nil
                    }
                } else {
                    guard let endpoint = try reader.string("endpoint"),
                        endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")
                    else {
                        throw Invalid(
                            file: file, line: table.values["endpoint"]?.line ?? table.line,
                            message: "s3 zone \"\(name)\" needs endpoint = \"https://host[:port]\"")
                    }
                    zone.endpoint = endpoint
                    guard let ak = try reader.string("access_key"), let sk = try reader.string("secret_key"),
                        !ak.isEmpty,
                        !sk.isEmpty
                    else {
                        throw Invalid(
                            file: file, line: table.line, message: "s3 zone \"\(name)\" needs access_key and secret_key"
                        )
                    }
                    zone.accessKey = ak
                    zone.secretKey = sk
                    zone.signingRegion = try reader.string("signing_region") ?? "us-east-1"
                    zone.pathStyle = try reader.bool("path_style") ?? true
                    zone.verifyTLS = try reader.bool("verify_tls") ?? true
                    zone.caBundle = try reader.string("ca_bundle")
                    zone.storageClass = try reader.string("storage_class")
                    zone.payloadSigning = try reader.bool("payload_signing") ?? false
                    // Resolved against the [storage] defaults once the whole file is read.
                    overrides[name] = (
                        try reader.int("connect_timeout", in: Self.timeoutRange),
                        try reader.int("response_timeout", in: Self.timeoutRange),
                        try reader.int("stall_timeout", in: Self.timeoutRange),
                        try reader.int("complete_timeout", in: Self.timeoutRange)
                    )
                }
                try reader.noOtherKeys()
                c.zones.append(zone)
            default:
                throw Invalid(
                    file: file, line: table.line,
                    message: "unknown section [\(table.name.replacingOccurrences(of: "[]", with: ""))]")
            }
        }
        if c.oplog.path.isEmpty { c.oplog.path = OplogSettings.defaultPath(stateDir: c.stateDir) }
        if let conflict = c.oplog.stateConflict(stateDir: c.stateDir) {
            throw Invalid(file: file, line: 0, message: "[oplog] path \(c.oplog.path) \(conflict)")
        }
        // The router stores nothing but its routing table: it needs no zone.
        if c.zones.isEmpty && c.router == nil {
            throw Invalid(file: file, line: 0, message: "no [[zones]] configured")
        }
        for i in c.zones.indices {
            let own = overrides[c.zones[i].name]
            c.zones[i].connectTimeout = own?.connect ?? c.zoneConnectTimeout
            c.zones[i].responseTimeout = own?.response ?? c.zoneResponseTimeout
            c.zones[i].stallTimeout = own?.stall ?? c.zoneStallTimeout
            c.zones[i].completeTimeout = own?.complete ?? c.zoneCompleteTimeout
        }
        if let z = c.audit.digestZone, !c.zones.contains(where: { $0.name == z }) {
            let line = doc.tables.first { $0.name == "audit" }?.values["digest_zone"]?.line ?? 0
            throw Invalid(file: file, line: line, message: "digest_zone \"\(z)\" is not a configured zone")
        }
        if let b = c.backup {
            let line = doc.tables.first { $0.name == "backup" }?.line ?? 0
            if c.metadata.kind == .postgres {
                throw Invalid(
                    file: file, line: line,
                    message:
                        "[backup] backs up the embedded SQLite store; with [metadata] kind = \"postgres\" use PostgreSQL's base backups and WAL archiving (docs/METADATA.md)"
                )
            }
            if !c.zones.contains(where: { $0.name == b.zone }) {
                throw Invalid(file: file, line: line, message: "[backup] zone \"\(b.zone)\" is not a configured zone")
            }
        }
        if c.defaultZone.isEmpty {
            c.defaultZone = c.zones.first?.name ?? ""
        } else if !c.zones.contains(where: { $0.name == c.defaultZone }) {
            let line = doc.tables.first { $0.name == "storage" }?.values["default_zone"]?.line ?? 0
            throw Invalid(file: file, line: line, message: "default_zone \"\(c.defaultZone)\" is not a configured zone")
        }
        return c
    }

    private static func backup(_ reader: inout Reader) throws(Invalid) -> BackupSettings {
        guard let zone = try reader.string("zone"), !zone.isEmpty else { throw reader.invalid("zone", "is required") }
        guard let bucket = try reader.string("bucket"), AuditSettings.isValidBucket(bucket) else {
            throw reader.invalid("bucket", "is required: a bucket name (3-63 lowercase letters, digits, . and -)")
        }
        var b = BackupSettings(zone: zone, bucket: bucket)
        b.walInterval = try reader.number("wal_interval", in: 0.1...3600) ?? b.walInterval
        b.snapshotInterval = try reader.int("snapshot_interval", in: 60...(365 * 86400)) ?? b.snapshotInterval
        b.retention = try reader.int("retention", in: 60...(3650 * 86400)) ?? b.retention
        b.checkpointBytes = try reader.int("checkpoint_bytes", in: 65536...(1 << 30)) ?? b.checkpointBytes
        try reader.noOtherKeys()
        return b
    }

    /// Reads typed keys from one table and remembers which were used, so unknown keys fail.
    private struct Reader {
        let file: String
        var table = TOMLDocument.Table(name: "", line: 0)
        var used: Set<String> = []

        init(file: String) { self.file = file }

        func invalid(_ key: String, _ message: String) -> Invalid {
            Invalid(file: file, line: table.values[key]?.line ?? table.line, message: "\(key): \(message)")
        }

        mutating func string(_ key: String) throws(Invalid) -> String? {
            used.insert(key)
            guard let v = table.values[key] else { return nil }
            guard case .string(let s) = v.kind else { throw invalid(key, "must be a string") }
            return s
        }

        mutating func bool(_ key: String) throws(Invalid) -> Bool? {
            used.insert(key)
            guard let v = table.values[key] else { return nil }
            guard case .bool(let b) = v.kind else { throw invalid(key, "must be true or false") }
            return b
        }

        mutating func strings(_ key: String) throws(Invalid) -> [String]? {
            used.insert(key)
            guard let v = table.values[key] else { return nil }
            guard case .array(let a) = v.kind else { throw invalid(key, "must be an array of strings") }
            return a
        }

        mutating func int(_ key: String, in range: ClosedRange<Int>) throws(Invalid) -> Int? {
            used.insert(key)
            guard let v = table.values[key] else { return nil }
            guard case .integer(let i) = v.kind else { throw invalid(key, "must be an integer") }
            guard range.contains(i) else {
                throw invalid(key, "must be between \(range.lowerBound) and \(range.upperBound)")
            }
            return i
        }

        /// An integer or a float.
        mutating func number(_ key: String, in range: ClosedRange<Double>) throws(Invalid) -> Double? {
            used.insert(key)
            guard let v = table.values[key] else { return nil }
            let d: Double
            switch v.kind {
            case .integer(let i): d = Double(i)
            case .float(let f): d = f
            default: throw invalid(key, "must be a number")
            }
            guard range.contains(d) else {
                throw invalid(key, "must be between \(range.lowerBound) and \(range.upperBound)")
            }
            return d
        }

        mutating func oneOf(_ key: String, _ allowed: [String]) throws(Invalid) -> String? {
            guard let s = try string(key) else { return nil }
            guard allowed.contains(s) else { throw invalid(key, "must be one of \(allowed.joined(separator: ", "))") }
            return s
        }

        mutating func noKeys() throws(Invalid) { try noOtherKeys() }

        mutating func noOtherKeys() throws(Invalid) {
            for key in table.order where !used.contains(key) {
                throw invalid(key, "unknown key")
            }
            used = []
        }
    }
}
