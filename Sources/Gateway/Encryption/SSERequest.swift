import Foundation
import GatewayCore
import SigV4

/// The server-side-encryption headers of one request, validated as S3 validates them, before a
/// byte of the body is read: which encryption a write asks for (SSE-S3, SSE-KMS with a key, or
/// a customer key, SSE-C), and the customer keys a read or a copy source presents.
///
/// S3's rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html,
/// .../specifying-kms-encryption.html): `x-amz-server-side-encryption` is AES256 or aws:kms on
/// writes only; a KMS key id only with aws:kms; SSE-C's three headers together, algorithm
/// AES256, a 256-bit key whose MD5 matches, never with `x-amz-server-side-encryption`, and
/// only over HTTPS. Error values never name a key or its MD5.
struct SSERequest {
    /// What a write asks for by its own headers (`.none`: nothing; the bucket default may apply,
    /// `effective(default:)`).
    var requested: SSEMode = .none
    /// `x-amz-server-side-encryption-bucket-key-enabled` (meaningful with aws:kms only).
    var bucketKeyEnabled: Bool?
    /// SSE-C key of the object written or read (nil: none presented).
    var customerKey: CustomerKey?
    /// SSE-C key of a copy's source (`x-amz-copy-source-server-side-encryption-customer-*`).
    var copySourceKey: CustomerKey?
    /// The operation the headers were validated for.
    var operation: Operation = .getObject

    typealias Operation = UnsupportedFeatures.Operation

    static let algorithmHeader = "x-amz-server-side-encryption"
    static let kmsKeyHeader = "x-amz-server-side-encryption-aws-kms-key-id"
    static let contextHeader = "x-amz-server-side-encryption-context"
    static let bucketKeyHeader = "x-amz-server-side-encryption-bucket-key-enabled"
    static let customerPrefix = "x-amz-server-side-encryption-customer-"
    static let copySourceCustomerPrefix = "x-amz-copy-source-server-side-encryption-customer-"

    /// Headers whose values are key material: never logged, traced or echoed (the MD5 is echoed
    /// to the client that sent it, as S3 does, and nowhere else).
    static let secretHeaders: Set<String> = [
        customerPrefix + "key", copySourceCustomerPrefix + "key",
    ]

    /// Operations that choose an object's encryption (S3 reads the SSE headers there only).
    static let writes: Set<Operation> = [.putObject, .copyObject, .createMultipartUpload, .postObject]
    /// Operations that present the object's SSE-C key (writes set it; the others must repeat it).
    static let customerKeyOperations: Set<Operation> = writes.union([.uploadPart, .uploadPartCopy, .getObject])
    static let copyOperations: Set<Operation> = [.copyObject, .uploadPartCopy]

    /// The request's SSE headers, validated for `operation`.
    /// `secure`: the request came over TLS (or `[s3] allow_sse_c_over_http` says tests may send
    /// SSE-C in clear).
    init(_ r: S3Request, _ operation: Operation, secure: Bool) throws(S3Error) {
        try self.init(headers: r.head.headers, operation, secure: secure)
    }

