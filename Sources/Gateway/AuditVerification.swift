import GatewayCore
import SigV4

/// `s3gw audit verify`: walks the chain from a seq page by page, then checks the signed digests
/// (the store's, or the files in a digest zone) against their keys, each other and the chain.
/// Reports the first problem.
public enum AuditVerification {
    public struct Report: Encodable, Sendable {
        public var ok: Bool
        public var recordsChecked: Int
        public var firstSeq: Int64
        public var lastSeq: Int64
        public var digestsChecked: Int
        /// `store`, or `ZONE/BUCKET` the digests were read from.
        public var digestSource: String
        /// Whose public keys checked the signatures: `file` (the key file), `option`
        /// (`--public-key`), or `store` (`audit_keys`: trusted only when there is no key file).
        public var keySource: String
        public var problem: Problem?
    }

    public struct Problem: Encodable, Sendable {
        public var kind: String
        public var seq: Int64?
        public var message: String

        init(_ p: AuditProblem) {
            kind = p.kind
            seq = p.seq
            message = p.description
        }
    }

    /// `trustedKeys`: the keys digests must be signed with (the local key file's public key when
    /// it can be read: keys in the store could have been added by whoever rewrote it); nil:
    /// those in `audit_keys`.
    public static func run(
        store: any AuditStore, from: Int64 = 1, digests files: [AuditDigest]? = nil, digestSource: String = "store",
        unreadableFiles: [String] = [], exportedDigests: Int = 0, trustedKeys: [AuditKey]? = nil,
        keySource: String? = nil,
        pageSize: Int = 1000
    ) throws(StoreError) -> Report {
        var report = Report(
            ok: true, recordsChecked: 0, firstSeq: max(1, from), lastSeq: 0, digestsChecked: 0,
            digestSource: digestSource, keySource: keySource ?? (trustedKeys == nil ? "store" : "file"), problem: nil)
        func fail(_ p: AuditProblem) -> Report {
            report.ok = false
            report.problem = Problem(p)
            return report
        }
        let start = max(1, from)
        // Digests first: on a running gateway one signed while the chain is walked names
        // records past where the walk ended, and would read as a cut tail.
        let digests: [AuditDigest]
        if let files { digests = files } else { digests = try allDigests(store) }
        // Files removed from the zone (or the whole bucket emptied) are a problem of their own:
        // the digests left could all check out. `exportedDigests` is counted before the files
        // are listed, so one exported meanwhile is no false alarm.
        if let files, files.count < exportedDigests || !unreadableFiles.isEmpty {
            return fail(.digestMissing(found: files.count, exported: exportedDigests, unreadable: unreadableFiles))
        }
        var verifier = AuditChainVerifier(sha256Hex: sha256Hex)
        if start > 1 {
            let before = try store.auditRecords(AuditQuery(after: start - 2, limit: 1)).first
            guard let before, before.seq == start - 1 else { return fail(.deleted(from: start - 1, to: start - 1)) }
            guard before.computedHash(sha256Hex) == before.hash else { return fail(.altered(seq: before.seq)) }
            verifier = AuditChainVerifier(after: before, sha256Hex: sha256Hex)
        }
        var buffer = try store.auditRecords(AuditQuery(after: start - 1, limit: pageSize))
        var exhausted = buffer.count < pageSize
        var lastSeen = start - 1
        var at = 0
        while at < buffer.count {
            // Keep `window` records of lookahead (a swap of distant records is told from a
            // deletion by the record it was swapped with); drop what was checked.
            if buffer.count - at <= Int(AuditChainVerifier.window) && !exhausted {
                buffer.removeFirst(at)
                at = 0
                let more = try store.auditRecords(AuditQuery(after: buffer.last?.seq ?? 0, limit: pageSize))
                exhausted = more.count < pageSize
                buffer += more
                continue
            }
            let r = buffer[at]
            at += 1
            if let problem = verifier.check(r, ahead: buffer[at...].prefix(Int(AuditChainVerifier.window))) {
                report.lastSeq = lastSeen
                report.recordsChecked = verifier.checked
                return fail(problem)
            }
            lastSeen = r.seq
        }
        report.recordsChecked = verifier.checked
        report.lastSeq = lastSeen
        report.digestsChecked = digests.count
        let keys: [AuditKey]
        if let trustedKeys { keys = trustedKeys } else { keys = try store.auditKeys() }
        let problem = try AuditDigestVerifier.check(
            digests, keys: keys, lastSeq: lastSeen,
            record: { (seq: Int64) throws(StoreError) -> AuditRecord? in
                try store.auditRecords(AuditQuery(after: seq - 1, limit: 1)).first.flatMap { $0.seq == seq ? $0 : nil }
            },
            verify: { Ed25519Key.verify(signatureHex: $0, message: $1, publicKeyHex: $2) }, sha256Hex: sha256Hex)
        if let problem { return fail(problem) }
        return report
    }

    /// How many digests the store has written to the digest zone.
    public static func exportedDigests(_ store: any AuditStore) throws(StoreError) -> Int {
        // All first: a digest added meanwhile is pending, so it is never counted as exported.
        let all = try allDigests(store).count
        return all - (try store.pendingAuditDigests().count)
    }

    static func allDigests(_ store: any AuditStore) throws(StoreError) -> [AuditDigest] {
        var out: [AuditDigest] = []
        while true {
            let page = try store.auditDigests(after: out.last?.id ?? 0, limit: 1000, newest: false)
            out += page
            if page.count < 1000 { return out }
        }
    }
}
