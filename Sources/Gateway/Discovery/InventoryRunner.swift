import Foundation
import GatewayCore

/// Reads a source account into a snapshot: ListBuckets, then per bucket its region, its features
/// and its ListObjectsV2 pages one at a time into the writer. Memory holds one page and the
/// writer's aggregates, never a listing. After each page it reports progress and asks whether to
/// stop; a stopped run still finishes its snapshot with what was read (the bucket being listed
/// `incomplete`, the buckets not reached listed `incomplete` with empty summaries), so what was
/// learnt is kept and the snapshot says what it lacks.
public final class InventoryRunner {
    /// How a run ended. A run that cannot even list the buckets throws instead (no snapshot).
    public enum Outcome: Equatable, Sendable {
        case done
        /// `shouldStop` said so.
        case stopped
        /// The source failed part way (credentials expired, endpoint gone): the snapshot keeps
        /// what was read, the job reports the error.
        case failed(SourceError)
    }

    let source: any SourceAccount
    let writer: SnapshotWriter
    /// The region to sign with where a bucket's own cannot be read.
    let fallbackRegion: String
    private(set) public var progress = DiscoveryProgress()
    /// Pauses between retries of a page that failed to arrive; tests shorten them.
    var retryDelays: [Double] = [1, 3]

    public init(source: any SourceAccount, writer: SnapshotWriter, fallbackRegion: String) {
        self.source = source
        self.writer = writer
        self.fallbackRegion = fallbackRegion
    }

    /// Runs to the end, or until `shouldStop` (asked after every page with the progress so far)
    /// says so. Throws the source's error when ListBuckets fails, and the writer's when the file
    /// cannot be written; the snapshot is then abandoned.
    public func run(report shouldStop: (DiscoveryProgress) -> Bool) throws -> Outcome {
        let buckets: [SourceBucket]
        do {
            buckets = try source.listBuckets()
        } catch {
            writer.abandon()
            throw error
        }
        do {
            return try inventory(buckets, shouldStop)
        } catch {
            writer.abandon()
            throw error
        }
    }

    private func inventory(_ buckets: [SourceBucket], _ shouldStop: (DiscoveryProgress) -> Bool) throws -> Outcome {
        progress.bucketsTotal = buckets.count
        var outcome = Outcome.done
        for (i, bucket) in buckets.enumerated() {
            guard outcome == .done else {
                // Named in the snapshot, not listed: a plan sees the bucket exists.
                try writer.beginBucket(name: bucket.name, region: "")
                try writer.endBucket(listing: .incomplete, statuses: SnapshotV1.Statuses())
                continue
            }
            progress.currentBucket = bucket.name
            if shouldStop(progress) {
                outcome = .stopped
                try writer.beginBucket(name: bucket.name, region: "")
                try writer.endBucket(listing: .incomplete, statuses: SnapshotV1.Statuses())
                continue
            }
            outcome = try inventory(bucket.name, shouldStop)
            if outcome == .done { progress.bucketsDone = i + 1 }
        }
        progress.currentBucket = ""
        try writer.finish()
        return outcome
    }

    /// One bucket, from its region to its last page. `shouldStop` is asked after the region and
    /// features are read, after every page and before a page is asked for again: a cancel waits
    /// at most for the request under way.
    private func inventory(_ name: String, _ shouldStop: (DiscoveryProgress) -> Bool) throws -> Outcome {
        // A region the credentials may not read is written as "" (unknown); the listing is still
        // tried, signed for the account's region.
        var region = ""
        var fatal: SourceError?
        do {
            region = try source.region(of: name)
        } catch {
            if Self.endsTheRun(error) { fatal = error }
        }
        let signing = region.isEmpty ? fallbackRegion : region
        let statuses = fatal == nil ? Self.statuses(source.features(of: name, region: signing)) : SnapshotV1.Statuses()
        try writer.beginBucket(name: name, region: region)
        if let fatal {
            try writer.endBucket(listing: .incomplete, statuses: statuses)
            return .failed(fatal)
        }
        if shouldStop(progress) {
            try writer.endBucket(listing: .incomplete, statuses: statuses)
            return .stopped
        }
        var continuation: String?
        var first = true
        while true {
            let fetched: SourcePage?
            do {
                fetched = try listPage(name, signing, continuation, shouldStop)
            } catch {
                let listing: SnapshotV1.Listing
                switch error {
                case .accessDenied where first: listing = .accessDenied
                default: listing = .incomplete
                }
                try writer.endBucket(listing: listing, statuses: statuses)
                return Self.endsTheRun(error) ? .failed(error) : .done
            }
            guard let page = fetched else {
                try writer.endBucket(listing: .incomplete, statuses: statuses)
                return .stopped
            }
            first = false
            for o in page.objects {
                try writer.add(
                    DiscoveredObject(
                        key: o.key, size: o.size, storageClass: o.storageClass,
                        lastModified: Date(timeIntervalSince1970: o.lastModified), etag: o.etag))
                progress.objects += 1
                progress.bytes += max(0, o.size)
            }
            guard let next = page.next, next != continuation else { break }
            continuation = next
            if shouldStop(progress) {
                try writer.endBucket(listing: .incomplete, statuses: statuses)
                return .stopped
            }
        }
        try writer.endBucket(listing: .complete, statuses: statuses)
        return .done
    }

    /// One page, asked again a few times when it did not arrive at all (a dropped connection),
    /// unless the run is to stop meanwhile (nil). An answer from the source (denied, throttled,
    /// gone, malformed) is not asked again: it would be the same.
    private func listPage(
        _ bucket: String, _ region: String, _ continuation: String?, _ shouldStop: (DiscoveryProgress) -> Bool
    ) throws(SourceError) -> SourcePage? {
        var attempt = 0
        while true {
            do {
                return try source.listObjects(bucket: bucket, region: region, continuation: continuation)
            } catch {
                guard case .unreachable = error, attempt < retryDelays.count else { throw error }
                if shouldStop(progress) { return nil }
                Thread.sleep(forTimeInterval: retryDelays[attempt])
                attempt += 1
            }
        }
    }

    /// Errors after which no other bucket can be read either: the credentials no longer work,
    /// or the endpoint no longer answers. Anything else concerns one bucket — a malformed answer,
    /// a regional endpoint the allow-list leaves out — which is kept `incomplete`.
    static func endsTheRun(_ e: SourceError) -> Bool {
        switch e {
        case .invalidCredentials, .unreachable: true
        case .endpointNotAllowed, .invalidAnswer, .accessDenied, .noSuchBucket, .noSuchKey, .failed: false
        }
    }

    static func statuses(_ f: SourceBucketFeatures) -> SnapshotV1.Statuses {
        // The schema knows `suspended` for versioning only.
        func s(_ v: SourceFeatureState, suspendable: Bool = false) -> SnapshotV1.Status {
            v == .suspended && !suspendable ? .unknown : SnapshotV1.Status(rawValue: v.rawValue) ?? .unknown
        }
        var out = SnapshotV1.Statuses()
        out.versioning = s(f.versioning, suspendable: true)
        out.encryption = s(f.encryption)
        out.lifecycle = s(f.lifecycle)
        out.replication = s(f.replication)
        out.objectLock = s(f.objectLock)
        out.policy = s(f.policy)
        return out
    }
}
