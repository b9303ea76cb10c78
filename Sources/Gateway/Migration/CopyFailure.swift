/// Why a copy was given up; the reason goes into the run's report.
enum CopyFailure: Error, Equatable {
    /// The run is being stopped: the object is abandoned, nothing of it becomes visible.
    case cancelled
    /// The source's bytes do not match what it said about them.
    case mismatch(String)
}
