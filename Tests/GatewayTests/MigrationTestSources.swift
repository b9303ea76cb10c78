import Foundation
import GatewayCore
import GatewayTesting
import Synchronization

/// A source that is another one with something changed (GetObject, mostly): everything it does
/// not say otherwise is the wrapped source's.
protocol SourceWrapper: SourceAccount {
    var wrapped: any SourceAccount { get }
}

extension SourceWrapper {
    func listBuckets() throws(SourceError) -> [SourceBucket] { try wrapped.listBuckets() }
    func region(of bucket: String) throws(SourceError) -> String { try wrapped.region(of: bucket) }
    func features(of bucket: String, region: String) -> SourceBucketFeatures {
        wrapped.features(of: bucket, region: region)
    }
    func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage {
        try wrapped.listObjects(bucket: bucket, region: region, continuation: continuation)
    }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        try wrapped.open(bucket: bucket, region: region, key: key)
    }
}

/// The in-memory source with per-key behaviour: `script(key)` throws the error GetObject
/// answers, or returns another ETag for the head (the object changed after the listing).
final class ScriptedSource: SourceWrapper {
    let inner: InMemorySourceAccount
    let script: @Sendable (String) throws -> String?

    init(_ inner: InMemorySourceAccount, script: @escaping @Sendable (String) throws -> String?) {
        self.inner = inner
        self.script = script
    }

    var wrapped: any SourceAccount { inner }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        let etag: String?
        do {
            etag = try script(key)
        } catch let e as SourceError {
            throw e
        } catch {
            throw .unreachable("\(error)")
        }
        let r = try inner.open(bucket: bucket, region: region, key: key)
        guard let etag else { return r }
        var head = r.head
        head.etag = etag
        return Reheaded(r, head)
    }

    final class Reheaded: SourceObjectReader {
        let inner: any SourceObjectReader
        let head: SourceObjectHead
        init(_ inner: any SourceObjectReader, _ head: SourceObjectHead) {
            self.inner = inner
            self.head = head
        }
        var size: Int64 { head.size }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try inner.read(into: buffer) }
        func close() { inner.close() }
    }
}

/// A source whose object bodies end after `keep` bytes (as a connection cut short would end
/// them, seen from the bytes), counting the bytes read.
final class TruncatingSource: SourceWrapper {
    final class Counter: Sendable {
        let value = Atomic<Int64>(0)
    }

    let inner: any SourceAccount
    let keep: Int64
    private let count = Counter()
    var bytesRead: Int64 { count.value.load(ordering: .relaxed) }

    init(_ inner: any SourceAccount, keep: Int64) {
        self.inner = inner
        self.keep = keep
    }

    var wrapped: any SourceAccount { inner }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        Reader(try inner.open(bucket: bucket, region: region, key: key), keep: keep, count: count)
    }

    final class Reader: SourceObjectReader {
        let inner: any SourceObjectReader
        var left: Int64
        let count: Counter
        init(_ inner: any SourceObjectReader, keep: Int64, count: Counter) {
            self.inner = inner
            left = keep
            self.count = count
        }
        var head: SourceObjectHead { inner.head }
        var size: Int64 { inner.size }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            guard left > 0 else { return 0 }
            let want = Int(min(Int64(buffer.count), left))
            let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            left -= Int64(n)
            count.value.add(Int64(n), ordering: .relaxed)
            return n
        }
        func close() { inner.close() }
    }
}

/// The in-memory source, each GetObject 100 ms late.
final class SlowSource: SourceWrapper {
    let inner: InMemorySourceAccount
    init(_ inner: InMemorySourceAccount) { self.inner = inner }
    var wrapped: any SourceAccount { inner }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        Thread.sleep(forTimeInterval: 0.1)
        return try inner.open(bucket: bucket, region: region, key: key)
    }
}

/// The in-memory source whose first body read of each object runs `meanwhile` first: something
/// that happens while a copy streams.
final class InterleavedSource: SourceWrapper {
    let inner: InMemorySourceAccount
    let meanwhile: @Sendable () -> Void

    init(_ inner: InMemorySourceAccount, meanwhile: @escaping @Sendable () -> Void) {
        self.inner = inner
        self.meanwhile = meanwhile
    }

    var wrapped: any SourceAccount { inner }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        Reader(try inner.open(bucket: bucket, region: region, key: key), meanwhile)
    }

    final class Reader: SourceObjectReader {
        let inner: any SourceObjectReader
        var meanwhile: (() -> Void)?
        init(_ inner: any SourceObjectReader, _ meanwhile: @escaping () -> Void) {
            self.inner = inner
            self.meanwhile = meanwhile
        }
        var head: SourceObjectHead { inner.head }
        var size: Int64 { inner.size }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if let m = meanwhile {
                meanwhile = nil
                m()
            }
            return try inner.read(into: buffer)
        }
        func close() { inner.close() }
    }
}

/// The in-memory source whose GetObjects wait (up to two seconds) until `opening` of them wait
/// together, counting the most that ever did.
final class ConcurrencyGate: SourceWrapper {
    let inner: InMemorySourceAccount
    let opening: Int
    private let waiting = Mutex<(now: Int, most: Int)>((0, 0))

    init(_ inner: InMemorySourceAccount, opening: Int) {
        self.inner = inner
        self.opening = opening
    }

    var most: Int { waiting.withLock { $0.most } }

    var wrapped: any SourceAccount { inner }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        waiting.withLock {
            $0.now += 1
            $0.most = max($0.most, $0.now)
        }
        let deadline = Date().addingTimeInterval(2)
        while waiting.withLock({ $0.most }) < opening && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        waiting.withLock { $0.now -= 1 }
        return try inner.open(bucket: bucket, region: region, key: key)
    }
}
