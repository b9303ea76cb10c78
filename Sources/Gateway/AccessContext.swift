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
            context = policyContext(action: action, key: key, bucket: bucket)
        } else if key == nil, let prefix = query["prefix"] {
            context["s3:prefix"] = [prefix]
        }
        return AccessRequest(action: action, bucket: bucket, key: key, object: object, caller: caller, context: context)
    }

    /// Condition keys, lowercased. Only keys the request has are set: a policy condition on a
    /// missing key is false (or true for the negated operators), as in AWS. `key` is the object
    /// the question is about (a DeleteObjects entry's, not the request's own nil), `bucket` the
    /// bucket whose tenant is s3:ResourceAccount.
    func policyContext(action: String, key: String?? = nil, bucket: BucketRecord? = nil) -> PolicyContext {
        let key = key ?? self.key
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
        if let bucket { c["s3:resourceaccount"] = [bucket.tenant] }
        // nginx's $ssl_protocol ("TLSv1.2"), as AWS writes it ("1.2").
        if tlsProtocol.hasPrefix("TLSv") { c["s3:tlsversion"] = [String(tlsProtocol.dropFirst(4))] }
        if let age = signatureAge { c["s3:signatureage"] = [String(age)] }
        if let tags = requestTags {
            for t in tags { c["s3:requestobjecttag/" + t.name, default: []].append(t.value) }
            c["s3:requestobjecttagkeys"] = tags.map(\.name)
        }
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

    /// The tags the request writes: what `taggingBody` set (PutObjectTagging's parsed body), the
    /// POST form's `tagging` field, or the `x-amz-tagging` header; nil when it carries none (or
    /// they do not parse, which the handler refuses anyway).
    var requestTags: [Header]? {
        if let taggingBody { return taggingBody }
        if let f = formFields {
            return f["tagging"].flatMap { try? Tagging.parse(body: MemorySource($0), limit: Tagging.maxObjectTags) }
        }
        return headerText("x-amz-tagging").flatMap { try? Tagging.parse(header: $0) }
    }

    /// Milliseconds since the SigV4 signature's X-Amz-Date (header, presigned query or POST
    /// form field): s3:signatureAge. Nil for SigV2 and anonymous requests.
    var signatureAge: Int64? {
        let signed: Int?
        if let f = formFields {
            signed = f["x-amz-algorithm"] != nil ? f["x-amz-date"].flatMap(HTTPDate.parseAmzDate) : nil
        } else {
            switch auth.method {
            case .v4Header: signed = Verifier.requestTimeV4(head)?.0
            case .v4Query:
                signed = head.queryItems.first { $0.name == "X-Amz-Date" }.flatMap { HTTPDate.parseAmzDate($0.value) }
            default: signed = nil
            }
        }
        guard let signed else { return nil }
        return max(0, Int64(((now - Double(signed)) * 1000).rounded(.down)))
    }

    /// A request header's value, or for a POST form the field of that name (`acl`, or
    /// `x-amz-acl`, for x-amz-acl: the form handler refuses both at once).
    private func conditionValue(_ header: String) -> String? {
        guard let f = formFields else { return headerText(header) }
        return header == "x-amz-acl" ? f["acl"] ?? f["x-amz-acl"] : f[header]
    }

    /// Request headers whose value is the condition key `s3:<header>` (AWS's S3 condition keys).
    static let headerKeys = [
        "x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
        "x-amz-grant-full-control", "x-amz-copy-source", "x-amz-metadata-directive",
        "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-content-sha256",
        "x-amz-storage-class", "x-amz-object-ownership", "x-amz-server-side-encryption-customer-algorithm",
        "if-match", "if-none-match",
    ]

    /// Object Lock headers and their condition keys.
    static let lockKeys = [
        ("x-amz-object-lock-mode", "s3:object-lock-mode"),
        ("x-amz-object-lock-retain-until-date", "s3:object-lock-retain-until-date"),
        ("x-amz-object-lock-legal-hold", "s3:object-lock-legal-hold"),
    ]
}
