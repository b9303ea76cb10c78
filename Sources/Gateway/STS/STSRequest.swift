import GatewayCore
import SigV4

/// The gateway's STS endpoint: temporary credentials on AWS's query protocol
/// (https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html). docs/STS.md describes
/// what it implements.
enum STS {
    static let namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
    static let version = "2011-06-15"
    /// STS parameters are short (a session policy is at most 2048 characters, URL-encoded up to
    /// three times that); the body is read whole before the signature over its hash is checked.
    static let maxBody = 64 << 10

    /// An STS call is addressed to the service root, never to a bucket: a form POST to `/`
    /// (what the SDKs and the aws CLI send), or `/` with `Action=` in the query string (the
    /// query protocol's GET form). Neither is an S3 request: S3 has no POST on `/`, and
    /// ListBuckets takes no `Action`.
    static func owns(_ head: RequestHead, virtualHosted: Bool) -> Bool {
        guard head.rawPath == "/", !virtualHosted, head.method == "POST" || head.method == "GET" else { return false }
        if head.method == "POST" && isForm(head) { return true }
        return formFields(head.rawQuery)?.contains { $0.name == "Action" } ?? false
    }

    static func isForm(_ head: RequestHead) -> Bool {
        (head.header("content-type") ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded")
    }

    /// `application/x-www-form-urlencoded` pairs: `+` is a space, `%XX` a byte; nil when an
    /// escape is malformed or the bytes are not UTF-8.
    static func formFields(_ text: String) -> [(name: String, value: String)]? {
        var out: [(name: String, value: String)] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: "=")
            let rawName = eq.map { part[..<$0] } ?? part[...]
            let rawValue = eq.map { part[part.index(after: $0)...] } ?? ""
            guard let name = decode(rawName), let value = decode(rawValue) else { return nil }
            out.append((name, value))
        }
        return out
    }

    private static func decode(_ s: Substring) -> String? {
        percentDecode(s.replacingOccurrences(of: "+", with: " "))
    }
}

/// One STS call once its signature and principal checked out.
struct STSRequest {
    let action: String
    /// The parameters of the body and the query string (the body's win), without the
    /// `X-Amz-*` ones of a presigned request.
    let params: [String: String]
    let principal: Principal
    let requestId: String
    let now: Double

    func param(_ name: String) -> String? { params[name] }

    /// A parameter the operation requires; missing or empty is AWS's ValidationError.
    func required(_ name: String, member: String) throws(S3Error) -> String {
        guard let v = params[name], !v.isEmpty else {
            throw S3Error(
                .validationError,
                "1 validation error detected: Value null at '\(member)' failed to satisfy constraint: Member must not be null"
            )
        }
        return v
    }

    /// Parameters of features this gateway does not implement are refused, never ignored: a
    /// caller relying on MFA, tags or managed policies must learn they did not apply.
    func refuse(_ names: [String]) throws(S3Error) {
        for name in names {
            if params.keys.contains(where: { $0 == name || $0.hasPrefix(name + ".") }) {
                throw S3Error(.validationError, "\(name) is not supported by this gateway's STS")
            }
        }
    }
}
