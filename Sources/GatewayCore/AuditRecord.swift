/// One record of the audit chain (docs/OBSERVABILITY.md, "Audit chain"): who changed what,
/// linked to the record before it by that record's hash. Appended by the metadata store inside
/// the transaction of the change it describes.
public struct AuditRecord: Sendable, Equatable, Codable {
    /// 1, 2, … without gaps, one order across every process.
    public var seq: Int64
    /// Milliseconds since the epoch (an integer, so the canonical bytes never depend on how a
    /// float is printed).
    public var time: Int64
    public var requestId: String
    /// `s3`, `admin`, `web`, `sts`, `agent`, `cli`, or `system` (a change made outside any trace).
    public var origin: String
    public var tenant: String
    public var accessKey: String
    public var operation: String
    /// What the store did: `object.put`, `bucket.create`, `credential.create`, `auth.failure`…
    public var change: String
    public var bucket: String
    public var key: String
    /// A small JSON object (etag, size, zones…); never contents, metadata values or secrets.
    public var detail: String
    public var clientIP: String
    public var prevHash: String
    public var hash: String

    /// Record 1's `prevHash`.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// Hex SHA-256 of some bytes: given by the caller (SigV4's libcrypto `sha256Hex`), so the
    /// gateway has one SHA-256 and GatewayCore links no crypto library.
    public typealias Hasher = @Sendable ([UInt8]) -> String

    public init(
        seq: Int64, time: Int64, actor: AuditActor, entry: AuditEntry, prevHash: String, sha256Hex: Hasher
    ) {
        self.seq = seq
        self.time = time
        requestId = actor.requestId
        origin = actor.origin
        tenant = actor.tenant
        accessKey = actor.accessKey
        operation = actor.operation
        change = entry.change
        bucket = entry.bucket
        key = entry.key
        detail = entry.detail
        clientIP = actor.clientIP
        self.prevHash = prevHash
        hash = ""
        hash = computedHash(sha256Hex)
    }

    /// A record as stored, hash included (read back, not recomputed: verification compares).
    public init(
        seq: Int64, time: Int64, requestId: String, origin: String, tenant: String, accessKey: String,
        operation: String, change: String, bucket: String, key: String, detail: String, clientIP: String,
        prevHash: String, hash: String
    ) {
        self.seq = seq
        self.time = time
        self.requestId = requestId
        self.origin = origin
        self.tenant = tenant
        self.accessKey = accessKey
        self.operation = operation
        self.change = change
        self.bucket = bucket
        self.key = key
        self.detail = detail
        self.clientIP = clientIP
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The bytes the hash covers: a version line, then every field but `hash` as
    /// `<UTF-8 length>:<bytes>\n` in a fixed order — unambiguous whatever a key or detail holds.
    /// `seq` may be overridden to ask what the record would hash to at another position.
    public func canonical(seq other: Int64? = nil) -> [UInt8] {
        // Appended as bytes (no String per number, no array of the fields): every audited write
        // builds this in its transaction.
        var out: [UInt8] = []
        out.reserveCapacity(200 + key.utf8.count + detail.utf8.count)
        out += "s3gw-audit-v1\n".utf8
        func bytes(_ u: UnsafeBufferPointer<UInt8>) {
            DecimalBytes.append(Int64(u.count), to: &out)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: u)
            out.append(UInt8(ascii: "\n"))
        }
        func field(_ f: String) {
            var f = f
            f.withUTF8 { bytes($0) }
        }
        func number(_ n: Int64) {
            var digits: [UInt8] = []
            DecimalBytes.append(n, to: &digits)
            digits.withUnsafeBufferPointer { bytes($0) }
        }
        number(other ?? seq)
        number(time)
        field(requestId)
        field(origin)
        field(tenant)
        field(accessKey)
        field(operation)
        field(change)
        field(bucket)
        field(key)
        field(detail)
        field(clientIP)
        field(prevHash)
        return out
    }

    /// Hex SHA-256 of the canonical bytes.
    public func computedHash(_ sha256Hex: Hasher, seq other: Int64? = nil) -> String {
        sha256Hex(canonical(seq: other))
    }
}

/// Who made a change: taken from the thread's `RequestTrace` when the store appends the record.
public struct AuditActor: Sendable, Equatable {
    public var requestId = ""
    public var origin = "system"
    public var tenant = ""
    public var accessKey = ""
    public var operation = ""
    public var clientIP = ""

