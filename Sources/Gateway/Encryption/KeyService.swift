import Foundation
import GatewayCore
import SigV4
import Synchronization

/// The key hierarchy's middle layer (docs/ENCRYPTION.md): KEKs are 32 random bytes kept in
/// `kms_keys`, each version sealed with the master key ring; they wrap the per-object data keys
/// (DEKs) whose envelopes sit in the object rows. One per process: it caches unwrapped KEKs
/// (never DEKs) and, for `recordTTL` seconds, the key rows (so a disabled key is refused within
/// that time).
public final class KeyService: Sendable {
    /// How a write asks for its data key.
    public enum Choice: Sendable {
        /// SSE-S3: the tenant's own key.
        case s3
        /// SSE-KMS: a key id, key ARN, alias ARN or `alias/<name>` as the client gave it; nil for
        /// the tenant's default KMS key (AWS's `aws/s3`, here the tenant's SSE-S3 key).
        case kms(String?)
        /// SSE-C: the client's 32-byte key.
        case customer([UInt8])
    }

    public static let sseS3Kind = "sse-s3"
    public static let kmsKind = "kms"
    /// The alias of the tenant's SSE-S3 key: AWS's name for the managed key SSE-KMS uses when a
    /// request names none (aliases beginning with `aws/` are reserved).
    public static let sseS3Alias = "aws/s3"

    private let store: any MetadataStore
    /// The master key ring this process holds: re-read (`reloadKeys`) before sealing, and when
    /// a sealed KEK names a key it lacks, so after `s3gw keys rotate` a process started before
    /// it opens the re-sealed KEKs and seals new versions under the new key.
    private let box: Mutex<SecretBox>
    private let reloadKeys: @Sendable () -> SecretBox?
    private let region: String
    private let clock: any Clock
    private let recordTTL: Double
    /// "<id>#<version>" → KEK.
    private let keks = Mutex<[String: [UInt8]]>([:])
    /// id → (row, when read).
    private let records = Mutex<[String: (KMSKeyRecord, Double)]>([:])
    /// Each key's current version, by the version list it was read from: a write decodes a
    /// key's versions only when they changed.
    private let currents = Mutex<[String: (versions: String, current: Int)]>([:])
    /// Tenant → the id of its SSE-S3 key (made once, never replaced): a write finds it without
    /// listing the tenant's keys, its row then comes from `records`.
    private let sseS3Ids = Mutex<[String: String]>([:])

    public init(
        store: any MetadataStore, box: SecretBox, region: String, clock: any Clock = SystemClock(),
        recordTTL: Double = 5, reloadKeys: @escaping @Sendable () -> SecretBox? = { nil }
    ) {
        self.store = store
        self.box = Mutex(box)
        self.reloadKeys = reloadKeys
        self.region = region
        self.clock = clock
        self.recordTTL = recordTTL
    }

    // MARK: data keys

    /// A fresh DEK for one object version (or multipart upload) and its envelope, wrapped under
    /// the current version of the chosen key. Throws `SSEError.keyNotFound` / `.keyDisabled`
    /// for an unusable KMS key.
    public func newDataKey(_ choice: Choice, tenant: String) throws -> (dataKey: [UInt8], envelope: SSEEnvelope) {
        switch choice {
        case .customer(let key):
            return DataKey.generate(mode: .customer, kekId: "", kekVersion: 0, wrappingKey: key)
        case .s3:
            let k = try sseS3Key(tenant: tenant)
            let (v, kek) = try currentKEK(k)
            return DataKey.generate(mode: .s3, kekId: k.id, kekVersion: v, wrappingKey: kek)
        case .kms(let given):
            let k = try given.map { try resolve($0, tenant: tenant) } ?? sseS3Key(tenant: tenant)
            let (v, kek) = try currentKEK(k)
            return DataKey.generate(mode: .kms(k.id), kekId: k.id, kekVersion: v, wrappingKey: kek)
        }
    }

