/// What `s3gw audit verify` found first. Each kind of tampering leaves its own trace in the
/// chain: an edited record no longer hashes to its stored hash; a deleted one leaves a gap (or,
/// renumbered, records that hash right only at a later seq); an inserted one pushes the records
/// after it to seqs they do not hash at; swapped records each hash right at the other's seq; a
/// cut tail is below what a signed digest names.
public enum AuditProblem: Sendable, Equatable, CustomStringConvertible {
    /// The record's content does not match its hash (or its hash was rewritten: the next record
    /// no longer links to it).
    case altered(seq: Int64)
    case deleted(from: Int64, to: Int64)
    case inserted(seq: Int64)
    /// Records `seq` and `with` were swapped.
    case reordered(seq: Int64, with: Int64)
    /// A digest names `digestSeq`, the chain ends at `lastSeq`.
    case truncated(lastSeq: Int64, digestSeq: Int64)
    /// Record `seq` no longer has the hash the digest of `periodEnd` signed (the chain was
    /// rewritten from there on).
    case digestMismatch(seq: Int64, periodEnd: Int64)
    case badSignature(periodEnd: Int64)
    case unknownKey(periodEnd: Int64, fingerprint: String)
    /// The digest does not link to the one before it (a digest was removed or replaced).
    case digestChainBroken(periodEnd: Int64)
    /// The digest zone holds fewer digest files than the store wrote there, or files that are
    /// not digests.
    case digestMissing(found: Int, exported: Int, unreadable: [String])

    public var seq: Int64? {
        switch self {
        case .altered(let s), .inserted(let s), .digestMismatch(let s, _): s
        case .deleted(let from, _): from
        case .reordered(let s, _): s
        case .truncated(let last, _): last + 1
        default: nil
        }
    }

    public var kind: String {
        switch self {
        case .altered: "altered"
        case .deleted: "deleted"
        case .inserted: "inserted"
        case .reordered: "reordered"
        case .truncated: "truncated"
        case .digestMismatch: "altered"
        case .badSignature: "bad-signature"
        case .unknownKey: "unknown-key"
        case .digestChainBroken: "digest-chain-broken"
        case .digestMissing: "digest-missing"
        }
    }

    public var description: String {
        func at(_ ms: Int64) -> String { HTTPDate.iso8601(Double(ms) / 1000) }
        switch self {
        case .altered(let s): return "record \(s) altered: its content does not match its hash"
        case .deleted(let a, let b):
            return a == b ? "record \(a) deleted" : "records \(a)-\(b) deleted"
        case .inserted(let s): return "record \(s) inserted: the records after it were moved up"
        case .reordered(let s, let w): return "records \(s) and \(w) reordered (swapped)"
        case .truncated(let last, let named):
            return "truncated: the chain ends at record \(last), a signed digest names record \(named)"
        case .digestMismatch(let s, let end):
            return "record \(s) altered: it no longer has the hash signed in the digest of \(at(end))"
        case .badSignature(let end): return "digest of \(at(end)): signature does not verify"
        case .unknownKey(let end, let fp): return "digest of \(at(end)): signed by unknown key \(fp)"
        case .digestChainBroken(let end):
            return "digest of \(at(end)): does not link to the previous digest (one was removed or replaced)"
        case .digestMissing(let found, let exported, let unreadable):
            if !unreadable.isEmpty {
                return "digest files unreadable: \(unreadable.prefix(10).joined(separator: ", "))"
                    + (unreadable.count > 10 ? " and \(unreadable.count - 10) more" : "")
            }
            return "digest files missing: the zone holds \(found), the gateway wrote \(exported)"
        }
    }
}

/// Checks records one at a time in seq order, with the records after it as lookahead (to tell
/// a swap from a renumbered deletion), so a long chain is verified page by page in bounded
/// memory.
public struct AuditChainVerifier: Sendable {
    /// How far (in seqs) a record is looked for where it would hash right: a renumbered
    /// deletion or insertion of up to this many records, or a swap of records this far apart,
    /// is named as such; beyond, the first record that moved is reported altered. Searched
    /// only once a record fails (a few ms at most).
    public static let window: Int64 = 1024

    private var previous: (seq: Int64, hash: String)
    private var beforePrevious: String?
    private let sha256Hex: AuditRecord.Hasher
    public private(set) var checked = 0
    public var lastSeq: Int64 { previous.seq }

