import GatewayCore

/// The per-stream and per-segment inputs of stream format v1 (docs/ENCRYPTION.md): the stream
/// key `HMAC-SHA256(DEK, "s3gw-seg-v1" ‖ salt ‖ UInt32BE(part))` for a multipart part (its
/// number: a stream read in another part's place opens under another key and fails), without
/// the number for a single stream (part 0), nonce_i = `0x00000000 ‖ UInt64BE(i)` and
/// AAD_i = `header ‖ UInt64BE(i) ‖ last`. Binding the header (and so the salt), the index and
/// the last flag into every tag makes a cut, a reordered segment or one spliced from another
/// stream fail to open. Keeps its buffers, so a segment costs no allocation.
final class SegmentFrame {
    static let label = Array("s3gw-seg-v1".utf8)

    /// header(16) ‖ index(8) ‖ last(1).
    private let aadBytes = UnsafeMutableRawBufferPointer.allocate(
        byteCount: EncryptionLayout.headerSize + 9, alignment: 8)
    private let nonceBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: SegmentCipher.nonceSize, alignment: 8)

    init() {
        aadBytes.initializeMemory(as: UInt8.self, repeating: 0)
        nonceBytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        aadBytes.deallocate()
        nonceBytes.deallocate()
    }

    var aad: UnsafeRawBufferPointer { UnsafeRawBufferPointer(aadBytes) }
    var nonce: UnsafeRawBufferPointer { UnsafeRawBufferPointer(nonceBytes) }
    var header: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: aadBytes[0..<EncryptionLayout.headerSize]) }
    /// Where a read header goes (checked by `streamKey(dek:)`).
    var headerBuffer: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: aadBytes[0..<EncryptionLayout.headerSize])
    }

    /// A fresh header: magic ‖ salt.
    func newHeader(salt: [UInt8]) {
        precondition(salt.count == EncryptionLayout.saltSize)
        let h = EncryptionLayout.magic + salt
        h.withUnsafeBytes { headerBuffer.copyMemory(from: $0) }
    }

    /// The stream key for the header in place and part number `part` (0: a single-stream
    /// object); nil when it is not a v1 header.
    func streamKey(dek: [UInt8], part: Int) -> [UInt8]? {
        let h = header
        guard h.starts(with: EncryptionLayout.magic), (0...10_000).contains(part) else { return nil }
        // Part 0 (a single stream) adds nothing: its input is shorter than any part's, so the
        // keys never coincide.
        let number = part == 0 ? [] : withUnsafeBytes(of: UInt32(part).bigEndian) { Array($0) }
        return HMAC.sha256(key: dek, data: Self.label + h[EncryptionLayout.magic.count...] + number)
    }

    /// Sets nonce and AAD for segment `index`.
    func segment(_ index: Int64, last: Bool) {
        let be = UInt64(index).bigEndian
        withUnsafeBytes(of: be) { b in
            UnsafeMutableRawBufferPointer(rebasing: nonceBytes[4..<12]).copyMemory(from: b)
            UnsafeMutableRawBufferPointer(rebasing: aadBytes[16..<24]).copyMemory(from: b)
        }
        aadBytes[24] = last ? 1 : 0
    }
}
