/// What the run answers when a worker asks it to copy a key now.
public enum ReadThroughAnswer: Sendable, Equatable {
    /// The object is in the gateway now (copied, or it was already).
    case copied
    /// The source has no such key either.
    case absent
    /// The run tried and could not (the reason is for the log, not the client).
    case failed(String)
    /// Nobody answered: the run ended without removing its route (crashed). Ignored.
    case unavailable
    /// The run did not answer within the bound (or could not even be reached within it).
    case timedOut
}
