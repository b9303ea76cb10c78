/// Time as a parameter, so tests pin it.
public protocol Clock: Sendable {
    /// Seconds since 1970.
    func now() -> Double
}
