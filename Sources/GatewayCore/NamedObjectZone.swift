/// A zone that also keeps objects under names the gateway chooses (`databases/<id>/wal/…`), for
/// what must be found again with no metadata store to say where it is: the metadata backups
/// (docs/METADATA.md, "Backup and restore"). Blobs, by contrast, have random ids kept in metadata.
public protocol NamedObjectZone: StorageZone {
    /// A writer whose `commit` makes the object `name` (replacing one of that name) and returns it.
    func beginNamedWrite(backendBucket: String, name: String, length: Int64?) throws(StoreError) -> any BlobWriter
    func openNamed(backendBucket: String, name: String) throws(StoreError) -> any BlobReader
    /// Up to `limit` objects whose names start with `prefix` and sort after `after` (byte order),
    /// in that order. A missing bucket holds nothing.
    func listNamed(backendBucket: String, prefix: String, after: String, limit: Int) throws(StoreError)
        -> [StoredBlob]
    func deleteNamed(backendBucket: String, name: String) throws(StoreError)
}

extension NamedObjectZone {
    /// Every object under `prefix`, in name order.
    public func listAllNamed(backendBucket: String, prefix: String) throws(StoreError) -> [StoredBlob] {
        var all: [StoredBlob] = []
        var after = ""
        while true {
            let page = try listNamed(backendBucket: backendBucket, prefix: prefix, after: after, limit: 1000)
            all += page
            guard page.count == 1000, let last = page.last else { return all }
            after = last.id
        }
    }
}

/// Names a zone accepts for named objects: `/`-separated components of letters, digits, `.`,
/// `_` and `-`, none empty, `.` or `..` (so a filesystem zone can use them as paths).
public enum ObjectName {
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 1024 else { return false }
        for part in name.split(separator: "/", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part != ".", part != ".." else { return false }
            for b in part.utf8 {
                let ok =
                    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2e
                    || b == 0x5f || b == 0x2d
                if !ok { return false }
            }
        }
        return true
    }
}
