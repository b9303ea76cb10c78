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

    /// Every file of the log, oldest first: `path.<files>` … `path.1`, then `path`.
    public var allPaths: [String] {
        stride(from: files, through: 1, by: -1).map { "\(path).\($0)" } + [path]
    }
}
