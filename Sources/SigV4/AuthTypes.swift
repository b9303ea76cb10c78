import GatewayCore

/// Where secret keys come from (the metadata store, a config file, a test double).
public protocol CredentialLookup: Sendable {
    func secretKey(forAccessKey: String) -> String?
}

/// Authentication and body-integrity failures are S3 errors from the one table in GatewayCore;
/// these name the ones SigV4 raises most.
extension S3Error {
    static func accessDenied(_ m: String) -> S3Error { S3Error(.accessDenied, m) }
    static func malformed(_ m: String) -> S3Error { S3Error(.authorizationHeaderMalformed, m) }
    static func queryError(_ m: String) -> S3Error { S3Error(.authorizationQueryParametersError, m) }
    static func invalidArgument(_ m: String) -> S3Error { S3Error(.invalidArgument, m) }
    static func invalidRequest(_ m: String) -> S3Error { S3Error(.invalidRequest, m) }
    static func incompleteBody(_ m: String) -> S3Error { S3Error(.incompleteBody, m) }
    static let signatureMismatch = S3Error(.signatureDoesNotMatch)
    static let invalidAccessKey = S3Error(.invalidAccessKeyId)
    static let skewed = S3Error(.requestTimeTooSkewed)
    static let missingDate = accessDenied("AWS authentication requires a valid Date or x-amz-date header")
    static let expired = accessDenied("Request has expired")
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

    public var isStreaming: Bool {
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
