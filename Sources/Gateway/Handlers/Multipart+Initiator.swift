import GatewayCore
import S3Protocol

/// Who started a multipart upload (`UploadRecord.initiator`), and what that lets them do: S3
/// lets the initiator, besides the bucket owner, abort the upload and list its parts — a writer
/// of another tenant admitted by a policy or an ACL grant can clean up after itself without
/// being granted s3:AbortMultipartUpload. docs/ACCESS.md, "ACLs, ownership and public access block".
extension Handlers {
    /// The initiator of an upload started by an unsigned request (no canonical id).
    static let anonymousInitiator = "anonymous"

    /// The actions the initiator holds on its own upload.
    static let initiatorActions: Set<String> = ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]

    /// Whether the request's caller started the upload it names and may use the initiator's
    /// rights on it: its own permissions (another tenant's caller: on `<tenant>:<bucket>`, as
    /// it addresses the bucket) or, within the bucket's tenant, its session policy, must allow
    /// the action, as for any grant. Only asked after `Access.decide` found no grant and no
    /// explicit Deny.
    static func initiatorMay(_ r: S3Request, _ action: String, _ b: BucketRecord, _ ctx: GatewayContext) throws
        -> Bool
    {
        guard initiatorActions.contains(action), let p = r.principal, let key = r.key, let id = r.query["uploadId"],
            let upload = try ctx.metadata.upload(id: id), upload.bucket == b.name, upload.key == key,
            !upload.initiator.isEmpty, upload.initiator == p.user.id
        else { return false }
        if p.tenant == b.tenant {
            return p.session?.policy?.allows(action, on: .object(bucket: b.displayName, key: key)) ?? true
        }
        return p.allows(action, on: .object(bucket: b.tenant + ":" + b.displayName, key: key))
    }

    /// The Initiator and Owner elements of an upload in ListParts / ListMultipartUploads: who
    /// started it and who will own the object ('' both: the bucket owner).
    static func initiatorAndOwner(
        _ x: inout XMLWriter, _ upload: UploadRecord, _ b: BucketRecord, _ ctx: GatewayContext
    ) {
        let initiator = upload.initiator.isEmpty ? b.owner : upload.initiator
        x.open("Initiator")
        x.element("ID", initiator)
        x.element("DisplayName", ctx.identities.displayName(ofUser: initiator))
        x.close("Initiator")
        owner(&x, upload.owner.isEmpty ? b.owner : upload.owner, ctx)
    }
}
