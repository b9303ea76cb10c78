import GatewayCore

/// Delimiter listings on PostgreSQL in two statements per page. The row-by-row reader asks the
/// server once per common prefix (a seek past it), which on SQLite is a function call but on
/// PostgreSQL a round trip: 1000 common prefixes were 1000 statements. Once a page meets its
/// first common prefix, the rest of it is read in one statement. Here the seeks run inside
/// the server, as a recursive walk over the (bucket, key) index: each step takes the first key
/// after the previous one, or, when the previous one lies in a common prefix, the first key at
/// or after that prefix's successor. The walk only chooses rows; `KeyLister` still decides what
/// each row is, so pages are exactly the row-by-row reader's (SkipListingTests run both).
extension SQLMetadataStore {
    /// The walk's text, from a key after the cursor (`inclusive` false) or at it. Parameters:
    /// bucket, cursor, bucket, `skipArgs`, the most steps, prefix. A step past the prefix's
    /// range ends the walk (it is still returned: the lister sees it and stops); so does the end
    /// of the bucket.
    static func keyWalkSQL(inclusive: Bool) -> String { inclusive ? keyWalkFromSQL : keyWalkAfterSQL }

    private static let keyWalkFromSQL = keyWalk(firstComparison: ">=")
    private static let keyWalkAfterSQL = keyWalk(firstComparison: ">")

    private static func keyWalk(firstComparison: String) -> String {
        // The successor of the step's common prefix; NULL when the key holds no delimiter after
        // the prefix (the next step then takes the next key).
        let skip = commonPrefixSuccessor("w.key")
        // Each step carries its whole row (a LATERAL probe), so no join back to the table: the
        // page's rows come straight from the index probes.
        return """
            WITH RECURSIVE walk AS (
                (SELECT \(objectColumns), 1 AS n FROM objects
                 WHERE bucket = ? AND key \(firstComparison) ? ORDER BY key LIMIT 1)
              UNION ALL
                (SELECT step.*, w.n + 1 FROM walk w CROSS JOIN LATERAL (
                    SELECT \(objectColumns) FROM objects
                    WHERE bucket = ? AND key >= COALESCE(\(skip), w.key) AND key > w.key
                    ORDER BY key LIMIT 1) step
                 WHERE w.n < ? AND starts_with(w.key, ?))
            )
            SELECT \(objectColumns) FROM walk ORDER BY key
            """
    }

    /// What the walk needs of a query: its delimiter and the delimiter's successor. A common
    /// prefix ends with the delimiter, so its successor (`KeyLister.successor(ofPrefix:)`: the
    /// last scalar advanced, carrying left past U+10FFFF) is its text before the delimiter
    /// followed by the delimiter's successor — as long as the carry stays within the delimiter.
    /// Nil when it would not (a delimiter of U+10FFFF scalars only): the row-by-row reader seeks.
    static func keyWalk(_ query: ListQuery) -> (delimiter: String, advanced: String)? { keyWalk(query.delimiter) }

    static func keyWalk(_ delimiter: String?) -> (delimiter: String, advanced: String)? {
        guard let delimiter, !delimiter.isEmpty,
            let advanced = KeyLister.successor(ofPrefix: Array(delimiter.utf8))
        else { return nil }
        return (delimiter, advanced)
    }

    /// The successor of `column`'s common prefix (`KeyLister.successor(ofPrefix:)` for a delimiter
    /// whose last byte is ASCII): its text up to the delimiter, then the delimiter with that
    /// byte advanced; NULL without a delimiter after the prefix. Takes `skipArgs`.
    static func commonPrefixSuccessor(_ column: String) -> String {
        """
        CASE WHEN strpos(substr(\(column), CAST(? AS INTEGER)), ?) > 0
            THEN substr(\(column), 1, CAST(? AS INTEGER) + strpos(substr(\(column), CAST(? AS INTEGER)), ?) - 2) || ? END
        """
    }

    /// The arguments of one `commonPrefixSuccessor` under `prefix`: where a character after the
    /// prefix starts, as PostgreSQL's substr counts (code points), the delimiter and its
    /// successor (`keyWalk`).
    static func skipArgs(prefix: String, _ walk: (delimiter: String, advanced: String)) -> [SQLValue] {
        let afterPrefix = Int64(prefix.unicodeScalars.count + 1)
        return [
            .int(afterPrefix), .text(walk.delimiter), .int(afterPrefix), .int(afterPrefix), .text(walk.delimiter),
            .text(walk.advanced),
        ]
    }

    /// Reads the rest of `lister`'s page from `cursor` through the walk; the rows read. One
    /// statement: the walk takes at most the page's room plus the row that truncates it, and
    /// every row it takes is an entry (a seek never lands inside a common prefix already listed).
    /// Should it end on exactly that many rows with room left, another continues from there.
    static func walkKeys(
        _ bucket: String, _ lister: inout KeyLister, from start: (key: String, inclusive: Bool),
        _ walk: (delimiter: String, advanced: String), _ db: any SQLConnection
    ) throws(StoreError) -> Int {
        var cursor = start
        var rowsRead = 0
        let skip = skipArgs(prefix: lister.query.prefix, walk)
        while !lister.done {
            let steps = lister.room + 1
            var rows = 0
            var seek: String?
            try db.query(
                keyWalkSQL(inclusive: cursor.inclusive),
                [.text(bucket), .text(cursor.key), .text(bucket)] + skip
                    + [.int(Int64(steps)), .text(lister.query.prefix)]
            ) { r in
                rows += 1
                let key = r.text(1)
                cursor = (key, false)
                guard !lister.done else { return }
                // The walk seeks where the lister does; a row before the lister's seek would be
                // one it skips anyway.
                if let s = seek, KeyLister.precedes(key, s) { return }
                seek = nil
                if case .seek(let next) = lister.offer(key, record: { object(r) }) { seek = next }
            }
            rowsRead += rows
            // Fewer rows than steps: the walk reached the bucket's end or left the prefix.
            if rows < steps { break }
            if let seek { cursor = (seek, true) }
        }
        return rowsRead
    }
}
