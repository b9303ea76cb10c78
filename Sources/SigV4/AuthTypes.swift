/// Where secret keys come from (the metadata store, a config file, a test double).
public protocol CredentialLookup: Sendable {
    func secretKey(forAccessKey: String) -> String?
}

/// An authentication or body-integrity failure, carrying the S3 error code the client must see
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). S3Protocol's error
/// table supplies the HTTP status for the code.
public struct AuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }

    static func accessDenied(_ m: String) -> AuthFailure { .init(code: "AccessDenied", message: m) }
    static func malformed(_ m: String) -> AuthFailure { .init(code: "AuthorizationHeaderMalformed", message: m) }
    static func queryError(_ m: String) -> AuthFailure {
        .init(code: "AuthorizationQueryParametersError", message: m)
    }
    static func invalidArgument(_ m: String) -> AuthFailure { .init(code: "InvalidArgument", message: m) }
    static func invalidRequest(_ m: String) -> AuthFailure { .init(code: "InvalidRequest", message: m) }
    static let signatureMismatch = AuthFailure(
        code: "SignatureDoesNotMatch",
        message:
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    )
    static let invalidAccessKey = AuthFailure(
        code: "InvalidAccessKeyId",
        message: "The AWS Access Key Id you provided does not exist in our records.")
    static let skewed = AuthFailure(
        code: "RequestTimeTooSkewed",
        message: "The difference between the request time and the current time is too large.")
    static let missingDate = accessDenied("AWS authentication requires a valid Date or x-amz-date header")
    static let expired = accessDenied("Request has expired")
    static func incompleteBody(_ m: String) -> AuthFailure { .init(code: "IncompleteBody", message: m) }
}

public enum AuthMethod: Sendable, Equatable {
    case v4Header, v4Query, v2Header, v2Query, anonymous
}

/// What `x-amz-content-sha256` promised about the body
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html).
public enum PayloadMode: Sendable, Equatable {
    /// UNSIGNED-PAYLOAD
    case unsigned
    /// Lowercase hex digest the body must match.
    case sha256(String)
    /// STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]
    case streamingSigned(trailer: Bool)
    /// STREAMING-UNSIGNED-PAYLOAD-TRAILER
    case streamingUnsignedTrailer
    /// No x-amz-content-sha256 (curl, SigV2): the signature does not cover the body.
    case notDeclared

    static let streamingSignedValue = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    static let streamingSignedTrailerValue = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    static let streamingUnsignedTrailerValue = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    static let unsignedValue = "UNSIGNED-PAYLOAD"

    /// nil for a value S3 does not accept (answered with InvalidArgument).
    init?(headerValue: String?) {
        guard let v = headerValue else {
            self = .notDeclared
            return
        }
        switch v {
        case Self.unsignedValue: self = .unsigned
        case Self.streamingSignedValue: self = .streamingSigned(trailer: false)
        case Self.streamingSignedTrailerValue: self = .streamingSigned(trailer: true)
        case Self.streamingUnsignedTrailerValue: self = .streamingUnsignedTrailer
        default:
            guard v.utf8.count == 64, hexDecode(v) != nil else { return nil }
            self = .sha256(v.lowercased())
        }
    }

    var isStreaming: Bool {
        switch self {
        case .streamingSigned, .streamingUnsignedTrailer: return true
        default: return false
        }
    }
}

/// Who signed the request and what the body must still prove.
public struct AuthContext: Sendable {
    public let accessKey: String
    public let method: AuthMethod
    public let payload: PayloadMode
    /// SigV4 only: the derived key, needed to verify chunk and trailer signatures.
    public let signingKey: [UInt8]?
    /// SigV4 only: the request's own signature, the first link of the chunk-signature chain.
    public let seedSignature: String?
    /// "20130524/us-east-1/s3/aws4_request"
    public let scope: String?
    /// "20130524T000000Z"
    public let amzDate: String?

    public init(
        accessKey: String, method: AuthMethod, payload: PayloadMode, signingKey: [UInt8]? = nil,
        seedSignature: String? = nil, scope: String? = nil, amzDate: String? = nil
    ) {
        self.accessKey = accessKey
        self.method = method
        self.payload = payload
        self.signingKey = signingKey
        self.seedSignature = seedSignature
        self.scope = scope
        self.amzDate = amzDate
    }

    /// The scope's region ("us-east-1"), e.g. to check a CreateBucket LocationConstraint.
    public var region: String? {
        guard let parts = scope?.split(separator: "/"), parts.count == 4 else { return nil }
        return String(parts[1])
    }
}
