/// One condition of a policy statement: an operator, a context key and the values to compare
/// with (IAM's Condition element). https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
public struct PolicyCondition: Sendable, Equatable {
    public enum Operator: String, Sendable, CaseIterable {
        case stringEquals = "StringEquals"
        case stringNotEquals = "StringNotEquals"
        case stringEqualsIgnoreCase = "StringEqualsIgnoreCase"
        case stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
        case stringLike = "StringLike"
        case stringNotLike = "StringNotLike"
        case numericEquals = "NumericEquals"
        case numericNotEquals = "NumericNotEquals"
        case numericLessThan = "NumericLessThan"
        case numericLessThanEquals = "NumericLessThanEquals"
        case numericGreaterThan = "NumericGreaterThan"
        case numericGreaterThanEquals = "NumericGreaterThanEquals"
        case dateEquals = "DateEquals"
        case dateNotEquals = "DateNotEquals"
        case dateLessThan = "DateLessThan"
        case dateLessThanEquals = "DateLessThanEquals"
        case dateGreaterThan = "DateGreaterThan"
        case dateGreaterThanEquals = "DateGreaterThanEquals"
        case bool = "Bool"
        case binaryEquals = "BinaryEquals"
        case ipAddress = "IpAddress"
        case notIpAddress = "NotIpAddress"
        case arnEquals = "ArnEquals"
        case arnNotEquals = "ArnNotEquals"
        case arnLike = "ArnLike"
        case arnNotLike = "ArnNotLike"
        case null = "Null"

        /// The negated operators: true when no value matches, and true when the key is missing.
        public var isNegated: Bool {
            switch self {
            case .stringNotEquals, .stringNotEqualsIgnoreCase, .stringNotLike, .numericNotEquals, .dateNotEquals,
                .notIpAddress, .arnNotEquals, .arnNotLike:
                true
            default: false
            }
        }

        /// The operator whose match this one negates (itself when not negated).
        var positive: Operator {
            switch self {
            case .stringNotEquals: .stringEquals
            case .stringNotEqualsIgnoreCase: .stringEqualsIgnoreCase
            case .stringNotLike: .stringLike
            case .numericNotEquals: .numericEquals
            case .dateNotEquals: .dateEquals
            case .notIpAddress: .ipAddress
            case .arnNotEquals: .arnEquals
            case .arnNotLike: .arnLike
            default: self
            }
        }
    }

    /// `ForAnyValue:` / `ForAllValues:`: how a multivalued key's values are combined.
    public enum SetQualifier: String, Sendable {
        case none = ""
        case forAnyValue = "ForAnyValue"
        case forAllValues = "ForAllValues"
    }

    public var op: Operator
    public var qualifier: SetQualifier
    /// `…IfExists`: true when the key is missing.
    public var ifExists: Bool
    /// As `PolicyContext` stores keys: lowercased (keys are case-insensitive), except the tag
    /// name of tag keys.
    public var key: String
    public var values: [String]

    public init(op: Operator, qualifier: SetQualifier = .none, ifExists: Bool = false, key: String, values: [String]) {
        self.op = op
        self.qualifier = qualifier
        self.ifExists = ifExists
        self.key = PolicyContext.normalized(key)
        self.values = values
    }

    /// Reads a condition type as written (`ForAnyValue:StringLikeIfExists`); nil when it is not
    /// one (including `NullIfExists`, which IAM does not define).
    public static func type(_ written: String) -> (Operator, SetQualifier, Bool)? {
        var rest = Substring(written)
        var qualifier = SetQualifier.none
        // At most one qualifier (`ForAnyValue:ForAllValues:X` is no type).
        for q in [SetQualifier.forAnyValue, .forAllValues] where rest.hasPrefix(q.rawValue + ":") {
            qualifier = q
            rest = rest.dropFirst(q.rawValue.count + 1)
            break
        }
        var ifExists = false
        if rest.hasSuffix("IfExists") {
            ifExists = true
            rest = rest.dropLast("IfExists".count)
        }
        guard let op = Operator(rawValue: String(rest)), !(op == .null && (ifExists || qualifier != .none)) else {
            return nil
        }
        return (op, qualifier, ifExists)
    }

    /// Whether `value` is one this operator can compare with (validated at PutBucketPolicy).
    public static func accepts(_ op: Operator, _ value: String) -> Bool {
        switch op.positive {
        case .numericEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan, .numericGreaterThanEquals:
            number(value) != nil
        case .dateEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            date(value) != nil
        case .bool, .null: ["true", "false"].contains(value.lowercased())
        case .ipAddress: CIDR(value) != nil
        default: true
        }
    }

    /// Whether the operator compares text, the only kind of value policy variables may stand in.
    public var takesVariables: Bool {
        switch op.positive {
        case .stringEquals, .stringEqualsIgnoreCase, .stringLike, .arnEquals, .arnLike: true
        default: false
        }
    }

    /// The condition against one request's context; nil when the answer is unknown because a
    /// request value does not parse as the operator's kind (a number, a date, an address,
    /// a boolean): the statement then decides (an Allow does not match, a Deny does). A missing
    /// key makes the condition false, except: `…IfExists` (true), the negated operators (true:
    /// nothing matches), `ForAllValues` (true: every one of no values matches) and `Null`
    /// (which tests presence).
    public func evaluate(_ context: PolicyContext) -> Bool? {
        evaluate(context, patterns: values.map { $0.unicodeScalars.map(PermissionSet.GlobAtom.init) })
    }

