internal import COpenSSL
import Foundation

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Lowercase hex, the form every SigV4 signature and payload hash uses.
public func hexEncode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    appendHex(bytes, to: &out)
    return String(decoding: out, as: UTF8.self)
}

/// `hexEncode`'s bytes appended to `out` (a string to sign ends with a hash in hex).
func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
    for b in bytes {
        out.append(hexDigits[Int(b >> 4)])
        out.append(hexDigits[Int(b & 0x0f)])
    }
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Accepts either case; nil on odd length or a non-hex character.
public func hexDecode(_ s: String) -> [UInt8]? {
    let chars = Array(s.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out = [UInt8]()
    out.reserveCapacity(chars.count / 2)
    var i = 0
    while i < chars.count {
        guard let hi = hexValue(chars[i]), let lo = hexValue(chars[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

public func base64Encode(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString()
}

/// Strict: no whitespace, no missing padding (S3 rejects both in Content-MD5 and checksums).
public func base64Decode(_ s: String) -> [UInt8]? {
    guard let data = Data(base64Encoded: s) else { return nil }
    return [UInt8](data)
}

/// Signature comparison must not leak how many leading characters matched; the length of a
/// signature is public, so an early return on length is fine.
public func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    if x.isEmpty { return true }
    return x.withUnsafeBytes { px in
        y.withUnsafeBytes { py in
            CRYPTO_memcmp(px.baseAddress, py.baseAddress, x.count) == 0
        }
    }
}
