/// A bucket's versioning state (PutBucketVersioning). Once Enabled a bucket never goes back to
/// unversioned: only Enabled ↔ Suspended.
public enum Versioning: String, Sendable, Equatable {
    /// Never configured: every write replaces the key's one (null) version.
    case unversioned = ""
    /// Every write adds a version with its own id; DELETE adds a delete marker.
    case enabled = "Enabled"
    /// Writes replace the key's null version; other versions stay.
    case suspended = "Suspended"
}
