import Foundation
import GatewayCore
import SigV4

/// Signs the audit chain's digests (the agent, every `[audit] digest_interval`) and writes
/// their files to the digest zone; reads them back for `s3gw audit verify --digests`.
public struct AuditDigests: Sendable {
    let store: any AuditStore
    let key: Ed25519Key
    let settings: AuditSettings
    /// The `[audit] digest_zone`, when configured.
    let zone: (any StorageZone)?

    public init(store: any AuditStore, key: Ed25519Key, settings: AuditSettings, zone: (any StorageZone)?) {
        self.store = store
        self.key = key
        self.settings = settings
        self.zone = zone
    }

    /// The period `now` falls in ends at the last multiple of the interval: every agent names
    /// the same period, so the store keeps one digest per period however many agents run.
    public func periodEnd(_ now: Double) -> Int64 {
        let ms = Int64((settings.digestInterval * 60_000).rounded())
        return Int64(now * 1000) / ms * ms
    }

    /// Adds this period's digest unless another agent did, then writes the files still owed to
    /// the digest zone. Returns the digest added (nil: the period had one).
    @discardableResult
    public func run(now: Double) throws -> AuditDigest? {
        try store.addAuditKey(key.auditKey(created: now))
        let installation = try Self.installation(store) ?? String(key.fingerprint.prefix(16))
        let end = periodEnd(now)
        let intervalMs = Int64((settings.digestInterval * 60_000).rounded())
        let added = try store.addAuditDigest(periodEnd: end) { previous, last throws(StoreError) -> AuditDigest in
            var d = AuditDigest(
                installation: installation, periodStart: previous?.periodEnd ?? (end - intervalMs),
                periodEnd: end, firstSeq: (previous?.lastSeq ?? 0) + 1, lastSeq: last?.seq ?? 0,
                lastHash: last?.hash ?? AuditRecord.genesisHash, publicKeyFingerprint: key.fingerprint,
                previousDigestHash: previous?.hash(sha256Hex) ?? "", previousDigestSignature: previous?.signature ?? "")
            do {
                d.signature = hexEncode(try key.sign(d.signedMessage(sha256Hex)))
            } catch {
                throw .internalFailure("audit digest: \(error)")
            }
            return d
        }
        try export()
        return added
    }

    /// Writes every digest whose file is owed. A file written twice (two agents at once) holds
    /// the same bytes: readers keep one per period.
    public func export() throws {
        guard let zone, let bucket = settings.digestBucket else { return }
        let pending = try store.pendingAuditDigests()
        if pending.isEmpty { return }
        try zone.createBucket(bucket)
        for d in pending {
            let bytes = d.file
            try zone.beginWrite(backendBucket: bucket, length: Int64(bytes.count)).commit(bytes: bytes)
            try store.markAuditDigestExported(id: d.id)
        }
    }

    /// The installation's name in digests: the first signing key's fingerprint (16 hex digits),
    /// stable across key rotations and revealing nothing.
    static func installation(_ store: any AuditStore) throws -> String? {
        try store.auditKeys().first.map { String($0.fingerprint.prefix(16)) }
    }

    /// Every digest file in the zone's bucket, one per period, oldest first. Files that are not
    /// digests are reported by name.
    public static func readFiles(zone: any StorageZone, bucket: String) throws -> (
        digests: [AuditDigest], unreadable: [String]
    ) {
        var byPeriod: [Int64: AuditDigest] = [:]
        var unreadable: [String] = []
        var after = ""
        while true {
            let page = try zone.listBlobs(backendBucket: bucket, after: after, limit: 1000)
            for blob in page {
                let reader = try zone.open(backendBucket: bucket, blob: blob.id, offset: 0, length: nil)
                guard let bytes = try reader.readAll(limit: 1 << 20),
                    let d = try? JSONDecoder().decode(AuditDigest.self, from: Data(bytes))
                else {
                    unreadable.append(blob.id)
                    continue
                }
                byPeriod[d.periodEnd] = d
            }
            guard let last = page.last else { break }
            after = last.id
        }
        return (byPeriod.values.sorted { $0.periodEnd < $1.periodEnd }, unreadable)
    }
}
