import GatewayCore

/// ListObjectVersions with a delimiter on PostgreSQL in a bounded number of statements, as
/// `walkKeys` does for ListObjects: the row-by-row reader seeks past each common prefix with
/// a statement per table, a round trip each on PostgreSQL (1000 common prefixes were 2000
/// statements). Once a page meets its first common prefix, the rest of it is read in one
/// statement. A version listing reads two tables (the latest row of a key in `objects`, the
/// others in `object_versions`), so the server walks the union of their keys: each step takes
/// the smaller of the two tables' first keys after the previous one, or at or after the
/// successor of the previous one's common prefix. Each key walked then brings its rows,
/// newest first: one row for a key inside a common prefix (the lister needs only to see it),
/// all its versions up to the page's room and one more for any other key. The walk stops once
/// the entries its keys bring (one per common prefix, one per version) reach that many, so a
/// statement returns at most about twice the page whatever the keys' versions: libpq holds a
/// statement's whole result in memory. `VersionLister` still decides what every row is, so
/// pages are exactly the row-by-row reader's (the listing tests compare the stores, on
/// PostgreSQL in tier 2b).
extension SQLMetadataStore {
    /// The walk's text; its parameters are `versionWalkArgs`, in the order they appear.
    static let versionWalkSQL: String = {
        // The first key of either table at or after `from` and after `above` (expressions).
        func next(from: String, above: String) -> String {
            """
            (SELECT key FROM (
                (SELECT key FROM objects WHERE bucket = ? AND key >= \(from) AND key > \(above) ORDER BY key LIMIT 1)
                UNION ALL
                (SELECT key FROM object_versions WHERE bucket = ? AND key >= \(from) AND key > \(above)
                 ORDER BY key LIMIT 1)
             ) k ORDER BY key LIMIT 1)
            """
        }
        // The step's common-prefix successor (NULL when the key holds no delimiter after the
        // prefix: the next step takes the next key), and the entries the key brings: one for
        // a common prefix, else its versions up to the most a page takes.
        func key(_ column: String) -> String {
            """
            CROSS JOIN LATERAL (SELECT \(commonPrefixSuccessor(column)) AS seek) s
            CROSS JOIN LATERAL (SELECT CASE WHEN s.seek IS NOT NULL THEN 1 ELSE
                (SELECT count(*) FROM objects WHERE bucket = ? AND key = \(column))
                + (SELECT count(*) FROM (SELECT 1 FROM object_versions WHERE bucket = ? AND key = \(column)
                   LIMIT CAST(? AS INTEGER)) v) END AS entries) e
            """
        }
        return """
            WITH RECURSIVE walk (wkey, n, wseek, total) AS (
                (SELECT first.key, 1, s.seek, e.entries
                 FROM \(next(from: "?", above: "?")) first \(key("first.key")))
              UNION ALL
                (SELECT step.key, w.n + 1, s.seek, w.total + e.entries
                 FROM walk w CROSS JOIN LATERAL \(next(from: "COALESCE(w.wseek, w.wkey)", above: "w.wkey")) step
                 \(key("step.key"))
                 WHERE w.total < ? AND starts_with(w.wkey, ?))
            )
            SELECT r.*, w.total FROM walk w CROSS JOIN LATERAL (
                SELECT * FROM (
                    (SELECT \(objectColumns) FROM objects WHERE bucket = ? AND key = w.wkey)
                    UNION ALL
                    (SELECT \(objectColumns) FROM object_versions WHERE bucket = ? AND key = w.wkey
                     ORDER BY version_seq DESC LIMIT CAST(? AS INTEGER))
                ) u ORDER BY version_seq DESC LIMIT CASE WHEN w.wseek IS NULL THEN CAST(? AS INTEGER) ELSE 1 END
            ) r ORDER BY w.n, r.version_seq DESC
            """
    }()

    /// `versionWalkSQL`'s parameters: from `start` (at it when `above` is "", after it when it
    /// is `start`), `steps` entries at most, keys under `prefix`.
    static func versionWalkArgs(
        bucket: String, start: String, above: String, skip: [SQLValue], steps: Int, prefix: String
    ) -> [SQLValue] {
        let b = SQLValue.text(bucket)
        let most = SQLValue.int(Int64(steps))
        let key = skip + [b, b, most]
        return [b, .text(start), .text(above), b, .text(start), .text(above)] + key
            + [b, b] + key + [most, .text(prefix)]
            + [b, b, most, most]
    }

    /// Reads the rest of `lister`'s page from `start` (where a seek lands) through the walk, in
    /// one statement: every entry the walk counts is one the lister takes (it starts past the
    /// key marker), so a walk that reached `steps` entries has filled the page.
    static func walkVersions(
        _ bucket: String, _ lister: inout VersionLister, from start: String,
        _ walk: (delimiter: String, advanced: String), _ db: any SQLConnection
    ) throws(StoreError) {
        // Keys are never empty: "greater than ''" lets the first step take the start key itself.
        var cursor = (key: start, above: "")
        let skip = skipArgs(prefix: lister.query.prefix, walk)
        let totalColumn = Int32(objectColumnCount)
        while !lister.done {
            let steps = lister.room + 1
            var total = 0
            var lastKey = cursor.key
            var seek: String?
            let args = versionWalkArgs(
                bucket: bucket, start: cursor.key, above: cursor.above, skip: skip, steps: steps,
                prefix: lister.query.prefix)
            try db.query(versionWalkSQL, args) { r in
                total = Int(r.int(totalColumn))
                let key = r.text(1)
                lastKey = key
                guard !lister.done else { return }
                // The walk seeks where the lister does: the rest of a key inside a common
                // prefix is one the lister skips anyway.
                if let s = seek, VersionLister.precedes(key, s) { return }
                seek = lister.offer(object(r))
            }
            // Fewer entries than steps: the walk reached the bucket's end or left the prefix.
            if total < steps { break }
            // Not reached (above); should it be, the page goes on after the last common prefix
            // or key, read whole up to the page's room.
            assert(lister.done, "a walk of \(steps) entries left the page open")
            cursor = seek.map { ($0, "") } ?? (lastKey, lastKey)
        }
    }
}
