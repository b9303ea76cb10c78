/// How an encrypted object's data key is kept: the row's `sse` column (ObjectRecord.sse,
/// UploadRecord.sse), '' for plaintext. The data key (DEK) itself is only ever stored wrapped
/// (AES-256-GCM) under a KEK version of a `kms_keys` row, or under the client's SSE-C key, of
/// which nothing is stored at all (docs/ENCRYPTION.md). Wrapping and unwrapping live in SigV4
/// (`DataKey`); this type is the row text.
///
/// Encoded as compact JSON with the keys in a fixed order:
/// `{"v":1,"m":"AES256","k":"<kek id>","kv":1,"w":"<base64 nonce‖wrapped DEK‖tag>","s":65536,"td":"<hex>"}`.
public struct SSEEnvelope: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// SSE-S3: the tenant's own `sse-s3` key.
        case s3
        /// SSE-KMS under the key with this id (the `kms_keys` row id).
        case kms(String)
        /// SSE-C: the client's key wraps the DEK.
        case customer

        /// The value S3 reports in `x-amz-server-side-encryption` (SSE-C reports the customer
        /// algorithm instead; "SSE-C" is only the envelope's name for it).
        public var name: String {
            switch self {
            case .s3: "AES256"
            case .kms: "aws:kms"
            case .customer: "SSE-C"
            }
        }
    }

    public static let currentVersion = 1

    public var version: Int
    public var mode: Mode
    /// The `kms_keys` row whose KEK wraps the DEK ("" for SSE-C). For `.kms(id)` it is `id`.
    public var kekId: String
    /// The KEK version that wrapped the DEK (0 for SSE-C).
    public var kekVersion: Int
    /// base64(nonce ‖ wrapped DEK ‖ tag), opaque here.
    public var wrapped: String
    /// Plaintext bytes per segment of the object's streams.
    public var segmentSize: Int
    /// Hex MD5 over the segment tags of the object's streams in order ("" when not recorded):
    /// the ETag of a single-stream SSE-KMS / SSE-C object, and what a replica is checked against.
    public var tagDigest: String
    /// A multipart object's part numbers, one per stream in order (each stream's key is bound
    /// to its number, so a part read in another's place fails); empty for a single stream
    /// (part 0) and for an upload (its parts carry their own numbers). Stored as ranges ("pn":
    /// "1-3,7").
    public var parts: [Int] = []

    public init(
        mode: Mode, kekId: String, kekVersion: Int, wrapped: String, segmentSize: Int = EncryptionLayout.segmentSize,
        tagDigest: String = "", version: Int = SSEEnvelope.currentVersion
    ) {
        if case .kms(let id) = mode { precondition(id == kekId, "a KMS envelope's key is its KEK") }
        self.version = version
        self.mode = mode
        self.kekId = kekId
        self.kekVersion = kekVersion
        self.wrapped = wrapped
        self.segmentSize = segmentSize
        self.tagDigest = tagDigest
    }

    /// The associated data the DEK is wrapped with: binds it to its mode, key and key version,
    /// so a wrapped DEK moved to another envelope (or a KMS key's DEK relabelled as SSE-S3)
    /// does not open.
    public var wrapAAD: [UInt8] { Array("s3gw-dek-v1|\(mode.name)|\(kekId)|\(kekVersion)".utf8) }

    public var encoded: String {
        AuditValue.object(
            [
                ("v", .int(Int64(version))), ("m", .string(mode.name)), ("k", .string(kekId)),
                ("kv", .int(Int64(kekVersion))), ("w", .string(wrapped)), ("s", .int(Int64(segmentSize))),
                ("td", .string(tagDigest)),
            ] + (parts.isEmpty ? [] : [("pn", .string(Self.encodeRanges(parts)))]))
    }

    /// nil for '' (plaintext); throws `SSEError.corrupt` for text that is not a v1 envelope.
    public static func decode(_ text: String) throws(SSEError) -> SSEEnvelope? {
        if text.isEmpty { return nil }
        guard case .object(let members)? = JSONValue.parse(text) else {
            throw .corrupt("malformed encryption envelope")
        }
        var fields: [String: JSONValue] = [:]
        for member in members { fields[member.name] = member.value }
        func int(_ name: String) -> Int64? {
            if case .number(let n)? = fields[name] { return Int64(n) }
            return nil
        }
        func string(_ name: String) -> String? {
            if case .string(let s)? = fields[name] { return s }
            return nil
        }
        guard let v = int("v"), v == 1, let m = string("m"), let k = string("k"), let kv = int("kv"),
            let w = string("w"), !w.isEmpty, let s = int("s"), s > 0, s <= 1 << 24
        else { throw .corrupt("malformed encryption envelope") }
        let td = string("td") ?? ""
        var parts: [Int] = []
        if let pn = string("pn") {
            guard let p = decodeRanges(pn) else { throw .corrupt("malformed part numbers") }
            parts = p
        }
        let mode: Mode
        switch m {
        case "AES256" where !k.isEmpty: mode = .s3
        case "aws:kms" where !k.isEmpty: mode = .kms(k)
        case "SSE-C" where k.isEmpty: mode = .customer
        default: throw .corrupt("malformed encryption envelope")
        }
        var e = SSEEnvelope(
            mode: mode, kekId: k, kekVersion: Int(kv), wrapped: w, segmentSize: Int(s), tagDigest: td, version: Int(v))
        e.parts = parts
        return e
    }

    /// "1-3,7" for [1, 2, 3, 7]: part numbers are mostly consecutive.
    static func encodeRanges(_ numbers: [Int]) -> String {
        var out: [String] = []
        var i = 0
        while i < numbers.count {
            var j = i
            while j + 1 < numbers.count, numbers[j + 1] == numbers[j] + 1 { j += 1 }
            out.append(j == i ? "\(numbers[i])" : "\(numbers[i])-\(numbers[j])")
            i = j + 1
        }
        return out.joined(separator: ",")
    }

    /// The numbers of `encodeRanges`, nil for anything else (or more than 10,000 numbers).
    static func decodeRanges(_ text: String) -> [Int]? {
        var out: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let a = Int(ends[0]), let b = Int(ends[ends.count - 1]), a >= 0, a <= b,
                b - a < 10_000, out.count + (b - a) < 10_000
            else { return nil }
            out += Array(a...b)
        }
        return out
    }
}
