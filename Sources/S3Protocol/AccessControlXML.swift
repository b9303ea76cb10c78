import GatewayCore

/// The XML forms of the access settings: AccessControlPolicy (Put/Get Bucket/Object Acl),
/// PublicAccessBlockConfiguration and OwnershipControls. Parsing lives here because the XML
/// reader (`XMLNode`) does; the models are GatewayCore's.
public enum AccessControlXML {
    static let xsi = "http://www.w3.org/2001/XMLSchema-instance"

    static func text(_ n: XMLNode?) -> String? {
        n.map { LifecycleXML.trimmed($0.text) }
    }

    /// A PutBucketAcl / PutObjectAcl body: the Owner ID it names (nil when none) and the
    /// grants. A grantee is told apart by what it holds (ID, URI or EmailAddress), as the
    /// reader does not keep `xsi:type`. Not an AccessControlPolicy, a grant without grantee
    /// or permission, or an unknown permission ⇒ MalformedACLError; grantee errors as
    /// `AccessControlList.grantee` (InvalidArgument "Invalid id", UnresolvableGrantByEmailAddress…).
    public static func parsePolicy(_ bytes: [UInt8], userExists: (String) -> Bool) throws(S3Error) -> (
        owner: String?, acl: AccessControlList
    ) {
        guard let root = XMLNode.parse(bytes), root.name == "AccessControlPolicy",
            let list = root.child("AccessControlList")
        else { throw S3Error(.malformedACLError) }
        // Counted before any id is looked up.
        let listed = list.children("Grant")
        if listed.count > AccessControlList.maxGrants { throw S3Error(.malformedACLError) }
        var grants: [AccessControlList.Grant] = []
        for g in listed {
            guard let grantee = g.child("Grantee"), let p = text(g.child("Permission")),
                let permission = AccessControlList.Permission(rawValue: p)
            else { throw S3Error(.malformedACLError) }
            let kinds: [(String, String)] = [("ID", "id"), ("URI", "uri"), ("EmailAddress", "emailaddress")]
            guard let (element, kind) = kinds.first(where: { grantee.child($0.0) != nil }),
                let value = text(grantee.child(element)), !value.isEmpty
            else { throw S3Error(.malformedACLError) }
            grants.append(
                .init(try AccessControlList.grantee(kind: kind, value: value, userExists: userExists), permission))
        }
        return (text(root.child("Owner")?.child("ID")), AccessControlList(grants))
    }

    /// GetBucketAcl / GetObjectAcl's answer for a resource owned by `owner`; `displayName`
    /// names a canonical user id.
    public static func policy(_ acl: AccessControlList, owner: String, displayName: (String) -> String) -> String {
        var x = XMLWriter()
        x.open("AccessControlPolicy", namespace: XMLWriter.s3Namespace)
        x.open("Owner")
        x.element("ID", owner)
        x.element("DisplayName", displayName(owner))
        x.close("Owner")
        x.open("AccessControlList")
        for g in acl.grants {
            x.open("Grant")
            switch g.grantee {
            case .user(let id):
                x.openRaw("<Grantee xmlns:xsi=\"\(xsi)\" xsi:type=\"CanonicalUser\">")
                x.element("ID", id)
                x.element("DisplayName", displayName(id))
            case .group(let group):
                x.openRaw("<Grantee xmlns:xsi=\"\(xsi)\" xsi:type=\"Group\">")
                x.element("URI", group.uri)
            }
            x.close("Grantee")
            x.element("Permission", g.permission.rawValue)
            x.close("Grant")
        }
        x.close("AccessControlList")
        x.close("AccessControlPolicy")
        return x.document
    }

    /// A PutPublicAccessBlock body; unknown or repeated elements, or values other than
    /// true/false ⇒ MalformedXML.
    public static func parsePublicAccessBlock(_ bytes: [UInt8]) throws(S3Error) -> PublicAccessBlock {
        guard let root = XMLNode.parse(bytes), root.name == "PublicAccessBlockConfiguration" else {
            throw S3Error(.malformedXML)
        }
        let names = Set(PublicAccessBlock.none.elements.map(\.0))
        var values: [String: String] = [:]
        for c in root.children {
            guard names.contains(c.name), values[c.name] == nil else { throw S3Error(.malformedXML) }
            values[c.name] = text(c) ?? ""
        }
        return try PublicAccessBlock.from(elements: values)
    }

    /// GetPublicAccessBlock's answer.
    public static func publicAccessBlock(_ pab: PublicAccessBlock) -> String {
        var x = XMLWriter()
        x.open("PublicAccessBlockConfiguration", namespace: XMLWriter.s3Namespace)
        for (name, value) in pab.elements { x.element(name, value) }
        x.close("PublicAccessBlockConfiguration")
        return x.document
    }

    /// A PutBucketOwnershipControls body: exactly one Rule with a known ObjectOwnership, else
    /// MalformedXML.
    public static func parseOwnershipControls(_ bytes: [UInt8]) throws(S3Error) -> ObjectOwnership {
        guard let root = XMLNode.parse(bytes), root.name == "OwnershipControls", root.children.count == 1,
            let rule = root.child("Rule"), rule.children.count == 1,
            let value = text(rule.child("ObjectOwnership")), let o = ObjectOwnership(rawValue: value)
        else { throw S3Error(.malformedXML) }
        return o
    }

    /// GetBucketOwnershipControls' answer.
    public static func ownershipControls(_ o: ObjectOwnership) -> String {
        var x = XMLWriter()
        x.open("OwnershipControls", namespace: XMLWriter.s3Namespace)
        x.open("Rule")
        x.element("ObjectOwnership", o.rawValue)
        x.close("Rule")
        x.close("OwnershipControls")
        return x.document
    }

    /// GetBucketPolicyStatus' answer (`BucketPolicy.isPublic`).
    public static func policyStatus(isPublic: Bool) -> String {
        var x = XMLWriter()
        x.open("PolicyStatus", namespace: XMLWriter.s3Namespace)
        x.element("IsPublic", isPublic)
        x.close("PolicyStatus")
        return x.document
    }
}

extension AccessControlList {
    /// GetBucketAcl / GetObjectAcl's answer (`AccessControlXML.policy`).
    public func xml(owner: String, displayName: (String) -> String) -> String {
        AccessControlXML.policy(self, owner: owner, displayName: displayName)
    }
}

extension PublicAccessBlock {
    /// GetPublicAccessBlock's answer.
    public var xml: String { AccessControlXML.publicAccessBlock(self) }
}

extension ObjectOwnership {
    /// GetBucketOwnershipControls' answer.
    public var xml: String { AccessControlXML.ownershipControls(self) }
}
