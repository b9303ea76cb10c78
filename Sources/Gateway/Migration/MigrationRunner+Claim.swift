import Foundation
import GatewayCore

extension MigrationRunner {
    /// Makes this the plan's one running run before anything is done for it: its row is written
    /// in one step of the metadata store (`claimMigrationRun`), only over a row that does not
    /// say the plan is running. So of two starts of the same plan at once — two CLIs, two API
    /// requests to two workers — one goes on and the other gets `conflict`.
    public func claim() throws {
        for _ in 0..<3 {
            let now = ctx.clock.now()
            let previous = try ctx.metadata.migrationRun(id: runId)
            if let previous, let s = MigrationRunStatus(row: previous, now: now), s.state == .running {
                throw MigrationError(
                    .conflict,
                    "run \(runId) is already running (\(s.owner), updated \(Int(now - previous.updatedAt)) s ago)")
            }
            var s = progress
            s.updatedAt = Date(timeIntervalSince1970: now)
            if try ctx.metadata.claimMigrationRun(s.row, replacing: previous) { return }
        }
        throw MigrationError(.conflict, "run \(runId) is being started by another process")
    }

    /// Ends a claimed run that could not start (its read-through socket could not be served):
    /// the row says `failed` and why, so the plan may be started again at once.
    public func abandon(_ why: String) {
        var s = progress
        let now = ctx.clock.now()
        s.state = .failed
        s.error = why
        s.updatedAt = Date(timeIntervalSince1970: now)
        s.finishedAt = s.updatedAt
        for i in s.buckets.indices { s.buckets[i].state = "not_started" }
        try? ctx.metadata.saveMigrationRun(s.row)
    }
}
