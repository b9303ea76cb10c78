import Foundation
import GatewayTesting
import SigV4

extension TestGateway {
    /// A browser POST form to `bucket`, signed with SigV2 by `accessKey`/`secret`, whose policy
    /// allows every given field; the file part holds `file`.
    func postForm(
        bucket: String, _ fields: [String: String], accessKey: String = TestGateway.accessKey,
        secret: String = TestGateway.secretKey, file: String = "bytes"
    ) -> Response {
        let conditions =
            fields.keys.sorted().map { "[\"starts-with\", \"$\($0)\", \"\"]" } + ["{\"bucket\": \"\(bucket)\"}"]
        let json = "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [\(conditions.joined(separator: ","))]}"
        let policy = Data(json.utf8).base64EncodedString()
        var all = fields
        all["policy"] = policy
        all["AWSAccessKeyId"] = accessKey
        all["signature"] = Signer.signatureV2(secretKey: secret, stringToSign: policy)
        let boundary = "----form"
        var body = ""
        for (name, value) in all.sorted(by: { $0.key < $1.key }) {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n\(file)\r\n"
        body += "--\(boundary)--\r\n"
        return send(
            "POST", "/\(bucket)", body: Array(body.utf8),
            headers: [("content-type", "multipart/form-data; boundary=\(boundary)")], sign: false)
    }
}
