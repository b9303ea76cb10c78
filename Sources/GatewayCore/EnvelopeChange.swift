/// One re-wrapped data key for `MetadataStore.rewrapSSE`: the envelope of an object version or
/// of an unfinished multipart upload, replaced only while it still holds `from`.
public struct EnvelopeChange: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        /// An object version (the latest or a noncurrent one), by the seq it was written as.
        case version(bucket: String, key: String, versionSeq: String)
        /// An unfinished multipart upload (its parts share its data key).
        case upload(id: String)
    }

    public var target: Target
    public var from: String
    public var to: String

    public init(_ target: Target, from: String, to: String) {
        self.target = target
        self.from = from
        self.to = to
    }
}
