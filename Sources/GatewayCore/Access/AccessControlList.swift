/// An S3 access control list: grants of READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL to a
/// user (canonical id = UserRecord.id) or to one of S3's groups. Stored per bucket and per
/// object version (`encoded`), applied by `Access.decide` unless the bucket's Object Ownership
/// is BucketOwnerEnforced. The resource's owner is kept beside it, not in it.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
public struct AccessControlList: Sendable, Equatable {
    public enum Permission: String, Sendable, CaseIterable {
        case read = "READ"
        case write = "WRITE"
        case readACP = "READ_ACP"
        case writeACP = "WRITE_ACP"
        case fullControl = "FULL_CONTROL"
    }

    public enum Group: String, Sendable, CaseIterable {
        case allUsers = "AllUsers"
        case authenticatedUsers = "AuthenticatedUsers"
        case logDelivery = "LogDelivery"

        public var uri: String {
            switch self {
            case .allUsers: "http://acs.amazonaws.com/groups/global/AllUsers"
            case .authenticatedUsers: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
            case .logDelivery: "http://acs.amazonaws.com/groups/s3/LogDelivery"
            }
        }

        public init?(uri: String) {
            guard let g = Self.allCases.first(where: { $0.uri == uri }) else { return nil }
            self = g
        }
    }

    public enum Grantee: Sendable, Hashable {
        /// A user by canonical id.
        case user(String)
        case group(Group)
    }

    public struct Grant: Sendable, Hashable {
        public var grantee: Grantee
        public var permission: Permission
        public init(_ grantee: Grantee, _ permission: Permission) {
            self.grantee = grantee
            self.permission = permission
        }
    }

    /// In the order given (GET ?acl answers them so), without duplicates.
    public var grants: [Grant]

    public init(_ grants: [Grant]) {
        var seen: Set<Grant> = []
        self.grants = grants.filter { seen.insert($0).inserted }
    }

    /// The `private` ACL: the owner has FULL_CONTROL, nobody else anything. What a resource
    /// without a stored ACL ('') has.
    public static func owner(_ id: String) -> AccessControlList { AccessControlList([Grant(.user(id), .fullControl)]) }

    // MARK: - Canned ACLs

    public static let cannedNames = [
        "private", "public-read", "public-read-write", "authenticated-read", "bucket-owner-read",
        "bucket-owner-full-control", "log-delivery-write", "aws-exec-read",
    ]

    /// The grants of a canned ACL (`x-amz-acl`) on a resource owned by `owner` in a bucket owned
    /// by `bucketOwner` (for a bucket, both are its owner: bucket-owner-read and
    /// bucket-owner-full-control then grant the owner alone, as S3 ignores them on buckets).
    /// aws-exec-read's extra grant goes to an AWS service account the gateway does not have, so
    /// it is `private` here. An unknown name is 400 InvalidArgument.
    public static func canned(_ name: String, owner: String, bucketOwner: String) throws(S3Error) -> AccessControlList {
        let base = Grant(.user(owner), .fullControl)
        switch name {
        case "private", "aws-exec-read": return AccessControlList([base])
        case "public-read": return AccessControlList([base, Grant(.group(.allUsers), .read)])
        case "public-read-write":
            return AccessControlList([base, Grant(.group(.allUsers), .read), Grant(.group(.allUsers), .write)])
        case "authenticated-read": return AccessControlList([base, Grant(.group(.authenticatedUsers), .read)])
        case "bucket-owner-read": return AccessControlList([base, Grant(.user(bucketOwner), .read)])
        case "bucket-owner-full-control": return AccessControlList([base, Grant(.user(bucketOwner), .fullControl)])
        case "log-delivery-write":
            return AccessControlList([
                base, Grant(.group(.logDelivery), .write), Grant(.group(.logDelivery), .readACP),
            ])
        default: throw S3Error(.invalidArgument, "Invalid canned ACL: \(name)")
        }
    }

    // MARK: - Grant headers

    /// S3's limit on the grants of one ACL; more (in headers or XML) is 400 MalformedACLError,
    /// as S3 answers.
    public static let maxGrants = 100

    /// The headers an ACL may come in, by permission.
    public static let grantHeaders: [(String, Permission)] = [
        ("x-amz-grant-read", .read), ("x-amz-grant-write", .write), ("x-amz-grant-read-acp", .readACP),
        ("x-amz-grant-write-acp", .writeACP), ("x-amz-grant-full-control", .fullControl),
    ]

