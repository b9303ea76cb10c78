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
        guard let fields = FlatJSON.parse(text), case .int(let v)? = fields["v"], v == 1,
            case .string(let m)? = fields["m"], case .string(let k)? = fields["k"], case .int(let kv)? = fields["kv"],
            case .string(let w)? = fields["w"], !w.isEmpty, case .int(let s)? = fields["s"], s > 0, s <= 1 << 24
        else { throw .corrupt("malformed encryption envelope") }
        var td = ""
        if case .string(let t)? = fields["td"] { td = t }
        var parts: [Int] = []
        if case .string(let pn)? = fields["pn"] {
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

/// A flat JSON object of string and integer values: all an envelope holds (GatewayCore keeps
/// no Foundation).
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case int(Int64)
    }

    static func parse(_ text: String) -> [String: Value]? {
        var p = Parser(bytes: Array(text.utf8))
        return p.object()
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func eat(_ c: UInt8) -> Bool {
            skipSpace()
            guard i < bytes.count, bytes[i] == c else { return false }
            i += 1
            return true
        }

        mutating func object() -> [String: Value]? {
            guard eat(UInt8(ascii: "{")) else { return nil }
            var out: [String: Value] = [:]
            if eat(UInt8(ascii: "}")) { return end(out) }
            repeat {
                guard let k = string(), eat(UInt8(ascii: ":")), let v = value(), out[k] == nil else { return nil }
                out[k] = v
            } while eat(UInt8(ascii: ","))
            guard eat(UInt8(ascii: "}")) else { return nil }
            return end(out)
        }

        mutating func end(_ out: [String: Value]) -> [String: Value]? {
            skipSpace()
            return i == bytes.count ? out : nil
        }

        mutating func value() -> Value? {
            skipSpace()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "\"") { return string().map(Value.string) }
            var digits = ""
            if bytes[i] == UInt8(ascii: "-") {
                digits = "-"
                i += 1
            }
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                digits.append(Character(Unicode.Scalar(bytes[i])))
                i += 1
            }
            return Int64(digits).map(Value.int)
        }

        mutating func string() -> String? {
            guard eat(UInt8(ascii: "\"")) else { return nil }
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw.removeAll()
            }
            while i < bytes.count {
                let c = bytes[i]
                i += 1
                switch c {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush()
                    guard i < bytes.count else { return nil }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(Unicode.Scalar(e))
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{C}")
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count,
                            let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16),
                            let u = Unicode.Scalar(v)
                        else { return nil }  // surrogate pairs never occur in an envelope
                        i += 4
                        scalars.append(u)
                    default: return nil
                    }
                case 0..<0x20: return nil
                default: raw.append(c)
                }
            }
            return nil
        }
    }
}