    /// `evaluate` with the condition's values given as globs (`BucketPolicy.resolve`: policy
    /// variables replaced, their values literal).
    func evaluate(_ context: PolicyContext, patterns: [[PermissionSet.GlobAtom]]) -> Bool? {
        let present = context[key]
        if op == .null {
            // Values are alternatives: `["true", "false"]` holds either way.
            return values.contains { ($0.lowercased() == "true") == (present == nil) }
        }
        guard let present else { return ifExists || qualifier == .forAllValues || op.isNegated }
        let texts = patterns.map { String(String.UnicodeScalarView($0.map(\.scalar))) }
        let results = present.map { matches($0, patterns: patterns, texts: texts) }
        switch qualifier {
        case .forAllValues:
            // Every value satisfies the operator (its negation for negated ones).
            let satisfied = results.map { r in r.map { op.isNegated ? !$0 : $0 } }
            if satisfied.contains(false) { return false }
            return satisfied.contains(nil) ? nil : true
        case .forAnyValue:
            let satisfied = results.map { r in r.map { op.isNegated ? !$0 : $0 } }
            if satisfied.contains(true) { return true }
            return satisfied.contains(nil) ? nil : false
        case .none:
            // A single-valued key; were it to carry several values, a positive operator holds
            // when one matches, a negated one when none does.
            if results.contains(true) { return !op.isNegated }
            return results.contains(nil) ? nil : op.isNegated
        }
    }

    /// Whether one context value matches one of the condition's values under the positive
    /// form of the operator; nil when the value does not parse as the operator's kind.
    func matches(_ v: String, patterns: [[PermissionSet.GlobAtom]], texts: [String]) -> Bool? {
        switch op.positive {
        case .stringEquals, .binaryEquals: return texts.contains(v)
        case .stringEqualsIgnoreCase:
            let l = v.lowercased()
            return texts.contains { $0.lowercased() == l }
        case .stringLike: return patterns.contains { PermissionSet.globMatch($0, v) }
        case .numericEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan, .numericGreaterThanEquals:
            guard let n = Self.number(v) else { return nil }
            return values.contains { Self.number($0).map { compare(n, $0) } ?? false }
        case .dateEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            guard let d = Self.date(v) else { return nil }
            return values.contains { Self.date($0).map { compare(d, $0) } ?? false }
        case .bool:
            let l = v.lowercased()
            guard l == "true" || l == "false" else { return nil }
            return values.contains { $0.lowercased() == l }
        case .ipAddress:
            guard CIDR.parseAddress(v) != nil else { return nil }
            return values.contains { CIDR($0)?.contains(v) ?? false }
        case .arnEquals, .arnLike: return patterns.contains { Self.arnMatch($0, v) }
        default: return false
        }
    }

    /// `context <op> condition value`.
    func compare(_ a: Double, _ b: Double) -> Bool {
        switch op.positive {
        case .numericEquals, .dateEquals: a == b
        case .numericLessThan, .dateLessThan: a < b
        case .numericLessThanEquals, .dateLessThanEquals: a <= b
        case .numericGreaterThan, .dateGreaterThan: a > b
        case .numericGreaterThanEquals, .dateGreaterThanEquals: a >= b
        default: false
        }
    }

    /// ArnEquals and ArnLike compare the six colon-separated parts one by one, `*` and `?`
    /// matching inside a part (the last part, the resource, may itself hold colons).
    static func arnMatch(_ pattern: [PermissionSet.GlobAtom], _ arn: String) -> Bool {
        var p: [[PermissionSet.GlobAtom]] = [[]]
        for atom in pattern {
            if atom == .scalar(":") && p.count < 6 { p.append([]) } else { p[p.count - 1].append(atom) }
        }
        let a = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard p.count == 6, a.count == 6 else { return false }
        return zip(p, a).allSatisfy { PermissionSet.globMatch($0, String($1)) }
    }

    /// A decimal number (`-`, digits, one optional fraction), as numeric conditions take them.
    static func number(_ text: String) -> Double? {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits != ".", digits.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }),
            digits.utf8.filter({ $0 == 0x2E }).count <= 1
        else { return nil }
        return Double(text)
    }

    /// A date as date conditions take them, in seconds since the epoch: an epoch number, a day
    /// (`2026-11-29`, midnight UTC) or an ISO 8601 time as `HTTPDate.parseISO8601` reads them
    /// (`2026-11-29T20:00:00Z`, fractions and `+hh:mm` offsets allowed).
    static func date(_ text: String) -> Double? {
        let u = Array(text.utf8)
        let isDigit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        if !u.isEmpty, u.count <= 15, u.allSatisfy(isDigit) { return Double(text) }
        if u.count == 10, u[4] == 0x2D, u[7] == 0x2D, u[0..<4].allSatisfy(isDigit), u[5..<7].allSatisfy(isDigit),
            u[8..<10].allSatisfy(isDigit), let y = Int(text.prefix(4)), let mo = Int(text.dropFirst(5).prefix(2)),
            let d = Int(text.suffix(2))
        {
            return HTTPDate.epoch(y, mo, d, 0, 0, 0).map(Double.init)
        }
        return HTTPDate.parseISO8601(text)
    }
}
