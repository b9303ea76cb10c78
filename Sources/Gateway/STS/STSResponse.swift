import GatewayCore
import S3Protocol

/// STS's XML answers (query protocol), as the API reference shows them:
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
extension STS {
    enum Response {
        struct AssumedRoleUser {
            let id: String
            let arn: String
        }

        static func getSessionToken(_ c: SessionIssuer.Issued, requestId: String) -> String {
            var x = XMLWriter()
            x.open("GetSessionTokenResponse", namespace: namespace)
            x.open("GetSessionTokenResult")
            credentials(&x, c)
            x.close("GetSessionTokenResult")
            metadata(&x, requestId)
            x.close("GetSessionTokenResponse")
            return x.document
        }

        static func assumeRole(
            _ c: SessionIssuer.Issued, user: AssumedRoleUser, policySize: Int?, requestId: String
        ) -> String {
            var x = XMLWriter()
            x.open("AssumeRoleResponse", namespace: namespace)
            x.open("AssumeRoleResult")
            x.open("AssumedRoleUser")
            x.element("AssumedRoleId", user.id)
            x.element("Arn", user.arn)
            x.close("AssumedRoleUser")
            credentials(&x, c)
            // Percent of the session policy's size limit used, as AWS reports it.
            if let policySize { x.element("PackedPolicySize", policySize) }
            x.close("AssumeRoleResult")
            metadata(&x, requestId)
            x.close("AssumeRoleResponse")
            return x.document
        }

        private static func credentials(_ x: inout XMLWriter, _ c: SessionIssuer.Issued) {
            x.open("Credentials")
            x.element("AccessKeyId", c.accessKey)
            x.element("SecretAccessKey", c.secret)
            x.element("SessionToken", c.token)
            x.element("Expiration", HTTPDate.iso8601(c.expiration))
            x.close("Credentials")
        }

        private static func metadata(_ x: inout XMLWriter, _ requestId: String) {
            x.open("ResponseMetadata")
            x.element("RequestId", requestId)
            x.close("ResponseMetadata")
        }

        /// https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html: `Sender` for
        /// the caller's mistakes, `Receiver` for the service's.
        static func error(_ e: S3Error, requestId: String) -> String {
            var x = XMLWriter()
            x.open("ErrorResponse", namespace: namespace)
            x.open("Error")
            x.element("Type", e.code.status >= 500 ? "Receiver" : "Sender")
            x.element("Code", e.code.code)
            x.element("Message", e.message)
            x.close("Error")
            x.element("RequestId", requestId)
            x.close("ErrorResponse")
            return x.document
        }
    }

    /// The S3 names of authentication failures that STS spells differently.
    static func onTheWire(_ e: S3Error) -> S3Error {
        switch e.code {
        case .invalidAccessKeyId: S3Error(.invalidClientTokenId)
        case .invalidToken: S3Error(.invalidClientTokenId)
        default: e
        }
    }
}
