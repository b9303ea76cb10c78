import GatewayCore
import SigV4

extension S3Gateway {
    /// The check shared by the STS endpoint and the admin API, whose small bodies are read before
    /// the signature (their signers sign the body's hash without sending it): SigV4 only, the
    /// body covered by the signature (its hash signed, or a declared hash that matches), no
    /// chunked framing, then the principal with its session-token check. `invalid` builds the
    /// endpoint's own error for a request it refuses, `anonymous` its answer to an unsigned one. Presigned URLs are refused where
    /// `presignedAllowed` is false: a URL that performs a change would be a bearer token.
    func verifySignedBody(
        _ head: RequestHead, bytes: [UInt8], service: String, now: Double, presignedAllowed: Bool,
        doubleEncodedPath: Bool = false, anonymous: S3Error, invalid: (String) -> S3Error
    ) throws -> (AuthContext, Principal) {
        let trace = RequestTrace.current
        let auth = try Self.verifySignedBody(
            head, bytes: bytes, verifier: ctx.verifier, service: service, now: now, presignedAllowed: presignedAllowed,
            doubleEncodedPath: doubleEncodedPath, anonymous: anonymous, invalid: invalid,
            signatureFailed: { trace?.authFailure = $0.code.code })
        let principal: Principal
        do {
            principal = try Self.principal(auth, head: head, ctx: ctx, now: now)
        } catch {
            trace?.authFailure = error.code.code
            throw error
        }
        trace?.tenant = principal.tenant
        trace?.accessKey = principal.accessKey
        return (auth, principal)
    }

    /// The signature checks of `verifySignedBody` without the principal, shared with an endpoint
    /// whose verifier knows its own credentials (the global router's admin API): SigV4 only, the
    /// body covered by the signature, no chunked framing. `signatureFailed` sees the verifier's
    /// own refusals (a bad signature, an unknown key), not this function's.
    public static func verifySignedBody(
        _ head: RequestHead, bytes: [UInt8], verifier: Verifier, service: String = "s3", now: Double,
        presignedAllowed: Bool, doubleEncodedPath: Bool = false, anonymous: S3Error, invalid: (String) -> S3Error,
        signatureFailed: (S3Error) -> Void = { _ in }
    ) throws(S3Error) -> AuthContext {
        let hash = hexEncode(Digest.hash(.sha256, bytes))
        let auth: AuthContext
        do {
            auth = try verifier.authenticate(
                head, now: now, service: service, bodyHash: hash, doubleEncodedPath: doubleEncodedPath)
        } catch {
            signatureFailed(error)
            throw error
        }
        switch auth.method {
        case .anonymous: throw anonymous
        case .v2Header, .v2Query: throw S3Error(.accessDenied, "Requests must be signed with Signature Version 4")
        case .v4Query where !presignedAllowed:
            throw S3Error(.accessDenied, "Requests must be signed in the Authorization header")
        case .v4Header, .v4Query: break
        }
        if case .sha256(let declared) = auth.payload, declared != hash { throw S3Error(.xAmzContentSHA256Mismatch) }
        if auth.payload.isStreaming { throw invalid("Requests are not sent in chunks") }
        // What the body asks for (a session policy, new permissions) must be what was signed.
        if auth.payload == .unsigned && !bytes.isEmpty { throw invalid("The body must be covered by the signature") }
        return auth
    }
}