    /// Starts after `previous` (nil: at record 1, after the genesis hash).
    public init(after previous: AuditRecord? = nil, sha256Hex: @escaping AuditRecord.Hasher) {
        self.previous = previous.map { ($0.seq, $0.hash) } ?? (0, AuditRecord.genesisHash)
        self.sha256Hex = sha256Hex
    }

    /// Checks `r` (the next record by seq; `next` the one after it, if any).
    public mutating func check(_ r: AuditRecord, next: AuditRecord?) -> AuditProblem? {
        check(r, ahead: next.map { [$0] } ?? [])
    }

    /// Checks `r` (the next record by seq); `ahead` are the records after it in seq order (up
    /// to `window` of them are used).
    public mutating func check(_ r: AuditRecord, ahead: ArraySlice<AuditRecord>) -> AuditProblem? {
        let expected = previous.seq + 1
        if r.seq > expected { return .deleted(from: expected, to: r.seq - 1) }
        if r.seq < expected { return .inserted(seq: r.seq) }
        if r.computedHash(sha256Hex) != r.hash {
            // Where would this record hash right? Earlier: records were inserted before it;
            // later: it was swapped with the record there, or records before it were deleted
            // and the rest renumbered.
            for d: Int64 in 1...Self.window {
                if r.seq - d >= 1, r.computedHash(sha256Hex, seq: r.seq - d) == r.hash {
                    return .inserted(seq: r.seq - d)
                }
                if r.computedHash(sha256Hex, seq: r.seq + d) == r.hash {
                    if let other = ahead.first(where: { $0.seq == r.seq + d }),
                        other.computedHash(sha256Hex, seq: r.seq) == other.hash
                    {
                        return .reordered(seq: r.seq, with: other.seq)
                    }
                    return .deleted(from: r.seq, to: r.seq + d - 1)
                }
            }
            // Hashing right nowhere, while the record after it hashes right here: this one was
            // inserted (its hash made up) and the rest moved up.
            if let next = ahead.first, next.seq == r.seq + 1, next.computedHash(sha256Hex, seq: r.seq) == next.hash {
                return .inserted(seq: r.seq)
            }
            return .altered(seq: r.seq)
        }
        if r.prevHash != previous.hash {
            // Its own content is intact but it does not follow the record before it.
            if let beforePrevious, r.prevHash == beforePrevious { return .inserted(seq: previous.seq) }
            return .altered(seq: previous.seq)
        }
        beforePrevious = previous.hash
        previous = (r.seq, r.hash)
        checked += 1
        return nil
    }
}

/// Checks digests (oldest first) against each other, their keys and the chain.
public enum AuditDigestVerifier {
    /// `record(seq)` reads one record; `lastSeq` is the chain's last; `verify` checks a
    /// signature with a public key.
    public static func check(
        _ digests: [AuditDigest], keys: [AuditKey], lastSeq: Int64,
        record: (Int64) throws(StoreError) -> AuditRecord?,
        verify: (_ signature: String, _ message: [UInt8], _ publicKey: String) -> Bool,
        sha256Hex: AuditRecord.Hasher
    ) throws(StoreError) -> AuditProblem? {
        var previous: AuditDigest?
        for d in digests {
            guard let key = keys.first(where: { $0.fingerprint == d.publicKeyFingerprint }) else {
                return .unknownKey(periodEnd: d.periodEnd, fingerprint: d.publicKeyFingerprint)
            }
            guard verify(d.signature, d.signedMessage(sha256Hex), key.publicKey) else {
                return .badSignature(periodEnd: d.periodEnd)
            }
            if let previous {
                guard d.previousDigestHash == previous.hash(sha256Hex), d.previousDigestSignature == previous.signature,
                    d.firstSeq == previous.lastSeq + 1
                else { return .digestChainBroken(periodEnd: d.periodEnd) }
            }
            previous = d
        }
        // Every digest's last record must still be there with the hash it signed (newest first:
        // a cut tail shows at the newest).
        for d in digests.reversed() where d.lastSeq > 0 {
            if d.lastSeq > lastSeq { return .truncated(lastSeq: lastSeq, digestSeq: d.lastSeq) }
            guard let r = try record(d.lastSeq), r.hash == d.lastHash, r.computedHash(sha256Hex) == r.hash else {
                return .digestMismatch(seq: d.lastSeq, periodEnd: d.periodEnd)
            }
        }
        return nil
    }
}
