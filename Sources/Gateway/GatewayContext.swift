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
    /// Access keys → principals (the verifier's credential lookup is the same object).
    public let identities: Identities
    public let clock: any Clock
    /// Keys the hash that names backend buckets; never leaves the installation.
    public let installationSecret: [UInt8]
    public let logger: Logger
    /// `bucket.<domain>` Host headers address buckets virtual-host style; lowercased.
    public let baseDomains: [String]
    /// Which zones the health checker marks down: reads skip them without trying.
    let zoneHealth: ZoneHealthCache
    public let replication: ReplicationSettings
    public let sts: STSSettings
    /// What the admin API needs of the installation beyond the metadata.
    public let admin: AdminSettings
    /// Discovery jobs, snapshots and the connector to source accounts; nil where the process
    /// has none (the `/api/discovery/` routes then answer 503).
    public let discovery: DiscoveryJobs?
    /// Migration from an existing S3 account: the plan estimates' settings, where plans go.
    public var migration = MigrationEnvironment()
    /// Told about every finished request (operations log, metrics), in order.
    public var observers: [any RequestObserver] = []
    /// The counter files and this process's own (nil: `[metrics] enabled = false`, or tests).
    public let metrics: GatewayMetrics?
    /// `[oplog]`: where the operations log is, for the admin API's queries.
    public var oplog = OplogSettings()
    /// `[s3]`: the object ownership and public access block new buckets get (docs/ACCESS.md).
    public var accessDefaults = AccessDefaults()
    /// `[server] accel_redirect`: filesystem-zone GETs answered by nginx (`AccelRedirect`).
    public var accelRedirect = false
    /// `[server] accel_min_size`: shorter answers stream.
    public var accelMinSize: Int64 = 0
    /// `[s3] allow_sse_c_over_http` (tests only): SSE-C keys accepted without TLS.
    public var allowSSECOverHTTP = false
    /// Key-encryption keys and data keys (SSE-S3, SSE-KMS, SSE-C), with this process's KEK cache.
    public let keys: KeyService
    /// `backendBucket(_:in:)`'s names: a pure function of the installation secret, the bucket's
    /// naming key and name and the zone, so they never go stale.
    let backendBuckets = ThreadShardedCache<BackendBucketKey, String>()

    struct BackendBucketKey: Hashable, Sendable {
        let namingKey: String
        let bucket: String
        let zone: String
    }

    public init(
        metadata: any MetadataStore, zones: [String: any StorageZone], catalog: ZoneCatalog, identities: Identities,
        maxClockSkew: Double = 900, clock: any Clock, installationSecret: [UInt8], logger: Logger,
        baseDomains: [String] = [],
        replication: ReplicationSettings = ReplicationSettings(), sts: STSSettings = STSSettings(),
        admin: AdminSettings = AdminSettings(), discovery: DiscoveryJobs? = nil, metrics: GatewayMetrics? = nil,
        signingHosts: [String] = []
    ) {
        self.metrics = metrics
        self.admin = admin
        self.discovery = discovery
        self.replication = replication
        self.sts = sts
        self.baseDomains = baseDomains.map { $0.lowercased() }
        self.metadata = metadata
        self.zones = zones.mapValues { TracedZone($0, metrics: metrics?.recorder) }
        self.catalog = catalog
        self.identities = identities
        verifier = Verifier(credentials: identities, maxClockSkew: maxClockSkew, signingHosts: signingHosts)
        self.clock = clock
        self.installationSecret = installationSecret
        self.logger = logger
        zoneHealth = ZoneHealthCache(metadata: metadata, clock: clock)
        // ARNs name a region; the gateway has none of its own, and SDKs accept any.
        // The master keys as `identities` holds them, re-read after `s3gw keys rotate`.
        keys = KeyService(
            store: metadata, box: identities.secretBox, region: "us-east-1", clock: clock,
            reloadKeys: { identities.secretBox })
    }

    /// The bucket's own bucket inside `zone`: each zone has its own name for it, derived, so
    /// it holds wherever failover or replication puts the bytes.
    func backendBucket(_ b: BucketRecord, in zone: String) -> String {
        backendBuckets.value(for: BackendBucketKey(namingKey: b.namingKey, bucket: b.name, zone: zone)) {
            BackendBucketName.derive(secret: installationSecret, tenant: b.namingKey, bucket: b.name, zone: zone)
        }
    }

    /// A zone the metadata names but the configuration lacks is the operator's problem: logged
    /// with its name where store errors become S3 errors, never named to the client.
    func zone(_ name: String) throws(StoreError) -> any StorageZone {
        guard let z = zones[name] else { throw .noSuchZone(name) }
        return z
    }
}

/// The installation as the admin API sees it beyond the metadata store.
public struct AdminSettings: Sendable {
    /// The configuration file the process was started with: `POST /admin/providers/import`
    /// rewrites it. nil (tests, tools without one): imports are refused.
    public var configPath: String?
    /// `[storage] multipart_expiry`: the default cutoff of the stray zone upload sweep.
    public var multipartExpiry: Double

    public init(configPath: String? = nil, multipartExpiry: Double = 7 * 24 * 3600) {
        self.configPath = configPath
        self.multipartExpiry = multipartExpiry
    }
}
