import Foundation
import GatewayCore
import S3Protocol
import SigV4

/// The request side of an access decision: the condition keys a bucket policy may test, taken
/// from what the client sent and how it reached nginx (the caller's own keys — aws:username,
/// aws:PrincipalArn… — are `Access.decide`'s). docs/ACCESS.md lists them.
extension S3Request {
    /// The question "may this request's caller do `action`?" about `bucket` (and `key`). Only a
    /// policy reads condition keys, so a bucket without one gets just the listing's prefix (what
    /// the caller's own permissions are asked about): the common request builds no context.
    func accessRequest(_ action: String, bucket: BucketRecord, key: String?, object: ObjectRecord? = nil)
        -> AccessRequest
    {
        var context = PolicyContext()
        if !bucket.policy.isEmpty {
            context = policyContext(action: action)
        } else if key == nil, let prefix = query["prefix"] {
            context["s3:prefix"] = [prefix]
        }
        return AccessRequest(action: action, bucket: bucket, key: key, object: object, caller: caller, context: context)
    }

    /// Condition keys, lowercased. Only keys the request has are set: a policy condition on a
    /// missing key is false (or true for the negated operators), as in AWS.
    func policyContext(action: String) -> PolicyContext {
        var c: [String: [String]] = [:]
        // nginx's peer address; X-Forwarded-For is the client's own claim and never consulted.
        if !remoteAddress.isEmpty { c["aws:sourceip"] = [remoteAddress] }
        // The gateway's own writes (a migration's, `inProcess`) cross no network at all.
        c["aws:securetransport"] = [scheme == "https" || inProcess ? "true" : "false"]
        c["aws:currenttime"] = [HTTPDate.iso8601(now)]
        c["aws:epochtime"] = [String(Int64(now.rounded(.down)))]
        if let v = headerText("user-agent") { c["aws:useragent"] = [v] }
        if let v = headerText("referer") { c["aws:referer"] = [v] }

        // The listing keys describe the listing asked for (ListBucket, ListBucketVersions,
        // ListBucketMultipartUploads); on other requests these query names mean nothing.
        if key == nil, action.lowercased().hasPrefix("s3:listbucket") {
            for name in ["prefix", "delimiter", "max-keys"] {
                if let v = query[name] { c["s3:" + name] = [v] }
            }
        }
        if let v = query["versionId"], key != nil { c["s3:versionid"] = [v] }
        for name in Self.headerKeys {
            if let v = conditionValue(name) { c["s3:" + name] = [v.trimmingCharacters(in: .whitespaces)] }
        }
        for (header, key) in Self.lockKeys {
            if let v = conditionValue(header) { c[key] = [v.trimmingCharacters(in: .whitespaces)] }
        }
        if let v = c["s3:object-lock-retain-until-date"]?.first, let until = HTTPDate.parseISO8601(v) {
            c["s3:object-lock-remaining-retention-days"] = [String(max(0, Int(((until - now) / 86400).rounded(.up))))]
        }
        switch auth.method {
        case .v4Header, .v4Query: c["s3:signatureversion"] = ["AWS4-HMAC-SHA256"]
        case .v2Header, .v2Query: c["s3:signatureversion"] = ["AWS"]
        case .anonymous: break
        }
        if let f = formFields {
            c["s3:authtype"] = ["POST"]
            if f["x-amz-algorithm"] != nil {
                c["s3:signatureversion"] = ["AWS4-HMAC-SHA256"]
            } else if f["signature"] != nil {
                c["s3:signatureversion"] = ["AWS"]
            }
        } else {
            switch auth.method {
            case .v4Header, .v2Header: c["s3:authtype"] = ["REST-HEADER"]
            case .v4Query, .v2Query: c["s3:authtype"] = ["REST-QUERY-STRING"]
            case .anonymous: break
            }
        }
        return PolicyContext(c)
    }

    /// A request header's value, or for a POST form the field of that name (`acl` for x-amz-acl).
    private func conditionValue(_ header: String) -> String? {
        guard let f = formFields else { return headerText(header) }
        return f[header == "x-amz-acl" ? "acl" : header]
    }

    /// Request headers whose value is the condition key `s3:<header>` (AWS's S3 condition keys).
    static let headerKeys = [
        "x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
        "x-amz-grant-full-control", "x-amz-copy-source", "x-amz-metadata-directive",
        "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-content-sha256",
        "x-amz-storage-class", "x-amz-object-ownership",
    ]

    /// Object Lock headers and their condition keys.
    static let lockKeys = [
        ("x-amz-object-lock-mode", "s3:object-lock-mode"),
        ("x-amz-object-lock-retain-until-date", "s3:object-lock-retain-until-date"),
        ("x-amz-object-lock-legal-hold", "s3:object-lock-legal-hold"),
    ]
}
