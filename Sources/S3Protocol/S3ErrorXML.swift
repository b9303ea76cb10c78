import GatewayCore

extension S3Error {
    /// The error document every failed request gets
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses).
    public func xml(resource fallbackResource: String, requestId: String) -> String {
        var x = XMLWriter()
        x.open("Error")
        x.element("Code", code.code)
        x.element("Message", message)
        x.element("Resource", resource ?? fallbackResource)
        for (name, value) in extra { x.element(name, value) }
        x.element("RequestId", requestId)
        x.element("HostId", requestId)
        x.close("Error")
        return x.document
    }
}
