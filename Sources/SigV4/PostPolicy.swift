import Foundation
import GatewayCore

// Browser-based uploads: the form's signature is over the base64 policy document, and the
// policy's conditions bind the other form fields.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html

/// A verified POST policy: who signed it and what it allows.
public struct PostPolicy: Sendable {
    public enum Condition: Sendable, Equatable {
        case equals(field: String, value: String)
        case startsWith(field: String, prefix: String)
        case contentLengthRange(min: Int64, max: Int64)
    }

    public let accessKey: String
    public let expiration: Double
    public let conditions: [Condition]

    /// The allowed file sizes, when the policy sets them.
    public var contentLengthRange: ClosedRange<Int64>? {
        for c in conditions { if case .contentLengthRange(let lo, let hi) = c { return lo...hi } }
        return nil
    }

    /// Fields a policy never needs to mention.
    static func isExempt(_ name: String) -> Bool {
        ["policy", "x-amz-signature", "signature", "awsaccesskeyid", "file", "x-amz-security-token"].contains(name)
            || name.hasPrefix("x-ignore-")
    }

    /// Checks every condition against `fields` (lowercased names, with `bucket` added by the
    /// caller), and that every field the form sent is covered by some condition.
    public func check(fields: [String: String]) throws(S3Error) {
        for c in conditions {
            switch c {
            case .equals(let f, let v):
                guard (fields[f] ?? "") == v else { throw Self.failed("[\"eq\", \"$\(f)\", \"\(v)\"]") }
            case .startsWith(let f, let p):
                // Content-Type may list several values; each must match (AWS rule).
                let values =
                    f == "content-type"
                    ? (fields[f] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    : [fields[f] ?? ""]
                guard values.allSatisfy({ $0.hasPrefix(p) }) else {
                    throw Self.failed("[\"starts-with\", \"$\(f)\", \"\(p)\"]")
                }
            case .contentLengthRange:
                break  // checked against the file as it streams
            }
        }
        let covered = Set(
            conditions.compactMap { c -> String? in
                switch c {
                case .equals(let f, _), .startsWith(let f, _): f
                case .contentLengthRange: nil
                }
            })
        let extra = fields.keys.filter { !Self.isExempt($0) && !covered.contains($0) && $0 != "bucket" }.sorted()
        if !extra.isEmpty {
            throw .accessDenied("Invalid according to Policy: Extra input fields: " + extra.joined(separator: ", "))
        }
    }

    static func failed(_ condition: String) -> S3Error {
        .accessDenied("Invalid according to Policy: Policy Condition failed: " + condition)
    }

    /// Parses the policy JSON (already base64-decoded).
    static func parse(_ json: [UInt8], accessKey: String) throws(S3Error) -> PostPolicy {
        let invalid = S3Error(.invalidPolicyDocument, "Invalid Policy: Invalid JSON.")
        guard let doc = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
            let exp = doc["expiration"] as? String, let conds = doc["conditions"] as? [Any]
        else { throw invalid }
        guard let expiration = HTTPDate.parseISO8601(exp) else {
            throw S3Error(.invalidPolicyDocument, "Invalid Policy: Invalid 'expiration' value.")
        }
        var out: [Condition] = []
        for c in conds {
            if let obj = c as? [String: Any], obj.count == 1, let (k, v) = obj.first {
                guard let s = Self.string(v) else { throw invalid }
                out.append(.equals(field: k.lowercased(), value: s))
            } else if let arr = c as? [Any], arr.count == 3, let op = (arr[0] as? String)?.lowercased() {
                switch op {
                case "eq", "starts-with":
                    guard let f = arr[1] as? String, f.hasPrefix("$"), let v = Self.string(arr[2]) else {
                        throw invalid
                    }
                    let field = String(f.dropFirst()).lowercased()
                    out.append(op == "eq" ? .equals(field: field, value: v) : .startsWith(field: field, prefix: v))
                case "content-length-range":
                    guard let lo = Self.integer(arr[1]), let hi = Self.integer(arr[2]), lo >= 0, hi >= lo else {
                        throw invalid
                    }
                    out.append(.contentLengthRange(min: lo, max: hi))
                default:
                    throw invalid
                }
            } else {
                throw invalid
            }
        }
        return PostPolicy(accessKey: accessKey, expiration: expiration, conditions: out)
    }

    private static func string(_ v: Any) -> String? {
        if let s = v as? String { return s }
        if let n = v as? NSNumber { return n.stringValue }
        return nil
    }

    private static func integer(_ v: Any) -> Int64? {
        if let n = v as? NSNumber { return n.int64Value }
        if let s = v as? String { return Int64(s) }
        return nil
    }
}

extension Verifier {
    /// The form fields that sign a POST form (and the policy they sign). A form with none of
    /// them is the anonymous caller's upload, allowed only where the bucket's policy or ACL lets
    /// everyone write.
    public static let postSignatureFields = [
        "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-signature", "x-amz-date", "awsaccesskeyid",
        "signature",
    ]

    /// Whether the form (lowercased field names) carries no signature at all.
    public static func isUnsignedPostForm(_ fields: [String: String]) -> Bool {
        !postSignatureFields.contains { fields[$0] != nil }
    }

    /// Verifies a POST form's signature (SigV4 `x-amz-*` fields or SigV2 `AWSAccessKeyId` +
    /// `signature`) over its `policy` field, and the policy's expiration. `fields` have
    /// lowercased names.
    public func verifyPostForm(_ fields: [String: String], now: Double) throws(S3Error) -> PostPolicy {
        guard let policyB64 = fields["policy"], let policyJSON = base64Decode(policyB64) else {
            throw .accessDenied("Bucket POST must contain a valid policy field")
        }
        let accessKey: String
        if let algorithm = fields["x-amz-algorithm"] {
            guard algorithm == CanonicalRequest.algorithm else {
                throw .invalidArgument("Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm")
            }
            guard let credentialField = fields["x-amz-credential"], let signature = fields["x-amz-signature"],
                fields["x-amz-date"] != nil
            else { throw .invalidArgument("POST requires x-amz-credential, x-amz-date and x-amz-signature fields") }
            let (parsed, reason) = Self.parseCredential(credentialField)
            guard let credential = parsed else { throw .invalidArgument("Error parsing x-amz-credential: " + reason) }
            guard let secret = credentials.secretKey(forAccessKey: credential.accessKey) else {
                throw .invalidAccessKey
            }
            let key = Signer.signingKey(
                secret: secret, date: credential.date, region: credential.region, service: credential.service)
            let expected = Signer.signature(signingKey: key, stringToSign: policyB64)
            guard constantTimeEquals(expected, signature.lowercased()) else { throw .signatureMismatch }
            accessKey = credential.accessKey
        } else if let ak = fields["awsaccesskeyid"], let signature = fields["signature"] {
            guard let secret = credentials.secretKey(forAccessKey: ak) else { throw .invalidAccessKey }
            let expected = Signer.signatureV2(secretKey: secret, stringToSign: policyB64)
            guard constantTimeEquals(expected, signature) else { throw .signatureMismatch }
            accessKey = ak
        } else {
            throw .accessDenied("Bucket POST must be signed (x-amz-signature or signature field)")
        }
        let policy = try PostPolicy.parse(policyJSON, accessKey: accessKey)
        if now > policy.expiration { throw .accessDenied("Invalid according to Policy: Policy expired.") }
        return policy
    }
}
