/// What can go wrong between a stored envelope and plaintext. Stored bytes that fail
/// authentication are always an error, never wrong bytes.
public enum SSEError: Error, Sendable, Equatable {
    /// Stored bytes or an envelope that fail authentication, are cut short or malformed (a
    /// damaged or swapped blob; the message names where, never key material).
    case corrupt(String)
    /// The key given does not open the object's data key: for SSE-C the client's wrong key.
    case wrongKey
    /// An SSE-C object read or copied without its customer key.
    case customerKeyRequired
    /// A KMS key id, ARN or alias that names no key of the tenant (as the client gave it).
    case keyNotFound(String)
    /// The KMS key exists but is disabled.
    case keyDisabled(String)

    /// The client's answer. A wrong customer key is AccessDenied (S3's answer); a KEK that does
    /// not open its own DEK is damage, reported as `corrupt` by the key service.
    public var s3Error: S3Error {
        switch self {
        case .corrupt: S3Error(.internalError)
        case .wrongKey: S3Error(.accessDenied)
        case .customerKeyRequired:
            S3Error(
                .invalidRequest,
                "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
            )
        case .keyNotFound(let id): S3Error(.kmsNotFound, "Invalid keyId \(id)")
        case .keyDisabled(let id): S3Error(.kmsDisabled, "\(id) is disabled.")
        }
    }
}
