extension BucketPolicy {
    /// Parses and validates a PutBucketPolicy document for the bucket `bucketARN` names
    /// (`BucketPolicy.arn(of:)`). The first fault found is the answer, a 400 MalformedPolicy
    /// with S3's reason text. `tenantExists` (when given) decides whether a principal's tenant
    /// exists: S3 refuses principals it cannot resolve ("Invalid principal in policy").
    public static func parse(
        _ json: String, bucketARN: String, tenantExists: ((String) -> Bool)? = nil
    ) throws(S3Error) -> BucketPolicy {
        func fail(_ reason: String) -> S3Error { S3Error(.malformedPolicy, reason) }
        let trimmed = json.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard trimmed.first == "{" else { throw fail("Policies must be valid JSON and the first byte must be '{'") }
        guard let doc = JSONValue.parse(json), case .object(let members) = doc else {
            throw fail("This policy contains invalid Json")
        }
        guard doc.compact.utf8.count <= maxSize else { throw fail("Policies must be less than 20 KB") }
        var version = "2008-10-17"
        var id: String?
        var statementValue: JSONValue?
        for m in members {
            switch (m.name, m.value) {
            case ("Version", .string(let v)) where v == "2012-10-17" || v == "2008-10-17": version = v
            case ("Version", _): throw fail("The policy must contain a valid version string")
            case ("Id", .string(let v)): id = v
            case ("Statement", let v): statementValue = v
            default: throw fail("Invalid policy syntax.")
            }
        }
        let raw: [JSONValue]
        switch statementValue {
        case nil: throw fail("Missing required field Statement")
        case .array(let items) where items.isEmpty: throw fail("Could not parse the policy: Statement is empty!")
        case .array(let items): raw = items
        case .some(let one) where one.isObject: raw = [one]
        default: throw fail("Invalid policy syntax.")
        }
        let bucketName = String(bucketARN.dropFirst(arnPrefix.count))
        var statements: [Statement] = []
        // Policy variables exist from 2012-10-17 on; in 2008-10-17 `${…}` is text, validated
        // as any other.
        let variables = version == "2012-10-17"
        for item in raw {
            statements.append(
                try statement(item, bucketName: bucketName, tenantExists: tenantExists, variables: variables))
        }
        return BucketPolicy(version: version, id: id, statements: statements)
    }

