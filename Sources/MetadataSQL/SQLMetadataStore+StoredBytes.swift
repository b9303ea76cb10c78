import GatewayCore

/// The bytes each zone stores, added up inside the database: the agent counts them every few
/// minutes for `s3gw_zone_stored_bytes`, and decoding every version's whole row in Swift took
/// about 4 s per million objects. A plaintext copy's stored size is its size, so the database
/// sums those by zone, and one more pass reads the rows with replicas (their replica lines) and
/// the encrypted ones (their `storedSize` depends on the encryption layout), a page at a time.
extension SQLMetadataStore {
    private static let sizeColumn = objectColumn("size")
    private static let replicasColumn = objectColumn("replicas")
    private static let sseColumn = objectColumn("sse")

    public func storedBytesPerZone() throws(StoreError) -> [String: Int64] { try storedBytesPerZone(page: 1000) }

    /// `page`: rows of the second pass per statement.
    func storedBytesPerZone(page: Int) throws(StoreError) -> [String: Int64] {
        precondition(page > 0)
        return try withConnection { db throws(StoreError) in
            // One snapshot of both tables: a version moving between them is counted once.
            try db.readTransaction { () throws(StoreError) -> [String: Int64] in
                var zones: [String: Int64] = [:]
                for table in ["objects", "object_versions"] {
                    try db.query(
                        """
                        SELECT zone, CAST(SUM(size) AS BIGINT) FROM \(table)
                        WHERE delete_marker = 0 AND sse = '' GROUP BY zone
                        """, []
                    ) { r in zones[r.text(0), default: 0] += r.int(1) }
                    // Replicated or encrypted: one more pass, a page at a time by primary key
                    // (libpq holds a statement's whole result), decoding a plaintext row's
                    // replica lines only and an encrypted row whole.
                    let keyColumns = table == "objects" ? ["bucket", "key"] : ["bucket", "key", "version_seq"]
                    let after = "(" + keyColumns.joined(separator: ", ") + ")"
                    let keyIndexes = keyColumns.map(Self.objectColumn)
                    var cursor: [String]?
                    while true {
                        var rows = 0
                        var last: [String] = []
                        let position = cursor.map { c in
                            " AND \(after) > (" + c.map { _ in "?" }.joined(separator: ", ") + ")"
                        }
                        try db.query(
                            """
                            SELECT \(Self.objectColumns) FROM \(table)
                            WHERE delete_marker = 0 AND (sse <> '' OR replicas <> '')\(position ?? "")
                            ORDER BY \(keyColumns.joined(separator: ", ")) LIMIT \(page)
                            """, (cursor ?? []).map { .text($0) }
                        ) { r in
                            rows += 1
                            last = keyIndexes.map { r.text($0) }
                            // A plaintext copy's stored size is its size, counted above.
                            guard !r.text(Self.sseColumn).isEmpty else {
                                let replicas = FieldCoding.decodeReplicas(r.text(Self.replicasColumn))
                                ObjectRecord.addReplicaBytes(r.int(Self.sizeColumn), replicas, to: &zones)
                                return
                            }
                            Self.object(r).addStoredBytes(to: &zones)
                        }
                        guard rows == page else { break }
                        cursor = last
                    }
                }
                return zones
            }
        }
    }
}
