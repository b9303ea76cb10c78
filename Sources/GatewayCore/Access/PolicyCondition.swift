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
    /// Lowercased (keys are case-insensitive).
    public var key: String
    public var values: [String]

    public init(op: Operator, qualifier: SetQualifier = .none, ifExists: Bool = false, key: String, values: [String]) {
        self.op = op
        self.qualifier = qualifier
        self.ifExists = ifExists
        self.key = key.lowercased()
        self.values = values
    }

    /// Reads a condition type as written (`ForAnyValue:StringLikeIfExists`); nil when it is not
    /// one (including `NullIfExists`, which IAM does not define).
    public static func type(_ written: String) -> (Operator, SetQualifier, Bool)? {
        var rest = Substring(written)
        var qualifier = SetQualifier.none
        for q in [SetQualifier.forAnyValue, .forAllValues] where rest.hasPrefix(q.rawValue + ":") {
            qualifier = q
            rest = rest.dropFirst(q.rawValue.count + 1)
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

    /// The condition against one request's context. A missing key makes the condition false,
    /// except: `…IfExists` (true), the negated operators (true: nothing matches), `ForAllValues`
    /// (true: every one of no values matches) and `Null` (which tests presence).
    public func evaluate(_ context: PolicyContext) -> Bool {
        let present = context[key]
        if op == .null {
            let wantsMissing = values.first?.lowercased() == "true"
            return (present == nil) == wantsMissing
        }
        guard let present else { return ifExists || qualifier == .forAllValues || op.isNegated }
        let test: (String) -> Bool = { v in op.isNegated ? !matches(v) : matches(v) }
        switch qualifier {
        case .forAllValues: return present.allSatisfy(test)
        case .forAnyValue: return present.contains(where: test)
        case .none:
            // A single-valued key; were it to carry several values, a positive operator holds
            // when one matches, a negated one when none does.
            return op.isNegated ? !present.contains(where: matches) : present.contains(where: matches)
        }
    }

    /// Whether one context value matches one of the condition's values under the positive
    /// form of the operator.
    func matches(_ v: String) -> Bool {
        switch op.positive {
        case .stringEquals, .binaryEquals: return values.contains(v)
        case .stringEqualsIgnoreCase:
            let l = v.lowercased()
            return values.contains { $0.lowercased() == l }
        case .stringLike: return values.contains { PermissionSet.globMatch($0, v) }
        case .numericEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan, .numericGreaterThanEquals:
            guard let n = Self.number(v) else { return false }
            return values.contains { Self.number($0).map { compare(n, $0) } ?? false }
        case .dateEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            guard let d = Self.date(v) else { return false }
            return values.contains { Self.date($0).map { compare(d, $0) } ?? false }
        case .bool: return values.contains { $0.lowercased() == v.lowercased() }
        case .ipAddress: return values.contains { CIDR($0)?.contains(v) ?? false }
        case .arnEquals, .arnLike: return values.contains { Self.arnMatch($0, v) }
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
    static func arnMatch(_ pattern: String, _ arn: String) -> Bool {
        let p = pattern.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        let a = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard p.count == 6, a.count == 6 else { return false }
        return zip(p, a).allSatisfy { PermissionSet.globMatch(String($0), String($1)) }
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
    /// (`2026-11-29`, midnight UTC) or an ISO 8601 time (`2026-11-29T20:00:00Z`, fractions and
    /// `+hh:mm` offsets allowed).
    static func date(_ text: String) -> Double? {
        let u = Array(text.utf8)
        if !u.isEmpty, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return Double(text) }
        func int(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= u.count else { return nil }
            var v = 0
            for b in u[from..<from + n] {
                guard b >= 0x30, b <= 0x39 else { return nil }
                v = v * 10 + Int(b - 0x30)
            }
            return v
        }
        guard u.count >= 10, let y = int(0, 4), u[4] == 0x2D, let mo = int(5, 2), u[7] == 0x2D, let d = int(8, 2)
        else { return nil }
        if u.count == 10 { return HTTPDate.epoch(y, mo, d, 0, 0, 0).map(Double.init) }
        guard u.count >= 20, u[10] == 0x54 || u[10] == 0x74, let h = int(11, 2), u[13] == 0x3A, let mi = int(14, 2),
            u[16] == 0x3A, let s = int(17, 2), let seconds = HTTPDate.epoch(y, mo, d, h, mi, s)
        else { return nil }
        var at = 19
        var fraction = 0.0
        if u[at] == 0x2E {
            at += 1
            var scale = 0.1
            let start = at
            while at < u.count, u[at] >= 0x30, u[at] <= 0x39 {
                fraction += Double(u[at] - 0x30) * scale
                scale /= 10
                at += 1
            }
            guard at > start else { return nil }
        }
        var offset = 0
        if at == u.count - 1, u[at] == 0x5A || u[at] == 0x7A {
            offset = 0
        } else if at + 6 == u.count, u[at] == 0x2B || u[at] == 0x2D, let oh = int(at + 1, 2), u[at + 3] == 0x3A,
            let om = int(at + 4, 2)
        {
            offset = (oh * 3600 + om * 60) * (u[at] == 0x2D ? -1 : 1)
        } else {
            return nil
        }
        return Double(seconds - offset) + fraction
    }
}