    static func statement(
        _ value: JSONValue, bucketName: String, tenantExists: ((String) -> Bool)?, variables: Bool = true
    ) throws(S3Error) -> Statement {
        func fail(_ reason: String) -> S3Error { S3Error(.malformedPolicy, reason) }
        guard case .object(let members) = value else { throw fail("Invalid policy syntax.") }
        var sid: String?
        var effect: JSONValue?
        var principal: (JSONValue, Bool)?
        var action: (JSONValue, Bool)?
        var resource: (JSONValue, Bool)?
        var condition: JSONValue?
        for m in members {
            // Each element once, and never with its Not form.
            func set(_ slot: inout (JSONValue, Bool)?, not: Bool) throws(S3Error) {
                guard slot == nil else { throw fail("Invalid policy syntax.") }
                slot = (m.value, not)
            }
            switch m.name {
            case "Sid":
                guard case .string(let s) = m.value else { throw fail("Invalid policy syntax.") }
                sid = s
            case "Effect": effect = m.value
            case "Principal": try set(&principal, not: false)
            case "NotPrincipal": try set(&principal, not: true)
            case "Action": try set(&action, not: false)
            case "NotAction": try set(&action, not: true)
            case "Resource": try set(&resource, not: false)
            case "NotResource": try set(&resource, not: true)
            case "Condition": condition = m.value
            default: throw fail("Invalid policy syntax.")
            }
        }
        let allow: Bool
        switch effect {
        case nil: throw fail("Missing required field Effect")
        case .string("Allow"): allow = true
        case .string("Deny"): allow = false
        case .string(let other): throw fail("Invalid effect: \(other)")
        default: throw fail("Invalid policy syntax.")
        }
        guard let principal else { throw fail("Missing required field Principal") }
        let principals = try Self.principals(principal.0, tenantExists: tenantExists)
        // AWS: NotPrincipal must be used with "Effect":"Deny".
        if principal.1 && allow { throw fail("Invalid principal in policy") }
        guard let action else { throw fail("Missing required field Action") }
        guard let actionList = action.0.strings else { throw fail("Invalid policy syntax.") }
        var actions: [String] = []
        var kinds: [Set<S3ActionCatalog.Kind>] = []
        for a in actionList {
            let lowered = a.lowercased()
            let k = S3ActionCatalog.kinds(named: lowered == "*" ? "s3:*" : lowered)
            guard lowered == "*" || lowered.hasPrefix("s3:"), !k.isEmpty else {
                throw fail("Policy has invalid action")
            }
            actions.append(lowered)
            kinds.append(k)
        }
        guard !actions.isEmpty else { throw fail("Policy has invalid action") }
        guard let resource else { throw fail("Missing required field Resource") }
        guard let resources = resource.0.strings else { throw fail("Invalid policy syntax.") }
        guard !resources.isEmpty else { throw fail("Policy has invalid resource") }
        for r in resources where !Self.isResource(r, ofBucket: bucketName, variables: variables) {
            throw fail("Policy has invalid resource")
        }
        if !action.1 && !resource.1 {
            // Every action must apply to one of the resources: object actions to an object
            // ARN, bucket actions to the bucket's.
            var reachable: Set<S3ActionCatalog.Kind> = []
            for r in resources {
                let rest = r.dropFirst(arnPrefix.count)
                if !rest.contains("/") { reachable.insert(.bucket) }
                if rest.contains("/") || rest.contains("*") { reachable.insert(.object) }
            }
            guard kinds.allSatisfy({ !$0.isDisjoint(with: reachable) }) else {
                throw fail("Action does not apply to any resource(s) in statement")
            }
        }
        let conditions =
            try condition.map { (c: JSONValue) throws(S3Error) in try Self.conditions(c, variables: variables) } ?? []
        return Statement(
            sid: sid, allow: allow, principals: principals, notPrincipal: principal.1, actions: actions,
            notAction: action.1, resources: resources, notResource: resource.1, conditions: conditions)
    }

    /// An S3 ARN of this bucket or of objects in it (wildcards allowed where they can match
    /// this bucket); `*` alone and other buckets are refused, as S3 does.
    static func isResource(_ r: String, ofBucket bucketName: String, variables: Bool = true) -> Bool {
        guard r.hasPrefix(arnPrefix) else { return false }
        let rest = r.dropFirst(arnPrefix.count)
        guard !rest.isEmpty else { return false }
        let bucketPart = String(rest.prefix { $0 != "/" })
        return variables && bucketPart.contains("${") || PermissionSet.globMatch(bucketPart, bucketName)
    }

    /// `"*"`, or `{"AWS": …, "CanonicalUser": …}` with one value or a list. AWS values: `*`
    /// (alone), `arn:aws:iam::<tenant>:root`, `arn:aws:iam::<tenant>:user/<name>` or a bare
    /// tenant id. Service and federated principals have nothing to match in the gateway and
    /// are refused, as are wildcards inside ARNs.
    static func principals(_ value: JSONValue, tenantExists: ((String) -> Bool)?) throws(S3Error) -> [PolicyPrincipal] {
        let invalid = S3Error(.malformedPolicy, "Invalid principal in policy")
        if case .string("*") = value { return [.everyone] }
        guard case .object(let members) = value, !members.isEmpty else { throw invalid }
        var out: [PolicyPrincipal] = []
        for m in members {
            guard let listed = m.value.strings, !listed.isEmpty, !listed.contains(where: \.isEmpty) else {
                throw invalid
            }
            switch m.name {
            case "AWS":
                if listed.contains("*") {
                    guard listed == ["*"] else { throw invalid }
                    out.append(.everyone)
                    continue
                }
                for named in listed {
                    guard let p = awsPrincipal(named) else { throw invalid }
                    let tenant: String
                    switch p {
                    case .tenant(let t), .user(let t, _): tenant = t
                    default: tenant = ""
                    }
                    if let tenantExists, !tenantExists(tenant) { throw invalid }
                    out.append(p)
                }
            case "CanonicalUser":
                for id in listed {
                    guard !id.contains("*"), !id.contains("?") else { throw invalid }
                    out.append(.canonicalUser(id))
                }
            default: throw invalid
            }
        }
        return out
    }