    public init(
        requestId: String = "", origin: String = "system", tenant: String = "", accessKey: String = "",
        operation: String = "", clientIP: String = ""
    ) {
        self.requestId = requestId
        self.origin = origin
        self.tenant = tenant
        self.accessKey = accessKey
        self.operation = operation
        self.clientIP = clientIP
    }

    public init(_ trace: RequestTrace) {
        requestId = trace.requestId
        origin = trace.origin.rawValue
        tenant = trace.tenant ?? ""
        accessKey = trace.accessKey ?? ""
        operation = trace.operation
        clientIP = trace.clientAddress
    }

    /// The calling thread's trace, or `system` when the change runs outside one (a store used
    /// directly, a bootstrap step).
    public static var current: AuditActor { RequestTrace.current.map(AuditActor.init) ?? AuditActor() }
}

/// What a store change contributes to its record: the change, its bucket and key, and details.
public struct AuditEntry: Sendable, Equatable {
    public var change: String
    public var bucket: String
    public var key: String
    public var detail: String

    public init(_ change: String, bucket: String = "", key: String = "", detail: [(String, AuditValue)] = []) {
        self.change = change
        self.bucket = bucket
        self.key = key
        self.detail = AuditValue.object(detail)
    }
}

/// A detail value; rendered as JSON in the order given (deterministic bytes).
public enum AuditValue: Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case strings([String])

    /// Built as bytes: a PUT renders one per audit record, and appending to a String scalar by
    /// scalar cost ~30 k instructions of it.
    public static func object(_ pairs: [(String, AuditValue)]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(192)
        for (i, (k, v)) in pairs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendQuoted(k, to: &out)
            out.append(UInt8(ascii: ":"))
            v.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    private func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .string(let s): Self.appendQuoted(s, to: &out)
        case .int(let i): out += String(i).utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .strings(let a):
            out.append(UInt8(ascii: "["))
            for (i, s) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.appendQuoted(s, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// A JSON string literal (RFC 8259 escapes).
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let lowerHex = Array("0123456789abcdef".utf8)

    /// `quoted` appended as UTF-8. Only ASCII bytes are ever escaped, so the bytes of a
    /// multi-byte character (all 0x80 or above) pass through whole.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case ..<0x20:
                out += "\\u00".utf8
                out += [lowerHex[Int(b >> 4)], lowerHex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension AuditEntry {
    /// An object's change: its etag, size and zones, never its headers, metadata or tags' values;
    /// in versioned buckets the version id, and the version's lock when it has one.
    public static func object(_ change: String, _ o: ObjectRecord) -> AuditEntry {
        AuditEntry(change, bucket: o.bucket, key: o.key, detail: objectDetail(o))
    }

    static func objectDetail(_ o: ObjectRecord) -> [(String, AuditValue)] {
        var detail: [(String, AuditValue)] = [
            ("etag", .string(o.etag)), ("size", .int(o.size)),
            ("zones", .strings([o.zone] + o.replicas.map(\.zone))),
        ]
        if o.versionId != VersionId.null { detail.append(("version_id", .string(o.versionId))) }
        if o.isDeleteMarker { detail = [("version_id", .string(o.versionId)), ("delete_marker", .bool(true))] }
        if let r = o.retention {
            detail.append(("lock_mode", .string(r.mode.rawValue)))
            detail.append(("retain_until", .int(Int64(r.until))))
        }
        if o.legalHold { detail.append(("legal_hold", .bool(true))) }
        // How it is encrypted: the mode and a KMS key's id, never key material (nor SSE-C's MD5).
        if let e = try? SSEEnvelope.decode(o.sse) {
            detail.append(("sse", .string(e.mode.name)))
            if case .kms(let id) = e.mode { detail.append(("sse_key_id", .string(id))) }
        }
        return detail + accessDetail(o)
    }

    /// A written object's owner (a canonical id) and grants (`AccessControlList.encoded`) when
    /// it has them ('' both: the bucket owner's, private).
    static func accessDetail(_ o: ObjectRecord) -> [(String, AuditValue)] {
        guard !o.isDeleteMarker else { return [] }
        var detail: [(String, AuditValue)] = []
        if !o.owner.isEmpty { detail.append(("owner", .string(o.owner))) }
        if !o.acl.isEmpty { detail.append(("grants", .string(o.acl))) }
        return detail
    }

    /// A tag set replaced: the keys only (values can be customer data).
    public static func tags(_ change: String, bucket: String, key: String = "", _ tags: [Header]) -> AuditEntry {
        AuditEntry(change, bucket: bucket, key: key, detail: [("tag_keys", .strings(tags.map(\.name)))])
    }
}