    /// The DEK of `envelope`. SSE-C needs `customerKey` (`.customerKeyRequired` without it,
    /// `.wrongKey` when it is not the one); a KMS key must still be enabled (`.keyDisabled`),
    /// unless `anyState` (the agent verifying stored copies: a disabled key's objects still
    /// replicate and scrub, and nothing of them leaves the gateway).
    public func dataKey(_ envelope: SSEEnvelope, customerKey: [UInt8]? = nil, anyState: Bool = false) throws
        -> [UInt8]
    {
        if case .customer = envelope.mode {
            guard let customerKey else { throw SSEError.customerKeyRequired }
            return try DataKey.unwrap(envelope, with: customerKey)
        }
        let k = try record(envelope.kekId, fresh: false)
        if case .kms = envelope.mode, !anyState, k.state != "Enabled" { throw SSEError.keyDisabled(arn(k)) }
        return try unwrapUnderKEK(envelope, k)
    }

    /// `envelope` with its DEK re-wrapped under the key's current version (unchanged when it
    /// already is, or for SSE-C); the object's bytes stay as they are. For `s3gw keys rewrap`.
    public func rewrap(_ envelope: SSEEnvelope) throws -> SSEEnvelope {
        if case .customer = envelope.mode { return envelope }
        let k = try record(envelope.kekId, fresh: true)
        let (v, kek) = try currentKEK(k)
        if envelope.kekVersion == v { return envelope }
        let dek = try unwrapUnderKEK(envelope, k)
        var e = envelope
        e.kekVersion = v
        DataKey.wrap(dek, into: &e, under: kek)
        return e
    }

    private func unwrapUnderKEK(_ e: SSEEnvelope, _ k: KMSKeyRecord) throws -> [UInt8] {
        let kek = try self.kek(k, version: e.kekVersion)
        do {
            return try DataKey.unwrap(e, with: kek)
        } catch {
            // Our own KEK not opening our own DEK is damage, not a client's mistake.
            guard case .wrongKey = error else { throw error }
            throw SSEError.corrupt("the data key does not open under key \(k.id) version \(e.kekVersion)")
        }
    }

    // MARK: keys

    /// The tenant's SSE-S3 key, made on first use. Workers racing to make it converge on one:
    /// the store refuses a second (`.entityExists`), and the loser reads the winner's.
    public func sseS3Key(tenant: String) throws -> KMSKeyRecord {
        if let id = sseS3Ids.withLock({ $0[tenant] }) { return try record(id, fresh: false) }
        let k =
            try store.kmsKeys(tenant: tenant).first(where: { $0.kind == Self.sseS3Kind })
            ?? createSSES3Key(tenant: tenant)
        sseS3Ids.withLock { $0[tenant] = k.id }
        records.withLock { $0[k.id] = (k, clock.now()) }
        return k
    }

    func createSSES3Key(tenant: String) throws -> KMSKeyRecord {
        let k = newKey(tenant: tenant, kind: Self.sseS3Kind, alias: Self.sseS3Alias, description: "SSE-S3")
        do {
            try store.putKMSKey(k, audit: .kmsKeyCreate(k))
            return k
        } catch {
            guard case .entityExists = error else { throw error }
        }
        guard let winner = try store.kmsKeys(tenant: tenant).first(where: { $0.kind == Self.sseS3Kind }) else {
            throw StoreError.internalFailure("the SSE-S3 key of tenant \(tenant) exists and cannot be read")
        }
        return winner
    }

    /// An SSE-KMS key of the tenant (the admin API). `.entityExists` when the alias is taken.
    public func createKey(tenant: String, alias: String = "", description: String = "") throws -> KMSKeyRecord {
        let k = newKey(tenant: tenant, kind: Self.kmsKind, alias: alias, description: description)
        try store.putKMSKey(k, audit: .kmsKeyCreate(k))
        return k
    }

