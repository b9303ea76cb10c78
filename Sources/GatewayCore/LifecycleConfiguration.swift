/// A bucket's lifecycle configuration (PutBucketLifecycleConfiguration), as validated: the rules
/// the agent's lifecycle runner applies and `x-amz-expiration` answers from. S3Protocol reads it
/// from and renders it to XML (`LifecycleXML`); the store keeps that canonical XML.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
public struct LifecycleConfiguration: Sendable, Equatable {
    /// S3's limit, not adjustable.
    public static let maxRules = 1000
    public static let maxIdLength = 255
    public static let maxNewerNoncurrentVersions = 100

    public var rules: [LifecycleRule]

    public init(rules: [LifecycleRule]) { self.rules = rules }

    /// S3's checks beyond the XML's shape, with its error codes and messages.
    public func validate() throws(S3Error) {
        guard !rules.isEmpty, rules.count <= Self.maxRules else {
            throw S3Error(.malformedXML)
        }
        var ids = Set<String>()
        for rule in rules {
            try rule.validate()
            if !rule.id.isEmpty && !ids.insert(rule.id).inserted {
                throw S3Error(.invalidArgument, "Rule ID must be unique. Found same ID for more than one rule")
            }
        }
    }

    /// Every rule's id, in order (the audit record's `rule_ids`).
    public var ruleIds: [String] { rules.map(\.id) }
}

public struct LifecycleRule: Sendable, Equatable {
    /// "" when the client gave none (S3 then makes one up; so does the parser).
    public var id: String
    public var enabled: Bool
    public var filter: LifecycleFilter
    public var expiration: LifecycleExpiration?
    public var noncurrentExpiration: NoncurrentVersionExpiration?
    /// AbortIncompleteMultipartUpload's DaysAfterInitiation.
    public var abortIncompleteUploadDays: Int?

    public init(
        id: String, enabled: Bool = true, filter: LifecycleFilter = LifecycleFilter(),
        expiration: LifecycleExpiration? = nil, noncurrentExpiration: NoncurrentVersionExpiration? = nil,
        abortIncompleteUploadDays: Int? = nil
    ) {
        self.id = id
        self.enabled = enabled
        self.filter = filter
        self.expiration = expiration
        self.noncurrentExpiration = noncurrentExpiration
        self.abortIncompleteUploadDays = abortIncompleteUploadDays
    }