    /// The ACL a request's headers ask for: a canned `x-amz-acl`, or `x-amz-grant-*` lists
    /// (`id="…", uri="…", emailAddress="…"`); nil when it sends neither. `header` looks a
    /// request header up by lowercased name; `userExists` resolves canonical ids.
    /// Errors as S3's: both forms ⇒ InvalidRequest; an unknown id ⇒ InvalidArgument "Invalid
    /// id"; an e-mail grantee ⇒ UnresolvableGrantByEmailAddress (users here have no e-mail).
    /// Grant headers replace the whole ACL, so the owner keeps access only if a header names
    /// them, as in S3.
    public static func fromHeaders(
        _ header: (String) -> String?, owner: String, bucketOwner: String, userExists: (String) -> Bool
    ) throws(S3Error) -> AccessControlList? {
        let canned = header("x-amz-acl")
        let listed = grantHeaders.compactMap { h, p in header(h).map { ($0, p) } }
        if canned != nil && !listed.isEmpty {
            throw S3Error(.invalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed")
        }
        if let canned { return try Self.canned(canned, owner: owner, bucketOwner: bucketOwner) }
        guard !listed.isEmpty else { return nil }
        // Counted before any id is looked up.
        let count = listed.reduce(0) { $0 + $1.0.split(separator: ",").count }
        if count > maxGrants { throw S3Error(.malformedACLError) }
        var grants: [Grant] = []
        for (value, permission) in listed {
            for grantee in try granteeList(value, userExists: userExists) {
                grants.append(Grant(grantee, permission))
            }
        }
        return AccessControlList(grants)
    }

    /// `id="a", uri="http://…", emailAddress="x@y"`: a comma-separated list of type=value
    /// pairs, values quoted or not.
    static func granteeList(_ value: String, userExists: (String) -> Bool) throws(S3Error) -> [Grantee] {
        var out: [Grantee] = []
        for item in value.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { throw S3Error(.invalidArgument, "Argument format not recognized") }
            let kind = pair[0].trimmedOfBlanks.lowercased()
            var v = pair[1].trimmedOfBlanks
            if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            out.append(try grantee(kind: kind, value: v, userExists: userExists))
        }
        return out
    }

    /// One grantee by its type (`id`, `uri`, `emailaddress`, lowercased) and value; shared by
    /// the header and XML forms.
    public static func grantee(kind: String, value: String, userExists: (String) -> Bool) throws(S3Error) -> Grantee {
        switch kind {
        case "id":
            guard userExists(value) else { throw S3Error(.invalidArgument, "Invalid id") }
            return .user(value)
        case "uri":
            guard let g = Group(uri: value) else { throw S3Error(.invalidArgument, "Invalid group uri") }
            return .group(g)
        case "emailaddress": throw S3Error(.unresolvableGrantByEmailAddress)
        default: throw S3Error(.invalidArgument, "Argument format not recognized")
        }
    }

    // MARK: - Stored form

    /// Compact and stable: `PERMISSION=u:<id>` or `PERMISSION=g:<group>` joined by `,`
    /// (`FULL_CONTROL=u:3f…,READ=g:AllUsers`). Canonical ids are hex, group names fixed.
    public var encoded: String {
        grants.map { g in
            switch g.grantee {
            case .user(let id): "\(g.permission.rawValue)=u:\(id)"
            case .group(let group): "\(g.permission.rawValue)=g:\(group.rawValue)"
            }
        }.joined(separator: ",")
    }

    /// The stored ACL of a resource owned by `owner` ('' = private); nil when the text is not
    /// one `encoded` writes.
    public static func decode(_ text: String, owner: String) -> AccessControlList? {
        guard !text.isEmpty else { return Self.owner(owner) }
        var grants: [Grant] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let p = Permission(rawValue: String(pair[0])) else { return nil }
            let who = pair[1]
            if who.hasPrefix("u:"), who.count > 2 {
                grants.append(Grant(.user(String(who.dropFirst(2))), p))
            } else if who.hasPrefix("g:"), let g = Group(rawValue: String(who.dropFirst(2))) {
                grants.append(Grant(.group(g), p))
            } else {
                return nil
            }
        }
        return AccessControlList(grants)
    }

    // MARK: - Questions

    /// Whether it grants anything to everyone or to every signed-in caller (S3's "public" ACL:
    /// BlockPublicAcls refuses it, IgnorePublicAcls ignores those grants).
    public var isPublic: Bool { grants.contains { Self.isPublic($0.grantee) } }

    static func isPublic(_ g: Grantee) -> Bool { g == .group(.allUsers) || g == .group(.authenticatedUsers) }

    /// Whether it is what the `bucket-owner-full-control` canned ACL yields on an object owned by
    /// `objectOwner`: FULL_CONTROL to the bucket owner and to the object owner only. What
    /// BucketOwnerEnforced accepts, and what makes BucketOwnerPreferred hand the object over.
    public func isBucketOwnerFullControl(bucketOwner: String, objectOwner: String) -> Bool {
        Set(grants) == Set([Grant(.user(bucketOwner), .fullControl), Grant(.user(objectOwner), .fullControl)])
    }

    /// Whether it grants only the owner FULL_CONTROL (`private`).
    public func isPrivate(owner: String) -> Bool { Set(grants) == [Grant(.user(owner), .fullControl)] }

    /// The permissions it gives `caller`: the user's own grants, AllUsers' for everyone,
    /// AuthenticatedUsers' for any signed-in caller of any tenant. `ignorePublic` drops the
    /// group grants (IgnorePublicAcls). FULL_CONTROL stands for all four.
    public func permissions(of caller: Caller, ignorePublic: Bool = false) -> Set<Permission> {
        var out: Set<Permission> = []
        for g in grants {
            let applies: Bool
            switch g.grantee {
            case .user(let id): applies = caller.principal?.user.id == id
            case .group(.allUsers): applies = !ignorePublic
            case .group(.authenticatedUsers): applies = !ignorePublic && caller.principal != nil
            case .group(.logDelivery): applies = false
            }
            guard applies else { continue }
            if g.permission == .fullControl {
                out.formUnion([.read, .write, .readACP, .writeACP, .fullControl])
            } else {
                out.insert(g.permission)
            }
        }
        return out
    }
}

extension Substring {
    fileprivate var trimmedOfBlanks: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