    /// Adds a KEK version, current from now on; older versions stay to open what they wrapped.
    /// Safe beside other rotations and state changes: the row is replaced only while it is the
    /// one read (`replaceKMSKey`), else read again, so no version is ever dropped.
    public func rotate(id: String) throws -> KMSKeyRecord {
        var added = 0
        return try change(id) { k in
            var versions = try Self.versions(k)
            let v = (versions.last?.v ?? 0) + 1
            versions.append(
                KEKVersion(
                    v: v, sealed: seal(randomBytes(SegmentCipher.keySize), id: id, version: v),
                    createdAt: clock.now()))
            k.versions = Self.encode(versions)
            added = v
        } audit: { _ in
            .kmsKeyRotate(id: id, version: added)
        }
    }

    /// Applies `body` to the key's row (its state, alias or description — never `versions`,
    /// which belong to `rotate`) and stores it, audited with `audit(new row)`: a compare-and-set
    /// against the row `body` saw, retried on a fresher row when another change won meanwhile.
    /// `.keyNotFound` when the key does not exist; errors of `body` and the store pass through.
    public func update(
        id: String, _ body: (inout KMSKeyRecord) throws -> Void, audit: (KMSKeyRecord) -> AuditEntry
    ) throws -> KMSKeyRecord {
        try change(id, body, audit: audit)
    }

    /// Read, change, compare-and-set, until the row read is still the stored one.
    private func change(
        _ id: String, _ body: (inout KMSKeyRecord) throws -> Void, audit: (KMSKeyRecord) -> AuditEntry
    ) throws -> KMSKeyRecord {
        for _ in 0..<Self.maxAttempts {
            guard let old = try store.kmsKey(id: id) else { throw SSEError.keyNotFound(id) }
            var new = old
            try body(&new)
            if try store.replaceKMSKey(new, expecting: old, audit: audit(new)) {
                records.withLock { $0[id] = (new, clock.now()) }
                return new
            }
        }
        throw StoreError.internalFailure("key \(id) kept changing; try again")
    }

    /// Compare-and-set attempts before giving up (each loses only to another change that won).
    static let maxAttempts = 50

    /// The key a request names, within the tenant: its id, `arn:aws:kms:<region>:<tenant>:key/<id>`,
    /// `alias/<name>` or `arn:aws:kms:<region>:<tenant>:alias/<name>`. `.keyNotFound` (as
    /// given) for anything else; `.keyDisabled` when it is disabled.
    public func resolve(_ given: String, tenant: String) throws -> KMSKeyRecord {
        var name = given
        if given.hasPrefix("arn:") {
            let parts = given.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count == 6, parts[1] == "aws", parts[2] == "kms", parts[4] == tenant else {
                throw SSEError.keyNotFound(given)
            }
            name = String(parts[5])
            guard name.hasPrefix("key/") || name.hasPrefix("alias/") else { throw SSEError.keyNotFound(given) }
            if name.hasPrefix("key/") { name.removeFirst(4) }
        }
        let found: KMSKeyRecord?
        if name.hasPrefix("alias/") {
            let alias = String(name.dropFirst(6))
            found =
                alias == Self.sseS3Alias
                ? try sseS3Key(tenant: tenant)
                : try store.kmsKeys(tenant: tenant).first { $0.alias == alias && !alias.isEmpty }
        } else {
            found = try store.kmsKey(id: name).flatMap { $0.tenant == tenant ? $0 : nil }
        }
        guard let k = found else { throw SSEError.keyNotFound(given) }
        guard k.state == "Enabled" else { throw SSEError.keyDisabled(arn(k)) }
        records.withLock { $0[k.id] = (k, clock.now()) }
        return k
    }

    /// How responses name a key (`x-amz-server-side-encryption-aws-kms-key-id`).
    public func arn(_ k: KMSKeyRecord) -> String { arn(keyId: k.id, tenant: k.tenant) }

    public func arn(keyId: String, tenant: String) -> String { "arn:aws:kms:\(region):\(tenant):key/\(keyId)" }

    // MARK: KEK versions

    /// One sealed KEK version as `KMSKeyRecord.versions` keeps it:
    /// `[{"v":1,"sealed":"v1:<master id>:…","created_at":…}, …]`, the last one current.
    struct KEKVersion: Codable, Equatable {
        var v: Int
        var sealed: String
        var createdAt: Double

