extension BlobWriter {
    /// Writes `bytes` and commits; aborts on any failure. Returns what `commit` does.
    @discardableResult
    public func commit(bytes: [UInt8]) throws -> String {
        do {
            try bytes.withUnsafeBytes { try write($0) }
            return try commit()
        } catch {
            abort()
            throw error
        }
    }
}