    func validate() throws(S3Error) {
        if id.count > LifecycleConfiguration.maxIdLength {
            throw S3Error(.invalidArgument, "ID length should not exceed allowed limit of 255")
        }
        guard expiration != nil || noncurrentExpiration != nil || abortIncompleteUploadDays != nil else {
            throw S3Error(.invalidRequest, "At least one action needs to be specified in a rule")
        }
        try filter.validate()
        if let e = expiration {
            switch e {
            case .days(let d) where d <= 0:
                throw S3Error(.invalidArgument, "'Days' for Expiration action must be a positive integer")
            case .date(let t) where t.truncatingRemainder(dividingBy: 86_400) != 0:
                throw S3Error(.invalidArgument, "'Date' must be at midnight GMT")
            case .expiredObjectDeleteMarker where !filter.tags.isEmpty:
                throw S3Error(.invalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Tags.")
            case .expiredObjectDeleteMarker where filter.hasSize:
                // A delete marker has no size: S3 offers neither action with a size filter.
                throw S3Error(.invalidRequest, "ExpiredObjectDeleteMarker cannot be specified with ObjectSize filters.")
            default: break
            }
        }
        if let n = noncurrentExpiration {
            if n.noncurrentDays <= 0 {
                throw S3Error(
                    .invalidArgument,
                    "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
            }
            if let keep = n.newerNoncurrentVersions,
                keep < 1 || keep > LifecycleConfiguration.maxNewerNoncurrentVersions
            {
                throw S3Error(
                    .invalidArgument,
                    "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to 100"
                )
            }
        }
        if let d = abortIncompleteUploadDays {
            if d <= 0 {
                throw S3Error(
                    .invalidArgument,
                    "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
            }
            if !filter.tags.isEmpty {
                throw S3Error(.invalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags.")
            }
            if filter.hasSize {
                // An upload has no size yet: the filter would match every upload under the prefix.
                throw S3Error(
                    .invalidRequest, "AbortIncompleteMultipartUpload cannot be specified with ObjectSize filters.")
            }
        }
    }
}

/// Which objects a rule applies to: every condition set must hold (an empty filter: all).
public struct LifecycleFilter: Sendable, Equatable {
    /// How the client wrote it, so GET renders it back in the same shape.
    public enum Shape: Sendable, Equatable {
        /// The rule-level `<Prefix>` of the original API.
        case legacyPrefix
        /// `<Filter>` with at most one condition directly inside.
        case single
        /// `<Filter><And>…</And></Filter>`.
        case and
    }

    public var shape: Shape
    public var prefix: String?
    public var tags: [Header]
    public var sizeGreaterThan: Int64?
    public var sizeLessThan: Int64?

    public init(
        shape: Shape = .single, prefix: String? = nil, tags: [Header] = [], sizeGreaterThan: Int64? = nil,
        sizeLessThan: Int64? = nil
    ) {
        self.shape = shape
        self.prefix = prefix
        self.tags = tags
        self.sizeGreaterThan = sizeGreaterThan
        self.sizeLessThan = sizeLessThan
    }

    func validate() throws(S3Error) {
        if let g = sizeGreaterThan, g < 0 {
            throw S3Error(.invalidArgument, "'ObjectSizeGreaterThan' must be a non-negative integer")
        }
        if let l = sizeLessThan, l <= 0 {
            throw S3Error(.invalidArgument, "'ObjectSizeLessThan' must be a positive integer")
        }
        if let g = sizeGreaterThan, let l = sizeLessThan, g >= l {
            throw S3Error(.invalidArgument, "ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
        }
        var keys = Set<String>()
        for t in tags {
            if t.name.isEmpty || t.name.count > 128 {
                throw S3Error(.invalidArgument, "The TagKey you have provided is invalid")
            }
            if t.value.count > 256 { throw S3Error(.invalidArgument, "The TagValue you have provided is invalid") }
            if !keys.insert(t.name).inserted { throw S3Error(.invalidRequest, "Duplicate Tag Keys are not allowed.") }
        }
    }

    /// ObjectSizeGreaterThan or ObjectSizeLessThan is set.
    var hasSize: Bool { sizeGreaterThan != nil || sizeLessThan != nil }

    /// Whether an object with this key, size and tags is one the rule applies to.
    public func matches(key: String, size: Int64, tags objectTags: [Header]) -> Bool {
        if let prefix, !key.hasPrefix(prefix) { return false }
        if let g = sizeGreaterThan, !(size > g) { return false }
        if let l = sizeLessThan, !(size < l) { return false }
        for t in tags where !objectTags.contains(t) { return false }
        return true
    }
}

/// The Expiration action: exactly one of its three forms.
public enum LifecycleExpiration: Sendable, Equatable {
    /// Current versions expire this many days after they were written (midnight rule).
    case days(Int)
    /// Current versions expire from this midnight UTC on (seconds since 1970).
    case date(Double)
    /// Removes a delete marker that is the key's only version left (`false`: does nothing but
    /// is kept as written).
    case expiredObjectDeleteMarker(Bool)
}

public struct NoncurrentVersionExpiration: Sendable, Equatable {
    /// Days after the version became noncurrent (midnight rule).
    public var noncurrentDays: Int
    /// The newest noncurrent versions kept whatever their age (nil: none kept).
    public var newerNoncurrentVersions: Int?

    public init(noncurrentDays: Int, newerNoncurrentVersions: Int? = nil) {
        self.noncurrentDays = noncurrentDays
        self.newerNoncurrentVersions = newerNoncurrentVersions
    }
}