    static func awsPrincipal(_ text: String) -> PolicyPrincipal? {
        if TenantRecord.isValidID(text) { return .tenant(text) }
        let prefix = "arn:aws:iam::"
        guard text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let tenant = String(rest[..<colon])
        let what = rest[rest.index(after: colon)...]
        guard TenantRecord.isValidID(tenant) else { return nil }
        if what == "root" { return .tenant(tenant) }
        guard what.hasPrefix("user/") else { return nil }
        let name = String(what.dropFirst(5))
        return UserRecord.isValidName(name) ? .user(tenant: tenant, name: name) : nil
    }

    /// `{"<operator>": {"<key>": value or [values]}}`. With `variables`, a value holding `${`
    /// is a policy variable, allowed for the text operators only (String…, Arn…).
    static func conditions(_ value: JSONValue, variables: Bool = true) throws(S3Error) -> [PolicyCondition] {
        func fail(_ reason: String) -> S3Error { S3Error(.malformedPolicy, reason) }
        guard case .object(let operators) = value else { throw fail("Invalid policy syntax.") }
        var out: [PolicyCondition] = []
        for o in operators {
            guard let (op, qualifier, ifExists) = PolicyCondition.type(o.name) else {
                throw fail("Invalid Condition type : \(o.name)")
            }
            guard case .object(let keys) = o.value else { throw fail("Invalid policy syntax.") }
            for k in keys {
                guard S3ActionCatalog.isConditionKey(k.name.lowercased()) else {
                    throw fail("Policy has an invalid condition key")
                }
                guard let values = k.value.conditionValues, !values.isEmpty else {
                    throw fail("Invalid policy syntax.")
                }
                let c = PolicyCondition(op: op, qualifier: qualifier, ifExists: ifExists, key: k.name, values: values)
                for v in values {
                    if variables && v.contains("${") {
                        if c.takesVariables { continue }
                    } else if PolicyCondition.accepts(op, v) {
                        continue
                    }
                    if op.positive == .ipAddress { throw fail("Invalid IP address in Conditions") }
                    throw fail("Invalid value in Conditions for operator \(op.rawValue)")
                }
                out.append(c)
            }
        }
        return out
    }
}

extension JSONValue {
    var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// A string, or a list of strings (IAM: brackets are optional around one value).
    var strings: [String]? {
        switch self {
        case .string(let s): return [s]
        case .array(let items):
            var out: [String] = []
            for i in items {
                guard case .string(let s) = i else { return nil }
                out.append(s)
            }
            return out
        default: return nil
        }
    }

    /// Condition values: strings, numbers or booleans (quotes are optional around those), one
    /// or a list.
    var conditionValues: [String]? {
        func one(_ v: JSONValue) -> String? {
            switch v {
            case .string(let s): s
            case .number(let n): n
            case .bool(let b): b ? "true" : "false"
            default: nil
            }
        }
        if case .array(let items) = self {
            var out: [String] = []
            for i in items {
                guard let s = one(i) else { return nil }
                out.append(s)
            }
            return out
        }
        return one(self).map { [$0] }
    }
}