        enum CodingKeys: String, CodingKey {
            case v, sealed
            case createdAt = "created_at"
        }
    }

    static func versions(_ k: KMSKeyRecord) throws -> [KEKVersion] {
        guard let list = try? JSONDecoder().decode([KEKVersion].self, from: Data(k.versions.utf8)), !list.isEmpty
        else { throw SSEError.corrupt("key \(k.id) has no readable versions") }
        return list
    }

    static func encode(_ versions: [KEKVersion]) -> String {
        let items = versions.map {
            "{\"v\":\($0.v),\"sealed\":\(AuditValue.quoted($0.sealed)),\"created_at\":\($0.createdAt)}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }

    /// The sealing context binds a sealed KEK to its key and version (a version's material
    /// copied onto another does not open).
    static func sealContext(id: String, version: Int) -> String { "kms:\(id):\(version)" }

    private func seal(_ kek: [UInt8], id: String, version: Int) -> String {
        if let fresh = reloadKeys() { box.withLock { $0 = fresh } }
        return box.withLock { $0 }.seal(hexEncode(kek), context: Self.sealContext(id: id, version: version))
    }

    /// Opens a sealed KEK version, re-reading the master keys once when it was sealed under a
    /// key this process does not hold yet (the keys were rotated).
    private func open(_ sealed: String, id: String, version: Int) -> String? {
        let context = Self.sealContext(id: id, version: version)
        let held = box.withLock { $0 }
        if let hex = held.open(sealed, context: context) { return hex }
        guard let keyId = SecretBox.keyID(of: sealed), !held.keys.contains(where: { $0.id == keyId }),
            let fresh = reloadKeys()
        else { return nil }
        box.withLock { $0 = fresh }
        return fresh.open(sealed, context: context)
    }

    private func newKey(tenant: String, kind: String, alias: String, description: String) -> KMSKeyRecord {
        let id = UUID().uuidString.lowercased()
        let now = clock.now()
        let v1 = KEKVersion(v: 1, sealed: seal(randomBytes(SegmentCipher.keySize), id: id, version: 1), createdAt: now)
        return KMSKeyRecord(
            id: id, tenant: tenant, alias: alias, description: description, kind: kind, createdAt: now,
            versions: Self.encode([v1]))
    }

    private func currentKEK(_ k: KMSKeyRecord) throws -> (Int, [UInt8]) {
        if let hit = currents.withLock({ $0[k.id] }), hit.versions == k.versions {
            return (hit.current, try kek(k, version: hit.current))
        }
        guard let v = try Self.versions(k).last?.v else { throw SSEError.corrupt("key \(k.id) has no versions") }
        currents.withLock { $0[k.id] = (k.versions, v) }
        return (v, try kek(k, version: v))
    }

    /// The KEK of one version, from the cache or opened from the row (re-read once when the row
    /// in hand predates the version).
    private func kek(_ k: KMSKeyRecord, version: Int) throws -> [UInt8] {
        let slot = "\(k.id)#\(version)"
        if let kek = keks.withLock({ $0[slot] }) { return kek }
        var versions = try Self.versions(k)
        if !versions.contains(where: { $0.v == version }) { versions = try Self.versions(record(k.id, fresh: true)) }
        guard let sealed = versions.first(where: { $0.v == version })?.sealed else {
            throw SSEError.corrupt("key \(k.id) has no version \(version)")
        }
        guard let hex = open(sealed, id: k.id, version: version),
            let kek = hexDecode(hex), kek.count == SegmentCipher.keySize
        else { throw SSEError.corrupt("key \(k.id) version \(version) does not open under the master key ring") }
        keks.withLock { $0[slot] = kek }
        return kek
    }

    private func record(_ id: String, fresh: Bool) throws -> KMSKeyRecord {
        let now = clock.now()
        if !fresh, let hit = records.withLock({ $0[id] }), now - hit.1 < recordTTL { return hit.0 }
        guard let k = try store.kmsKey(id: id) else {
            throw SSEError.corrupt("the envelope names key \(id), which is gone")
        }
        records.withLock { $0[id] = (k, now) }
        return k
    }
}