    /// `headers`: lowercased names (a POST form's fields pass the same way).
    init(headers: [(name: String, value: String)], _ operation: Operation, secure: Bool) throws(S3Error) {
        func value(_ name: String) -> String? { headers.first { $0.name == name }?.value }
        self.operation = operation
        let algorithm = value(Self.algorithmHeader)
        let kmsKey = value(Self.kmsKeyHeader)
        let context = value(Self.contextHeader)
        let bucketKey = value(Self.bucketKeyHeader)

        if Self.customerKeyOperations.contains(operation) {
            customerKey = try Self.customerKey(value, prefix: Self.customerPrefix, secure: secure)
        }
        if Self.copyOperations.contains(operation) {
            copySourceKey = try Self.customerKey(value, prefix: Self.copySourceCustomerPrefix, secure: secure)
        }

        guard Self.writes.contains(operation) else {
            // S3 chooses encryption when an object is written, never on a read or a part: there
            // the header is an error, not ignored (the part of an upload follows the upload).
            if let algorithm, operation != .createBucket {
                throw S3Error(
                    .invalidArgument, "x-amz-server-side-encryption header is not supported for this operation.",
                    extra: Self.argument(Self.algorithmHeader, algorithm))
            }
            return
        }
        if let algorithm {
            if customerKey != nil {
                throw S3Error(
                    .invalidArgument,
                    "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
                    extra: Self.argument(Self.algorithmHeader, algorithm))
            }
            switch algorithm {
            case "AES256":
                requested = .s3
            case "aws:kms":
                if kmsKey?.isEmpty == true {
                    throw S3Error(
                        .invalidArgument, "KMS key ID must not be empty.", extra: Self.argument(Self.kmsKeyHeader, ""))
                }
                requested = .kms(keyId: kmsKey)
            case "aws:kms:dsse":
                throw S3Error(
                    .notImplemented,
                    "Dual-layer server-side encryption (aws:kms:dsse) is not implemented by this gateway; use AES256 or aws:kms. Nothing was stored."
                )
            default:
                throw S3Error(
                    .invalidArgument, "The encryption method specified is not supported",
                    extra: Self.argument(Self.algorithmHeader, algorithm))
            }
        }
        if let kmsKey, algorithm != "aws:kms" {
            throw S3Error(
                .invalidArgument,
                "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                extra: Self.argument(Self.kmsKeyHeader, kmsKey))
        }
        if context != nil {
            // The context would have to be bound into the data key and answered on every read;
            // the gateway keeps none, so a request relying on it is refused, not half-honoured.
            guard case .kms = requested else {
                throw S3Error(
                    .invalidArgument,
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                    extra: Self.argument(Self.contextHeader, ""))
            }
            throw S3Error(
                .notImplemented,
                "x-amz-server-side-encryption-context is not implemented by this gateway: the request was refused and nothing was stored."
            )
        }
        if let bucketKey {
            switch bucketKey.lowercased() {
            case "true": bucketKeyEnabled = true
            case "false": bucketKeyEnabled = false
            default:
                throw S3Error(
                    .invalidArgument, "Invalid value for x-amz-server-side-encryption-bucket-key-enabled header",
                    extra: Self.argument(Self.bucketKeyHeader, bucketKey))
            }
        }
        if customerKey != nil { requested = .customer }
    }

    /// The encryption a write gets: its own headers, else the bucket's default encryption
    /// (S3 applies the default only to writes that name none, SSE-C included).
    func effective(default d: DefaultEncryption?) -> (mode: SSEMode, bucketKeyEnabled: Bool) {
        if requested != .none { return (requested, bucketKeyEnabled ?? false) }
        guard let d else { return (.none, false) }
        switch d.algorithm {
        case .aes256: return (.s3, bucketKeyEnabled ?? d.bucketKeyEnabled)
        case .kms: return (.kms(keyId: d.kmsKeyId), bucketKeyEnabled ?? d.bucketKeyEnabled)
        }
    }

    /// ArgumentName / ArgumentValue of an InvalidArgument answer; never a key value.
    static func argument(_ name: String, _ value: String) -> [(String, String)] {
        [("ArgumentName", name), ("ArgumentValue", secretHeaders.contains(name) ? "" : value)]
    }

    /// SSE-C's three headers under `prefix`, validated; nil when none is present.
    private static func customerKey(_ value: (String) -> String?, prefix: String, secure: Bool) throws(S3Error)
        -> CustomerKey?
    {
        let algorithm = value(prefix + "algorithm")
        let key = value(prefix + "key")
        let md5 = value(prefix + "key-md5")
        if algorithm == nil, key == nil, md5 == nil { return nil }
        if !secure {
            throw S3Error(
                .invalidRequest,
                "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."
            )
        }
        guard let algorithm else {
            throw S3Error(
                .invalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
                extra: argument(prefix + "algorithm", "null"))
        }
        guard algorithm == "AES256" else {
            throw S3Error(
                .invalidEncryptionAlgorithm,
                "The encryption request you specified is not valid. The valid value is AES256.",
                extra: argument(prefix + "algorithm", algorithm))
        }
        guard let key else {
            throw S3Error(
                .invalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
                extra: argument(prefix + "key", "null"))
        }
        guard let md5 else {
            throw S3Error(
                .invalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.",
                extra: argument(prefix + "key-md5", "null"))
        }
        guard let customer = CustomerKey(base64: key, md5: md5) else {
            throw S3Error(
                .invalidArgument, "The secret key was invalid for the specified algorithm.",
                extra: argument(prefix + "key", ""))
        }
        guard customer.md5Matches else {
            throw S3Error(
                .invalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided.",
                extra: [("ArgumentName", prefix + "key-md5")])
        }
        return customer
    }
}

/// The encryption of an object as a write asks for it (the envelope's mode, before keys).
enum SSEMode: Equatable, Sendable {
    case none
    /// SSE-S3: the tenant's gateway-managed key (`x-amz-server-side-encryption: AES256`).
    case s3
    /// SSE-KMS: `keyId` as the request or the bucket default named it (id, ARN or alias/<name>);
    /// nil: the tenant's default key.
    case kms(keyId: String?)
    /// SSE-C: the request's `CustomerKey`.
    case customer

    var kmsKeyId: String? {
        if case .kms(let id) = self { return id }
        return nil
    }

    /// The `x-amz-server-side-encryption` value S3 answers for it (SSE-C answers the
    /// customer-algorithm header instead).
    var headerValue: String? {
        switch self {
        case .none, .customer: nil
        case .s3: "AES256"
        case .kms: "aws:kms"
        }
    }
}

/// A customer-provided 256-bit key (SSE-C), held for one request: its bytes live in memory this
/// object owns and are wiped when it goes, and it prints as nothing.
final class CustomerKey: @unchecked Sendable, CustomStringConvertible {
    static let size = 32
    private let storage: UnsafeMutableRawBufferPointer
    /// The key's MD5, base64, as the client sent it (echoed in `…-customer-key-MD5`).
    let md5: String
    /// The MD5 the client sent is the MD5 of these bytes.
    let md5Matches: Bool

