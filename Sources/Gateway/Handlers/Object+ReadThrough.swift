import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// GET/HEAD of a key the gateway lacks in a bucket a migration run is copying with
    /// read-through on: the run copies it now (from the source, through the normal write path)
    /// and the read is answered from the gateway as usual. False when there is nothing to wait
    /// for (no route, a stale one, or the source lacks the key too — remembered for a while, so
    /// asking again costs the source nothing): the read's NoSuchKey stands. At most
    /// `readThroughGate.limit` threads of the process wait at once; a read beyond that gets
    /// `503 SlowDown` with Retry-After.
    static func readThrough(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> Bool {
        guard let bucket = r.bucket, let key = r.key, r.query["versionId"] == nil,
            let route = try ctx.metadata.readThrough(bucket: bucket)
        else { return false }
        let absent = ctx.migration.absentKeys
        if absent.contains(route, key: key, now: ctx.clock.now()) { return false }
        guard let answer = ctx.migration.readThroughGate.admit({ ctx.migration.readThrough.fetch(route, key: key) })
        else {
            throw S3Error(
                .slowDown, "Too many reads of objects still being copied into this bucket; please try again.",
                retryAfter: 1)
        }
        switch answer {
        case .copied: return true
        case .absent:
            absent.insert(route, key: key, now: ctx.clock.now())
            return false
        case .unavailable:
            logger.debug("read-through route of \(bucket) to run \(route.runId) does not answer; ignored")
            return false
        case .timedOut:
            throw S3Error(
                .serviceUnavailable, "The object is being copied into this bucket from its source. Please try again.",
                retryAfter: 5)
        case .failed(let why):
            logger.warning("read-through of \(bucket)/\(key) failed in run \(route.runId): \(why)")
            throw S3Error(
                .serviceUnavailable, "The object could not be copied from its source. Please try again.",
                retryAfter: 5)
        }
    }
}
