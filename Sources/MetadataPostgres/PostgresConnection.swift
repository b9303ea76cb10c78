internal import CPostgres
import GatewayCore
import MetadataSQL

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one libpq connection (`PGconn`); every result status goes through `check`. Used by one
/// thread only: the store keeps one per thread. The connection string is never put in an error or
/// a log line (it may carry a password).
public final class PostgresConnection: SQLConnection, @unchecked Sendable {
    public let dialect = SQLDialect.postgres
    public var audits = true
    public private(set) var changes = 0

    let handle: OpaquePointer
    private let readOnly: Bool
    /// Statement names by SQL text and parameter types: each is prepared once per session.
    private var prepared: [String: String] = [:]
    /// While a transaction is open a lost connection fails the statement: the transaction
    /// wrapper decides whether the whole body can run again.
    var transactionOpen = false
    /// Whether the statement being run has been sent (preparing it changes nothing).
    private var sent = false

    /// Connects with `conninfo` (libpq's `key=value` string or `postgresql://` URI; several hosts
    /// and `target_session_attrs` pass through). `readOnly` makes every transaction of the session
    /// read-only (`default_transaction_read_only`), for forensic readers.
    public init(conninfo: String, readOnly: Bool = false) throws(StoreError) {
        try Self.refuseUnsafe(conninfo)
        guard let conn = Self.connect(conninfo) else { throw .internalFailure("postgres connect: out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.connectionMessage(conn)
            PQfinish(conn)
            throw .internalFailure("postgres connect: \(message)")
        }
        handle = conn
        self.readOnly = readOnly
        try startSession()
    }

    /// Defaults for what the url leaves unset, so a host that vanishes (power, network) is noticed
    /// in about a minute rather than after the kernel's two hours of TCP keepalive: connecting gives
    /// up after 5 s; an idle connection is probed after 30 s, every 10 s, given up after 3 probes.
    static let connectDefaults: KeyValuePairs<String, String> = [
        "connect_timeout": "5", "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
        "keepalives_count": "3",
    ]

    /// `PQconnectdbParams` with `expand_dbname`: the defaults come first, so whatever the url sets
    /// (it is expanded in place of `dbname`, the last keyword) wins.
    private static func connect(_ conninfo: String) -> OpaquePointer? {
        let pairs = connectDefaults.map { ($0.key, $0.value) } + [("dbname", conninfo)]
        let keys = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer { for p in keys + values { free(p) } }
        let k = keys.map { UnsafePointer($0) } + [nil]
        let v = values.map { UnsafePointer($0) } + [nil]
        return PQconnectdbParams(k, v, 1)
    }

    /// Refuses, before any connection, a connection string libpq cannot parse or that carries a
    /// password (`password`, `sslpassword`, however spelled: spaces, URI percent-encoding): the
    /// password belongs in PGPASSFILE / ~/.pgpass. libpq decides, and its parse error is not
    /// repeated as it quotes the string.
    public static func refuseUnsafe(_ conninfo: String) throws(StoreError) {
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &parseError) else {
            if let parseError { PQfreemem(parseError) }
            throw .internalFailure("postgres: the [metadata] url is not a valid libpq connection string or URI")
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            if name == "password" || name == "sslpassword", let value = option.pointee.val, value.pointee != 0 {
                throw .internalFailure(
                    "postgres: the [metadata] url holds a \(name): keep it in ~/.pgpass or the file PGPASSFILE names")
            }
            option += 1
        }
    }

    deinit {
        PQfinish(handle)
    }

