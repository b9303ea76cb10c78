import Foundation

/// `[oplog]` in the configuration: where the operations log goes and how it rotates
/// (docs/OBSERVABILITY.md, "Operations log").
public struct OplogSettings: Sendable, Equatable {
    /// Whether the workers write it; the files already there stay readable either way.
    public var enabled = true
    /// The current file; rotated ones are `path.1` (newest) … `path.<files>`. Empty until the
    /// configuration resolves it (`<state_dir>/oplog/oplog.jsonl` by default).
    public var path = ""
    /// The current file is rotated once it reaches this size.
    public var maxBytes = 64 << 20
    /// Rotated files kept beside the current one.
    public var files = 8

    public init(enabled: Bool = true, path: String = "", maxBytes: Int = 64 << 20, files: Int = 8) {
        self.enabled = enabled
        self.path = path
        self.maxBytes = maxBytes
        self.files = files
    }

    /// Where the log goes when the configuration names no path.
    public static func defaultPath(stateDir: String) -> String {
        (stateDir.hasSuffix("/") ? String(stateDir.dropLast()) : stateDir) + "/oplog/oplog.jsonl"
    }

    /// The most rotated files a configuration may keep (a query opens every file).
    public static let maxFiles = 100

    /// Names in the state directory that hold the gateway's state: the log (its files and the
    /// `.1`…, `.lock` beside them) must not be, or be inside, one of them.
    static let stateNames = [
        "metadata.sqlite", "master-key", "root-credentials", "installation-secret", "audit-ed25519.key",
        "metrics", "snapshots", "plans", "migration",
    ]

    /// Why the log cannot go to `path` in a gateway keeping its state in `stateDir` (it would
    /// write into, or rotate away, a state file); nil when it can.
    public func stateConflict(stateDir: String) -> String? {
        let state = (stateDir as NSString).standardizingPath
        let file = (path as NSString).standardizingPath
        guard file != state else { return "is the state directory" }
        guard file.hasPrefix(state + "/") else { return nil }
        let first = file.dropFirst(state.count + 1).split(separator: "/").first.map(String.init) ?? ""
        for name in Self.stateNames where first == name || first.hasPrefix(name) {
            return "would write into the gateway's state (\(name) in \(stateDir))"
        }
        return nil
    }

    /// Every file of the log, oldest first: `path.<files>` … `path.1`, then `path`.
    public var allPaths: [String] {
        stride(from: files, through: 1, by: -1).map { "\(path).\($0)" } + [path]
    }
}
