import GatewayCore

/// The `<ServerSideEncryptionConfiguration>` document of Put/GetBucketEncryption.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html
public enum DefaultEncryptionXML {
    /// What a PutBucketEncryption body asks for; the KMS key as named (id, ARN or alias), for
    /// the handler to resolve to a key of the bucket's tenant.
    public struct Request: Sendable, Equatable {
        public var algorithm: DefaultEncryption.Algorithm
        public var kmsKey: String?
        public var bucketKeyEnabled: Bool

        public init(algorithm: DefaultEncryption.Algorithm, kmsKey: String?, bucketKeyEnabled: Bool) {
            self.algorithm = algorithm
            self.kmsKey = kmsKey
            self.bucketKeyEnabled = bucketKeyEnabled
        }
    }

    /// One Rule with ApplyServerSideEncryptionByDefault/SSEAlgorithm (AES256 | aws:kms;
    /// aws:kms:dsse is NotImplemented), a KMSMasterKeyID only with aws:kms, an optional
    /// BucketKeyEnabled. Anything else is MalformedXML, as in S3.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> Request {
        guard let root = XMLNode.parse(bytes), root.name == "ServerSideEncryptionConfiguration" else {
            throw S3Error(.malformedXML)
        }
        try LifecycleXML.only(root, ["Rule"])
        guard let rule = root.child("Rule") else { throw S3Error(.malformedXML) }
        try LifecycleXML.only(rule, ["ApplyServerSideEncryptionByDefault", "BucketKeyEnabled"])
        guard let apply = rule.child("ApplyServerSideEncryptionByDefault") else { throw S3Error(.malformedXML) }
        try LifecycleXML.only(apply, ["SSEAlgorithm", "KMSMasterKeyID"])
        guard let algorithmNode = apply.child("SSEAlgorithm") else { throw S3Error(.malformedXML) }
        let name = LifecycleXML.trimmed(algorithmNode.text)
        guard let algorithm = DefaultEncryption.Algorithm(rawValue: name) else {
            if name == "aws:kms:dsse" {
                throw S3Error(
                    .notImplemented,
                    "Dual-layer server-side encryption (aws:kms:dsse) is not implemented by this gateway; use AES256 or aws:kms."
                )
            }
            throw S3Error(.malformedXML)
        }
        var kmsKey: String?
        if let keyNode = apply.child("KMSMasterKeyID") {
            let key = LifecycleXML.trimmed(keyNode.text)
            guard algorithm == .kms else {
                throw S3Error(
                    .invalidArgument,
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
                    extra: [("ArgumentName", "ApplyServerSideEncryptionByDefault")])
            }
            guard !key.isEmpty else {
                throw S3Error(
                    .invalidArgument, "KMSMasterKeyID must not be empty.",
                    extra: [("ArgumentName", "KMSMasterKeyID")])
            }
            kmsKey = key
        }
        var bucketKey = false
        if let node = rule.child("BucketKeyEnabled") {
            switch LifecycleXML.trimmed(node.text) {
            case "true": bucketKey = true
            case "false": bucketKey = false
            default: throw S3Error(.malformedXML)
            }
        }
        return Request(algorithm: algorithm, kmsKey: kmsKey, bucketKeyEnabled: bucketKey)
    }

    /// GetBucketEncryption's answer; `keyARN` names the configured key (nil: none named).
    public static func render(_ d: DefaultEncryption, keyARN: String?) -> String {
        var x = XMLWriter()
        x.open("ServerSideEncryptionConfiguration", namespace: XMLWriter.s3Namespace)
        x.open("Rule")
        x.open("ApplyServerSideEncryptionByDefault")
        x.element("SSEAlgorithm", d.algorithm.rawValue)
        if let keyARN { x.element("KMSMasterKeyID", keyARN) }
        x.close("ApplyServerSideEncryptionByDefault")
        x.element("BucketKeyEnabled", d.bucketKeyEnabled)
        x.close("Rule")
        x.close("ServerSideEncryptionConfiguration")
        return x.document
    }
}
