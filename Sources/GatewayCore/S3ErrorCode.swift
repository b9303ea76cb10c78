/// The one table of S3 error codes this gateway returns (SigV4, handlers and stores alike): code, HTTP status, default message.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
public struct S3ErrorCode: Sendable, Hashable {
    public let code: String
    public let status: Int
    public let message: String

    private init(_ code: String, _ status: Int, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    public static let accessDenied = S3ErrorCode("AccessDenied", 403, "Access Denied")
    /// S3's answer to ACL writes on a bucket whose ACLs are disabled ("bucket owner enforced"):
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html
    public static let accessControlListNotSupported = S3ErrorCode(
        "AccessControlListNotSupported", 400, "The bucket does not allow ACLs")
    /// CreateBucket or PutBucketOwnershipControls asking for BucketOwnerEnforced with a bucket
    /// ACL that grants anyone but the owner (same page).
    public static let invalidBucketAclWithObjectOwnership = S3ErrorCode(
        "InvalidBucketAclWithObjectOwnership", 400,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
    /// CreateBucket with a public ACL while the new bucket's public access block has
    /// BlockPublicAcls (the default for new buckets).
    public static let invalidBucketAclWithBlockPublicAccess = S3ErrorCode(
        "InvalidBucketAclWithBlockPublicAccessError", 400,
        "Bucket cannot have public ACLs set with BlockPublicAccess enabled")
    /// PutBucketAcl / PutObjectAcl with an ACL both in headers and in the body.
    public static let unexpectedContent = S3ErrorCode(
        "UnexpectedContent", 400, "This request does not support content")
    public static let authorizationHeaderMalformed = S3ErrorCode(
        "AuthorizationHeaderMalformed", 400, "The authorization header is malformed.")
    public static let authorizationQueryParametersError = S3ErrorCode(
        "AuthorizationQueryParametersError", 400, "Error parsing the X-Amz-Credential parameter.")
    public static let badRequest = S3ErrorCode("BadRequest", 400, "Bad Request")
    public static let badDigest = S3ErrorCode(
        "BadDigest", 400, "The Content-MD5 or checksum you specified did not match what was received.")
    public static let bucketAlreadyExists = S3ErrorCode(
        "BucketAlreadyExists", 409, "The requested bucket name is not available.")
    public static let bucketAlreadyOwnedByYou = S3ErrorCode(
        "BucketAlreadyOwnedByYou", 409,
        "Your previous request to create the named bucket succeeded and you already own it.")
    public static let bucketNotEmpty = S3ErrorCode(
        "BucketNotEmpty", 409, "The bucket you tried to delete is not empty.")
    public static let entityTooSmall = S3ErrorCode(
        "EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
    public static let entityTooLarge = S3ErrorCode(
        "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size.")
    public static let incompleteBody = S3ErrorCode(
        "IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
    public static let internalError = S3ErrorCode(
        "InternalError", 500, "We encountered an internal error. Please try again.")
    public static let invalidAccessKeyId = S3ErrorCode(
        "InvalidAccessKeyId", 403, "The AWS access key ID you provided does not exist in our records.")
    public static let invalidArgument = S3ErrorCode("InvalidArgument", 400, "Invalid Argument")
    /// SSE-C with an algorithm other than AES256.
    public static let invalidEncryptionAlgorithm = S3ErrorCode(
        "InvalidEncryptionAlgorithmError", 400,
        "The encryption request that you specified is not valid. The valid value is AES256.")
    public static let invalidBucketState = S3ErrorCode(
        "InvalidBucketState", 409, "The request is not valid with the current state of the bucket.")
    public static let invalidStorageClass = S3ErrorCode(
        "InvalidStorageClass", 400, "The storage class you specified is not valid")
    public static let noSuchVersion = S3ErrorCode(
        "NoSuchVersion", 404, "The specified version does not exist.")
    public static let noSuchObjectLockConfiguration = S3ErrorCode(
        "NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration")
    public static let invalidBucketName = S3ErrorCode(
        "InvalidBucketName", 400, "The specified bucket is not valid.")
    public static let invalidChunkSizeError = S3ErrorCode(
        "InvalidChunkSizeError", 400, "Only the last chunk is allowed to have a size less than 8192 bytes")
    public static let invalidDigest = S3ErrorCode(
        "InvalidDigest", 400, "The Content-MD5 or checksum you specified is not valid.")
    public static let invalidLocationConstraint = S3ErrorCode(
        "InvalidLocationConstraint", 400, "The specified location-constraint is not valid.")
    public static let invalidPart = S3ErrorCode(
        "InvalidPart", 400,
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
    )
    public static let invalidPartNumber = S3ErrorCode(
        "InvalidPartNumber", 416, "The requested partnumber is not satisfiable")
    public static let invalidPartOrder = S3ErrorCode(
        "InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be ordered by part number.")
    public static let invalidRange = S3ErrorCode(
        "InvalidRange", 416, "The requested range is not satisfiable")
    public static let invalidRequest = S3ErrorCode("InvalidRequest", 400, "Invalid Request")
    public static let invalidTag = S3ErrorCode("InvalidTag", 400, "The tag provided was not a valid tag.")
    public static let invalidURI = S3ErrorCode("InvalidURI", 400, "Couldn't parse the specified URI.")
    public static let keyTooLong = S3ErrorCode("KeyTooLongError", 400, "Your key is too long")
    public static let malformedXML = S3ErrorCode(
        "MalformedXML", 400,
        "The XML you provided was not well-formed or did not validate against our published schema.")
    public static let metadataTooLarge = S3ErrorCode(
        "MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.")
    public static let methodNotAllowed = S3ErrorCode(
        "MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
    public static let missingContentLength = S3ErrorCode(
        "MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
    public static let noSuchBucket = S3ErrorCode("NoSuchBucket", 404, "The specified bucket does not exist")
    /// The global router's answer to every request it can route (docs/ROUTER.md), with the
    /// regional gateway in `Location` and `<Endpoint>`:
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingRouting.html
    public static let temporaryRedirect = S3ErrorCode(
        "TemporaryRedirect", 307,
        "Please re-send this request to the specified temporary endpoint. Continue to use the original request endpoint for future requests."
    )
    public static let noSuchKey = S3ErrorCode("NoSuchKey", 404, "The specified key does not exist.")
    public static let noSuchUpload = S3ErrorCode(
        "NoSuchUpload", 404,
        "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."
    )
    public static let operationAborted = S3ErrorCode(
        "OperationAborted", 409,
        "A conflicting conditional operation is currently in progress against this resource. Try again.")
    public static let notImplemented = S3ErrorCode(
        "NotImplemented", 501, "A header you provided implies functionality that is not implemented.")
    public static let preconditionFailed = S3ErrorCode(
        "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
    public static let requestTimeTooSkewed = S3ErrorCode(
        "RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
    public static let signatureDoesNotMatch = S3ErrorCode(
        "SignatureDoesNotMatch", 403,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    )
    public static let serviceUnavailable = S3ErrorCode(
        "ServiceUnavailable", 503, "Please reduce your request rate.")
    public static let slowDown = S3ErrorCode("SlowDown", 503, "Please reduce your request rate.")
    public static let xAmzContentSHA256Mismatch = S3ErrorCode(
        "XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."
    )
    public static let missingSecurityHeader = S3ErrorCode(
        "MissingSecurityHeader", 400, "Your request is missing a required header.")

    public static let invalidPolicyDocument = S3ErrorCode(
        "InvalidPolicyDocument", 400,
        "The content of the form does not meet the conditions specified in the policy document.")
    public static let malformedTrailerError = S3ErrorCode(
        "MalformedTrailerError", 400,
        "The request contained trailing data that was not well-formed or did not conform to our published schema.")
    /// PutBucketPolicy's answer to a document it cannot accept; the message is S3's reason.
    public static let malformedPolicy = S3ErrorCode("MalformedPolicy", 400, "This policy contains invalid Json")
    /// An AccessControlPolicy body that is not one (PutBucketAcl / PutObjectAcl).
    public static let malformedACLError = S3ErrorCode(
        "MalformedACLError", 400,
        "The XML you provided was not well-formed or did not validate against our published schema")
    /// An ACL grant to an e-mail address (the gateway's users have none).
    public static let unresolvableGrantByEmailAddress = S3ErrorCode(
        "UnresolvableGrantByEmailAddress", 400, "The email address you provided does not match any account on record.")
    public static let malformedPOSTRequest = S3ErrorCode(
        "MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data.")
    public static let incorrectNumberOfFilesInPostRequest = S3ErrorCode(
        "IncorrectNumberOfFilesInPostRequest", 400, "POST requires exactly one file upload per request.")
    public static let noSuchTagSet = S3ErrorCode("NoSuchTagSet", 404, "The TagSet does not exist")

    // "Not configured" answers of bucket sub-resources this gateway keeps nothing for.
    public static let noSuchBucketPolicy = S3ErrorCode("NoSuchBucketPolicy", 404, "The bucket policy does not exist")
    public static let noSuchCORSConfiguration = S3ErrorCode(
        "NoSuchCORSConfiguration", 404, "The CORS configuration does not exist")
    public static let noSuchLifecycleConfiguration = S3ErrorCode(
        "NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist")
    public static let serverSideEncryptionConfigurationNotFound = S3ErrorCode(
        "ServerSideEncryptionConfigurationNotFoundError", 404, "The server side encryption configuration was not found")
    public static let noSuchWebsiteConfiguration = S3ErrorCode(
        "NoSuchWebsiteConfiguration", 404, "The specified bucket does not have a website configuration")
    public static let objectLockConfigurationNotFound = S3ErrorCode(
        "ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket")
    public static let replicationConfigurationNotFound = S3ErrorCode(
        "ReplicationConfigurationNotFoundError", 404, "The replication configuration was not found")
    public static let ownershipControlsNotFound = S3ErrorCode(
        "OwnershipControlsNotFoundError", 404, "The bucket ownership controls were not found")
    public static let noSuchPublicAccessBlockConfiguration = S3ErrorCode(
        "NoSuchPublicAccessBlockConfiguration", 404, "The public access block configuration was not found")

    /// SSE-KMS key errors, as S3 passes KMS's through (400, code prefixed "KMS.").
    public static let kmsNotFound = S3ErrorCode("KMS.NotFoundException", 400, "Invalid keyId")
    public static let kmsDisabled = S3ErrorCode(
        "KMS.DisabledException", 400, "The request was rejected because the specified KMS key is not enabled.")

    /// Temporary credentials (STS, https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
    public static let expiredToken = S3ErrorCode("ExpiredToken", 400, "The provided token has expired.")
    public static let invalidToken = S3ErrorCode(
        "InvalidToken", 400, "The provided token is malformed or otherwise invalid.")
    /// STS's answers (query protocol).
    public static let malformedPolicyDocument = S3ErrorCode(
        "MalformedPolicyDocument", 400, "The policy document is malformed.")
    public static let validationError = S3ErrorCode(
        "ValidationError", 400, "The input fails to satisfy the constraints.")
    public static let invalidAction = S3ErrorCode(
        "InvalidAction", 400, "The action or operation requested is invalid. Verify that the action is typed correctly."
    )
    /// STS's names for an unknown access key or a bad session token, and an unsigned request.
    public static let invalidClientTokenId = S3ErrorCode(
        "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    public static let missingAuthenticationToken = S3ErrorCode(
        "MissingAuthenticationToken", 403, "Request is missing Authentication Token")

    // MARK: issue 13 cors
    /// A preflight (`OPTIONS`) the bucket's CORS rules do not allow (S3's text, its typo included);
    /// a missing bucket or one without rules are answered with `CORSText`'s.
    public static let accessForbidden = S3ErrorCode(
        "AccessForbidden", 403,
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
    )
    /// AccessForbidden's other texts, S3's as recorded against it (docs/ACCESS.md, "CORS").
    public enum CORSText {
        public static let bucketNotFound = "CORSResponse: Bucket not found"
        public static let notEnabled = "CORSResponse: CORS is not enabled for this bucket."
    }
    public static let missingRequestBodyError = S3ErrorCode("MissingRequestBodyError", 400, "Request Body is empty")

    public static let all: [S3ErrorCode] = [
        accessDenied, accessControlListNotSupported, authorizationHeaderMalformed, authorizationQueryParametersError,
        badRequest, badDigest,
        invalidBucketAclWithObjectOwnership, invalidBucketAclWithBlockPublicAccess, unexpectedContent,
        bucketAlreadyExists, bucketAlreadyOwnedByYou, bucketNotEmpty, entityTooSmall, entityTooLarge, incompleteBody,
        internalError, invalidAccessKeyId, invalidArgument, invalidBucketName, invalidChunkSizeError,
        invalidDigest, invalidLocationConstraint, invalidPart, invalidPartNumber, invalidPartOrder, invalidRange,
        invalidRequest,
        invalidTag,
        invalidURI, keyTooLong,
        malformedXML, metadataTooLarge, methodNotAllowed, missingContentLength, noSuchBucket, noSuchKey,
        noSuchUpload, operationAborted, notImplemented, preconditionFailed, requestTimeTooSkewed,
        signatureDoesNotMatch,
        serviceUnavailable, slowDown, xAmzContentSHA256Mismatch, missingSecurityHeader, invalidPolicyDocument,
        malformedTrailerError, malformedPOSTRequest, incorrectNumberOfFilesInPostRequest, noSuchTagSet,
        noSuchBucketPolicy, noSuchCORSConfiguration, noSuchLifecycleConfiguration,
        serverSideEncryptionConfigurationNotFound, noSuchWebsiteConfiguration, objectLockConfigurationNotFound,
        replicationConfigurationNotFound, ownershipControlsNotFound, noSuchPublicAccessBlockConfiguration,
        expiredToken, invalidToken, malformedPolicyDocument, validationError, invalidAction, invalidClientTokenId,
        missingAuthenticationToken, invalidBucketState, invalidStorageClass, noSuchVersion,
        noSuchObjectLockConfiguration, accessForbidden, missingRequestBodyError, malformedPolicy,
        unresolvableGrantByEmailAddress, malformedACLError, kmsNotFound, kmsDisabled,
        invalidEncryptionAlgorithm,
    ]
}

/// An S3 error as returned to the client; S3Protocol renders it as error XML.
public struct S3Error: Error, Sendable {
    public let code: S3ErrorCode
    public let message: String
    public let resource: String?
    /// Extra elements some errors carry (BucketName, Key, ...), in order.
    public let extra: [(String, String)]
    /// Seconds the client should wait before trying again (a `Retry-After` header), for the
    /// 503s that know.
    public let retryAfter: Int?
    /// Response headers the error answer carries besides the body (a delete marker's
    /// `x-amz-delete-marker`, `x-amz-version-id`, `Last-Modified`).
    public let headers: [Header]

    public init(
        _ code: S3ErrorCode, _ message: String? = nil, resource: String? = nil, extra: [(String, String)] = [],
        retryAfter: Int? = nil, headers: [Header] = []
    ) {
        self.headers = headers
        self.code = code
        self.message = message ?? code.message
        self.resource = resource
        self.extra = extra
        self.retryAfter = retryAfter
    }
}
