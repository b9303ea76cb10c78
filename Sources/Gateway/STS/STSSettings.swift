/// `[sts]` in the configuration: bounds of the temporary credentials the gateway issues.
public struct STSSettings: Sendable, Equatable {
    /// The shortest DurationSeconds accepted. AWS's floor is 900 s; a test lowers it to watch a
    /// session expire without waiting a quarter of an hour.
    public var minDuration = 900
    /// AWS's ceiling for both GetSessionToken (IAM users) and AssumeRole: 12 hours.
    public let maxDuration = 43_200
    /// DurationSeconds when the request names none (AWS's default for AssumeRole; GetSessionToken
    /// defaults to 12 h there, one hour here: a leaked token should not outlive a working day).
    public let defaultDuration = 3600
    /// How long after expiry the agent keeps a session's row, so a request with a just-expired
    /// token is told ExpiredToken rather than that its key does not exist.
    public let retention = 3600.0

    public init(minDuration: Int = 900) { self.minDuration = minDuration }
}
