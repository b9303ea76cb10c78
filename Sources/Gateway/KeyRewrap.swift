import GatewayCore

/// `s3gw keys rewrap`: every SSE-S3 / SSE-KMS data key wrapped under an older version of its
/// KEK (after a key's rotation) re-wrapped under the current one. Only envelopes change — the
/// DEK, and so every stored byte, stays the same. Walks every bucket's versions (delete markers
/// have none) and unfinished uploads; each change is a compare-and-set (`rewrapSSE`), so a
/// version overwritten, deleted or re-wrapped meanwhile keeps its newer value. Safe to stop and
/// run again: what is already current is only counted.
public enum KeyRewrap {
    public struct Outcome: Sendable, Equatable {
        /// Envelopes this run re-wrapped.
        public var rewrapped = 0
        /// Envelopes already under their key's current version.
        public var alreadyCurrent = 0
        /// SSE-C envelopes: the client's key wraps them, not one of ours.
        public var skippedCustomer = 0
        /// Envelopes that changed or went between the read and the write (the newer value stays).
        public var changed = 0
        /// What could not be re-wrapped, "<bucket>/<key> (version <id>): <why>" or
        /// "<bucket>/<key> (upload <id>): <why>"; the envelope is left as it is.
        public var failed: [String] = []
        /// Per key id and older version: how many of the failed envelopes it still wraps.
        public var remaining: [String: [Int: Int]] = [:]

        /// Nothing this run saw is left under an older version.
        public var complete: Bool { failed.isEmpty && changed == 0 }
    }

    /// Re-wraps the envelopes of buckets of `tenant` (nil: every tenant) under key `keyId` (nil:
    /// every key), `batch` changes per store transaction.
    public static func run(
        _ store: any MetadataStore, keys: KeyService, tenant: String? = nil, keyId: String? = nil, batch: Int = 256
    ) throws -> Outcome {
        var walk = Walk(store: store, keys: keys, keyId: keyId, batch: max(1, batch))
        // The current version of each key as the run starts: an envelope already there needs no
        // key read. A rotation during the run leaves its envelopes for the next run.
        for k in try store.kmsKeys(tenant: tenant) {
            if let v = try? KeyService.versions(k).last?.v { walk.current[k.id] = v }
        }
        var after = ""
        while true {
            let buckets = try store.allBuckets(after: after, limit: 500)
            for b in buckets where tenant == nil || b.tenant == tenant {
                try VersionWalk(store, bucket: b.name).visit { (e: VersionEntry) throws(StoreError) -> Bool in
                    let r = e.record
                    guard !r.isDeleteMarker, !r.sse.isEmpty else { return true }
                    walk.consider(
                        r.sse, .version(bucket: b.name, key: r.key, versionSeq: r.versionSeq),
                        name: "\(b.name)/\(r.key) (version \(r.versionId))")
                    try walk.flushIfFull()
                    return true
                }
                var marker = ("", "")
                while true {
                    let page = try store.uploads(
                        bucket: b.name, prefix: "", keyMarker: marker.0, uploadIdMarker: marker.1, limit: 500)
                    for u in page where !u.sse.isEmpty {
                        walk.consider(u.sse, .upload(id: u.uploadId), name: "\(b.name)/\(u.key) (upload \(u.uploadId))")
                        try walk.flushIfFull()
                    }
                    guard page.count == 500, let last = page.last else { break }
                    marker = (last.key, last.uploadId)
                }
            }
            guard buckets.count == 500, let last = buckets.last else { break }
            after = last.name
        }
        try walk.flushAll()
        return walk.outcome
    }

    private struct Walk {
        let store: any MetadataStore
        let keys: KeyService
        let keyId: String?
        let batch: Int
        var current: [String: Int] = [:]
        var outcome = Outcome()
        /// Pending changes per "<key id>#<new version>".
        var pending: [String: (keyId: String, version: Int, changes: [EnvelopeChange])] = [:]

        init(store: any MetadataStore, keys: KeyService, keyId: String?, batch: Int) {
            self.store = store
            self.keys = keys
            self.keyId = keyId
            self.batch = batch
        }

        mutating func consider(_ sse: String, _ target: EnvelopeChange.Target, name: String) {
            let e: SSEEnvelope
            do {
                guard let decoded = try SSEEnvelope.decode(sse) else { return }
                e = decoded
            } catch {
                if keyId == nil { outcome.failed.append("\(name): \(error)") }
                return
            }
            if case .customer = e.mode {
                if keyId == nil { outcome.skippedCustomer += 1 }
                return
            }
            if let keyId, e.kekId != keyId { return }
            if current[e.kekId] == e.kekVersion {
                outcome.alreadyCurrent += 1
                return
            }
            let fresh: SSEEnvelope
            do {
                fresh = try keys.rewrap(e)
            } catch {
                outcome.failed.append("\(name): \(error)")
                outcome.remaining[e.kekId, default: [:]][e.kekVersion, default: 0] += 1
                return
            }
            if fresh.kekVersion == e.kekVersion {
                // Rotated after the run read its versions: what rewrap saw is current.
                current[e.kekId] = e.kekVersion
                outcome.alreadyCurrent += 1
                return
            }
            let slot = "\(e.kekId)#\(fresh.kekVersion)"
            pending[slot, default: (e.kekId, fresh.kekVersion, [])].changes.append(
                EnvelopeChange(target, from: sse, to: fresh.encoded))
        }

        mutating func flushIfFull() throws(StoreError) {
            for (slot, p) in pending where p.changes.count >= batch { try flush(slot) }
        }

        mutating func flushAll() throws(StoreError) {
            for slot in pending.keys.sorted() { try flush(slot) }
        }

        private mutating func flush(_ slot: String) throws(StoreError) {
            guard let p = pending.removeValue(forKey: slot) else { return }
            let applied = try store.rewrapSSE(p.changes, keyId: p.keyId, version: p.version)
            outcome.rewrapped += applied
            outcome.changed += p.changes.count - applied
        }
    }
}
