internal import CPostgres
import GatewayCore
import MetadataSQL

extension PostgresConnection {
    /// The advisory lock every write transaction takes first, so writes serialize across every
    /// connection, process and host as SQLite's BEGIN IMMEDIATE does ("s3gw" in ASCII).
    static let writeLockKey: Int64 = 0x7333_6777

    /// READ COMMITTED after the lock: each statement sees every transaction committed before it,
    /// and none of those that could change what it read can commit until this one has.
    public func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        // One round trip: PQexec runs both and stops at the first that fails.
        try runTransaction(["BEGIN; SELECT pg_advisory_xact_lock(\(Self.writeLockKey))"], body)
    }

    /// For job claims: rows are taken with `FOR UPDATE SKIP LOCKED`, so claimers never wait for
    /// each other nor for the serialized writers.
    public func concurrentTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try runTransaction(["BEGIN ISOLATION LEVEL READ COMMITTED"], body)
    }

    public func readTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try runTransaction(["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"], body)
    }

    /// Runs `begin`, `body` and COMMIT; rolls back when `body` throws. When the connection is lost
    /// before COMMIT is sent nothing was committed, so the whole transaction runs once more on a
    /// new connection. Lost while committing, the outcome is unknown: that fails.
    private func runTransaction<T>(_ begin: [String], _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        // PostgreSQL has no nested BEGIN: a second one would only warn, and the inner COMMIT would
        // end the outer transaction early.
        guard !transactionOpen else { throw .internalFailure("postgres: a transaction is already open") }
        var retried = false
        while true {
            if PQconsumeInput(handle) == 0 || isBroken { try reconnect() }
            // A session left inside a transaction (a ROLLBACK that failed) starts afresh.
            if PQtransactionStatus(handle) != PQTRANS_IDLE { try reconnect() }
            transactionOpen = true
            defer { transactionOpen = false }
            var committing = false
            do throws(StoreError) {
                for statement in begin { try execOnce(statement) }
                let result = try body()
                // A connection already known to be broken has not been sent COMMIT.
                if isBroken { throw StoreError.internalFailure("postgres: connection lost in a transaction") }
                committing = true
                try execOnce("COMMIT")
                return result
            } catch {
                if isBroken {
                    if !committing && !retried {
                        retried = true
                        continue
                    }
                    throw committing
                        ? StoreError.internalFailure(
                            "postgres: connection lost during COMMIT; outcome unknown: \(error)")
                        : error
                }
                do { try execOnce("ROLLBACK") } catch { try? reconnect() }
                throw error
            }
        }
    }
}
