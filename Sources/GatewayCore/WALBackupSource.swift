/// The live embedded database as continuous backup sees it (docs/METADATA.md, "Backup and
/// restore"): MetadataSQLite supplies it over SQLite's backup API and WAL file. One generation
/// is a snapshot followed by every transaction after it, shipped as WAL segments without a gap;
/// when the source cannot vouch for that any more it throws `WALBackupBroken` and the caller
/// starts a new generation with a fresh snapshot.
public protocol WALBackupSource: AnyObject {
    /// Starts a generation: writes a consistent copy of the database to `snapshotPath`. The
    /// segments that follow continue exactly from that copy.
    func beginGeneration(snapshotPath: String) throws -> WALSnapshotInfo
    /// Complete transactions committed since the last call (a bounded amount: call again until
    /// nil), or nil when there are none.
    func nextSegment() throws -> WALSegment?
    /// Whether the WAL holds enough to be checkpointed (`checkpoint`).
    var wantsCheckpoint: Bool { get }
    /// Checkpoints with writers held off: returns the last transactions (to ship before any
    /// other) and, when every frame was copied back, an end marker (`WALSegment.endsWAL`) that
    /// lets the WAL start over, which the next `nextSegment` follows.
    func checkpoint() throws -> [WALSegment]
    /// Checkpoints without shipping (the backup cannot keep up): the generation ends here.
    func checkpointAbandoningGeneration() throws
    /// Where the generation stands (opaque), for `resume` by the next process; nil before any.
    var resumePoint: [UInt8]? { get }
    /// Goes on from `point` if the WAL still holds exactly what was taken up to it (never across
    /// a WAL restart: what the old WAL held after the point is unknown); false: a new
    /// generation must start.
    func resume(_ point: [UInt8]) throws -> Bool
}

public struct WALSnapshotInfo: Sendable {
    public var pageSize: Int
    public var pages: Int
    /// Where in the WAL the snapshot was taken, as the source encodes it (opaque here, kept in
    /// the snapshot's manifest); empty when there was no WAL yet.
    public var walPosition: [UInt8]
    /// The WAL ended at that position and was all in the database: the end marker to ship
    /// first (the next WAL may start over).
    public var endMarker: WALSegment?
    public init(pageSize: Int, pages: Int, walPosition: [UInt8], endMarker: WALSegment? = nil) {
        self.pageSize = pageSize
        self.pages = pages
        self.walPosition = walPosition
        self.endMarker = endMarker
    }
}

/// Transactions as shipped: `bytes` is a self-describing segment (MetadataSQLite's
/// `WALSegmentFile`): the WAL's header, the checksum its first frame continues, the frames.
/// An end marker (`endsWAL`) holds only the position where its WAL ended, no frames: a restore
/// accepts the next WAL (a restart) only right after one, so a WAL that went on past the
/// last segment shipped can never pass for complete.
public struct WALSegment: Sendable {
    /// Which WAL of the generation (0 for the one its snapshot was taken in, +1 at each restart).
    public var index: Int
    /// Where the frames start in that WAL file.
    public var offset: Int64
    public var frames: Int
    public var bytes: [UInt8]
    public var endsWAL: Bool
    public init(index: Int, offset: Int64, frames: Int, bytes: [UInt8], endsWAL: Bool = false) {
        self.index = index
        self.offset = offset
        self.frames = frames
        self.bytes = bytes
        self.endsWAL = endsWAL
    }
}

/// Frames could have been lost (a checkpoint or WAL restart the source did not make, a WAL
/// that is not the one it read): the generation cannot go on without a gap.
public struct WALBackupBroken: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Replays shipped segments over a restored snapshot (MetadataSQLite's `SQLiteRestore`).
public protocol WALReplay: AnyObject {
    /// Adds one segment; refuses a damaged one or one that does not follow the last exactly.
    func append(_ segment: [UInt8]) throws
    /// An end marker: the WAL ended where the last segment (or the snapshot) left it.
    func endWAL(_ marker: [UInt8]) throws
    /// Applies everything and checks the result.
    func finish() throws
    var frames: Int { get }
}