    /// nil when `base64` is not base64 of exactly 32 bytes.
    init?(base64: String, md5: String) {
        guard var data = Data(base64Encoded: base64) else { return nil }
        defer { data.resetBytes(in: 0..<data.count) }
        guard data.count == Self.size else { return nil }
        storage = .allocate(byteCount: Self.size, alignment: 8)
        storage.copyBytes(from: data)
        self.md5 = md5
        var digest = Digest(.md5)
        digest.update(UnsafeRawBufferPointer(storage))
        md5Matches = base64Encode(digest.finalize()) == md5
    }

    /// The raw key, for the duration of `body` only.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage))
    }

    var description: String { "CustomerKey(redacted)" }

    deinit {
        explicit_bzero(storage.baseAddress!, storage.count)
        storage.deallocate()
    }
}

extension SSERequest {
    /// The writes whose bytes the gateway encrypts (all of S3's object writes). One added to
    /// `writes` without its encryption is refused (501) when it would have to encrypt, so
    /// nothing is ever stored in clear that a client or the bucket asked to be encrypted.
    static let encryptingOperations: Set<Operation> = [.putObject, .createMultipartUpload, .copyObject, .postObject]

    /// The encryption a write into `b` gets (its headers, else the bucket default).
    /// A bucket default that is set but cannot be read refuses the write (500, logged with the
    /// bucket's name): taking it for "no default" would store in clear what was to be encrypted.
    func forWrite(into b: BucketRecord) throws(S3Error) -> (mode: SSEMode, bucketKeyEnabled: Bool) {
        let bucketDefault = b.defaultEncryption
        if !b.encryption.isEmpty, bucketDefault == nil {
            throw S3Error(
                .internalError,
                "The default encryption of bucket \(b.name) cannot be read: the write was refused and nothing was stored."
            )
        }
        let e = effective(default: bucketDefault)
        if e.mode != .none, !Self.encryptingOperations.contains(operation) {
            let why =
                requested == .none
                ? "the bucket's default encryption asks for it" : "the request asks for it"
            throw S3Error(
                .notImplemented,
                "Server-side encryption is not implemented by this gateway for this operation yet and \(why): the request was refused and nothing was stored."
            )
        }
        return e
    }

    /// A request that reads (or copies from, or adds a part to) bytes stored with the envelope
    /// `storedSSE` ("" for plaintext) presents the customer key they need, and only then.
    static func checkCustomerKey(_ key: CustomerKey?, storedSSE: String) throws {
        let envelope = try SSEEnvelope.decode(storedSSE)
        let customer = envelope.map { $0.mode == .customer } ?? false
        if key != nil && !customer {
            throw S3Error(.invalidRequest, "The encryption parameters are not applicable to this object.")
        }
        if key == nil && customer { throw SSEError.customerKeyRequired }
    }
}

extension Handlers {
    /// The SSE headers of `r` for `operation`, validated (`SSERequest`). SSE-C needs TLS unless
    /// `[s3] allow_sse_c_over_http` (tests); the gateway's own in-process writes carry none.
    static func sseRequest(_ r: S3Request, _ operation: SSERequest.Operation, _ ctx: GatewayContext) throws(S3Error)
        -> SSERequest
    {
        try SSERequest(r, operation, secure: r.scheme == "https" || r.inProcess || ctx.allowSSECOverHTTP)
    }
}

/// What S3 answers about an object's encryption, on every response that writes or reads it
/// (PUT, POST, copy, GET, HEAD, CreateMultipartUpload, UploadPart, CompleteMultipartUpload):
/// made from the object's envelope and, for SSE-C, the key MD5 the request sent (echoed; the
/// gateway keeps none).
struct SSEAnswer: Equatable {
    var mode: SSEMode
    /// The SSE-KMS key's ARN (`x-amz-server-side-encryption-aws-kms-key-id`).
    var kmsKeyARN: String?
    /// `x-amz-server-side-encryption-customer-key-MD5`, as the request sent it.
    var customerKeyMD5: String?
    var bucketKeyEnabled = false

    var headers: [Header] {
        switch mode {
        case .none:
            return []
        case .customer:
            var h = [Header("x-amz-server-side-encryption-customer-algorithm", "AES256")]
            if let customerKeyMD5 { h.append(Header("x-amz-server-side-encryption-customer-key-MD5", customerKeyMD5)) }
            return h
        case .s3, .kms:
            var h = [Header(SSERequest.algorithmHeader, mode.headerValue ?? "")]
            if case .kms = mode, let kmsKeyARN { h.append(Header(SSERequest.kmsKeyHeader, kmsKeyARN)) }
            if bucketKeyEnabled { h.append(Header(SSERequest.bucketKeyHeader, "true")) }
            return h
        }
    }
}
