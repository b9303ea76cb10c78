import Foundation
import GatewayCore

/// Parses a session policy (IAM JSON) into `SessionPolicy`. Elements it does not evaluate
/// (Condition, NotAction, NotResource, Principal) are refused with a reason, never ignored: a
/// policy that seems to narrow a session must narrow it.
public enum SessionPolicyParser {
    public struct Failure: Error, Equatable {
        public let reason: String
    }

    /// AWS's limit on a session policy's plain text.
    public static let maxLength = 2048

    public static func parse(_ text: String) -> Result<SessionPolicy, Failure> {
        func fail(_ reason: String) -> Result<SessionPolicy, Failure> { .failure(Failure(reason: reason)) }
        guard text.utf8.count <= maxLength else { return fail("the policy is longer than \(maxLength) characters") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let doc = json as? [String: Any]
        else { return fail("the policy is not a JSON object") }
        for key in doc.keys where !["Version", "Id", "Statement"].contains(key) {
            return fail("unknown policy element \(key)")
        }
        if let v = doc["Version"], (v as? String).map({ ["2012-10-17", "2008-10-17"].contains($0) }) != true {
            return fail("Version must be \"2012-10-17\"")
        }
        let raw: [Any]
        if let list = doc["Statement"] as? [Any] {
            raw = list
        } else if let one = doc["Statement"] as? [String: Any] {
            raw = [one]
        } else {
            return fail("the policy needs a Statement")
        }
        guard !raw.isEmpty else { return fail("the policy needs a Statement") }
        var statements: [SessionPolicy.Statement] = []
        for item in raw {
            guard let s = item as? [String: Any] else { return fail("a Statement must be an object") }
            for key in s.keys where !["Sid", "Effect", "Action", "Resource"].contains(key) {
                return fail("\(key) is not supported in session policies by this gateway")
            }
            guard let effect = s["Effect"] as? String, effect == "Allow" || effect == "Deny" else {
                return fail("Effect must be Allow or Deny")
            }
            guard let actions = strings(s["Action"]), !actions.isEmpty else {
                return fail("a Statement needs an Action")
            }
            guard let resources = strings(s["Resource"]), !resources.isEmpty else {
                return fail("a Statement needs a Resource")
            }
            for a in actions where a != "*" && a.split(separator: ":").count != 2 {
                return fail("action \(a) must look like s3:GetObject")
            }
            for r in resources where r != "*" && !r.hasPrefix("arn:") {
                return fail("resource \(r) must be an ARN (arn:aws:s3:::bucket/key) or *")
            }
            statements.append(.init(allow: effect == "Allow", actions: actions, resources: resources))
        }
        return .success(SessionPolicy(statements: statements))
    }

    /// A string or a list of strings; nil for anything else.
    private static func strings(_ value: Any?) -> [String]? {
        if let s = value as? String { return [s] }
        guard let list = value as? [Any] else { return nil }
        let out = list.compactMap { $0 as? String }
        return out.count == list.count ? out : nil
    }
}
