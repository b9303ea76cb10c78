/// `[audit]`: how often digests are signed, where their files go, and how many authentication
/// failures a process records per minute (docs/OBSERVABILITY.md, "Audit chain").
public struct AuditSettings: Sendable, Equatable {
    /// False: no change appends a record (only for measuring the chain's cost, bench/); the
    /// supervisor appends an `audit.disabled` record at every start with it off, so the gap
    /// is on the record.
    public var enabled = true
    /// Minutes between digests (fractions allowed: tests sign every few seconds).
    public var digestInterval = 15.0
    /// A zone and a backend bucket in it that receive a JSON file per digest; nil: store only.
    public var digestZone: String?
    public var digestBucket: String?
    /// Authentication failures recorded per process and minute; the rest are counted and the
    /// count recorded once the next minute starts (a flood must not occupy the store's writer).
    public var authFailuresPerMinute = 60

    public init() {}
}

extension AuditSettings {
    /// A backend bucket name any S3 provider takes: 3-63 lowercase letters, digits, dots and
    /// hyphens, starting and ending with a letter or digit.
    static func isValidBucket(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        return alnum(bytes.first!) && alnum(bytes.last!) && bytes.allSatisfy { alnum($0) || $0 == 0x2e || $0 == 0x2d }
    }
}