    /// What every session needs, on connecting and again after a reconnect (a new session starts
    /// with server defaults and no prepared statements).
    private func startSession() throws(StoreError) {
        prepared = [:]
        // Notices ("relation already exists, skipping") are not errors and not for stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        guard PQsetClientEncoding(handle, "UTF8") == 0 else {
            throw .internalFailure("postgres: setting client encoding UTF8: \(Self.connectionMessage(handle))")
        }
        // A host that stops while holding the write lock (it is held for a transaction) must not
        // block every writer everywhere: the server ends a transaction left idle this long.
        try execOnce("SET idle_in_transaction_session_timeout = '\(Self.idleInTransactionTimeout)'")
        if readOnly { try execOnce("SET default_transaction_read_only = on") }
    }

    /// No transaction of s3gw waits for its client this long between statements.
    static let idleInTransactionTimeout = "30s"

    /// Whether libpq has found the connection broken (the server went away, was restarted, or
    /// ended this session).
    var isBroken: Bool { PQstatus(handle) == CONNECTION_BAD }

    /// Reconnects with the original parameters; with several hosts and
    /// `target_session_attrs=read-write` libpq finds the writable one again.
    func reconnect() throws(StoreError) {
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw .internalFailure("postgres reconnect: \(Self.connectionMessage(handle))")
        }
        try startSession()
    }

    // MARK: - Statements

    public func exec(_ sql: String) throws(StoreError) {
        try retryingOnLoss(sql) { () throws(StoreError) in try execOnce(sql) }
    }

    public func query(
        _ sql: String, _ args: [SQLValue], row: (any SQLRow) throws(StoreError) -> Void
    ) throws(StoreError) {
        let result = try retryingOnLoss(sql) { () throws(StoreError) in try run(sql, args) }
        defer { PQclear(result) }
        let rows = PQntuples(result)
        for i in 0..<rows {
            try row(PostgresRow(result: result, row: i))
        }
    }

    /// Outside a transaction a statement that finds the connection lost before it is sent
    /// reconnects and runs; one lost after it was sent runs once more only if it is a read (it may
    /// have committed: a write fails with "outcome unknown"). Inside a transaction it fails (see
    /// `transactionOpen`).
    private func retryingOnLoss<T>(_ sql: String, _ statement: () throws(StoreError) -> T) throws(StoreError) -> T {
        if !transactionOpen {
            // Reads what the server sent while the session was idle: a session it ended is seen
            // as broken now, before the statement is sent, not after.
            if PQconsumeInput(handle) == 0 || isBroken { try reconnect() }
        }
        sent = false
        do {
            return try statement()
        } catch {
            guard isBroken && !transactionOpen else { throw error }
            guard !sent || Self.isRead(sql) else {
                throw .internalFailure("postgres: connection lost while running a write; outcome unknown: \(error)")
            }
            try reconnect()
            return try statement()
        }
    }

    /// A plain SELECT (no row locks) changes nothing, so running it again is safe.
    static func isRead(_ sql: String) -> Bool {
        let upper = sql.uppercased().drop { $0 == " " || $0 == "\n" || $0 == "\t" }
        return upper.hasPrefix("SELECT") && !upper.contains("FOR UPDATE") && !upper.contains("FOR SHARE")
            && !upper.contains("FOR NO KEY UPDATE") && !upper.contains("NEXTVAL") && !upper.contains("PG_")
    }

    func execOnce(_ sql: String) throws(StoreError) {
        sent = true
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql)
    }

    /// Prepares `sql` once per session (placeholders numbered, parameter types from the values)
    /// and runs it with `args` in text format. The caller clears the result.
    private func run(_ sql: String, _ args: [SQLValue]) throws(StoreError) -> OpaquePointer {
        let types = args.map(\.oid)
        let key = sql + "\u{0}" + types.map(String.init).joined(separator: ",")
        let name: String
        if let known = prepared[key] {
            name = known
        } else {
            let (numbered, count) = Placeholders.numbered(sql)
            guard count == args.count else {
                throw .internalFailure("postgres: \(count) placeholders but \(args.count) values in \(sql)")
            }
            name = "s3gw_\(prepared.count + 1)"
            let result = PQprepare(handle, name, numbered, Int32(count), types)
            defer { PQclear(result) }
            try check(result, "prepare \(sql)")
            prepared[key] = name
        }
        var values: [UnsafeMutablePointer<CChar>?] = []
        values.reserveCapacity(args.count)
        defer { for v in values { free(v) } }
        for arg in args {
            guard let text = arg.text else {
                values.append(nil)
                continue
            }
            // PostgreSQL text cannot hold NUL; libpq would silently cut the value there.
            guard !text.utf8.contains(0) else {
                throw .internalFailure("postgres: a text value contains NUL in \(sql)")
            }
            values.append(strdup(text))
        }
        sent = true
        let result = values.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { params in
                PQexecPrepared(handle, name, Int32(args.count), params.baseAddress, nil, nil, 0)
            }
        }
        do {
            try check(result, sql)
        } catch {
            PQclear(result)
            throw error
        }
        guard let result else { throw .internalFailure("postgres: no result for \(sql)") }
        noteChanges(result)
        return result
    }

    /// Like SQLite's `changes()`: only INSERT, UPDATE, DELETE (and MERGE) set the count.
    private func noteChanges(_ result: OpaquePointer) {
        guard let status = PQcmdStatus(result) else { return }
        let command = String(cString: status).prefix { $0 != " " }
        guard ["INSERT", "UPDATE", "DELETE", "MERGE"].contains(command) else { return }
        changes = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// Throws unless `result` is a success. The error names the SQLSTATE and the server's message
    /// (never the connection string).
    func check(_ result: OpaquePointer?, _ what: String) throws(StoreError) {
        guard let result else {
            throw .internalFailure("postgres \(what): \(Self.connectionMessage(handle))")
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            // libpq's own errors (a lost connection) carry no SQLSTATE.
            let state = cpg_sqlstate(result).map { " (SQLSTATE \(String(cString: $0)))" } ?? ""
            var message = cpg_primary_message(result).map { String(cString: $0) } ?? ""
            if message.isEmpty { message = Self.connectionMessage(handle) }
            throw .internalFailure("postgres \(what): \(message)\(state)")
        }
    }

    /// libpq's last error for the connection, on one line. The url was parsed and holds no
    /// password; still, anything libpq says about the connection string itself is cut, as it
    /// quotes it.
    static func connectionMessage(_ conn: OpaquePointer) -> String {
        guard let p = PQerrorMessage(conn) else { return "unknown error" }
        var text = String(cString: p).split(whereSeparator: \.isNewline).joined(separator: "; ")
        for marker in ["in URI", "connection info string", "connection string", "invalid "] {
            if let r = text.range(of: marker) { text = String(text[..<r.lowerBound]) + "(connection string not shown)" }
        }
        return text.isEmpty ? "unknown error" : text
    }
}

extension SQLValue {
    /// The parameter type PostgreSQL is told: the value's own, except NULL, whose type comes from
    /// where it is used (a column it is stored in or compared with).
    fileprivate var oid: UInt32 {
        switch self {
        case .text: 25  // text
        case .int: 20  // int8
        case .real: 701  // float8
        case .null: 0
        }
    }

    /// The value in PostgreSQL's text format (nil for NULL). Doubles print as the shortest text
    /// that reads back as the same value; infinities as PostgreSQL spells them.
    fileprivate var text: String? {
        switch self {
        case .text(let s): s
        case .int(let v): String(v)
        case .real(let v) where v.isInfinite: v < 0 ? "-Infinity" : "Infinity"
        case .real(let v) where v.isNaN: "NaN"
        case .real(let v): "\(v)"
        case .null: nil
        }
    }
}
