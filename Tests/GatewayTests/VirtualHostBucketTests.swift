import XCTest

@testable import Gateway

/// Which bucket a Host header names under the configured base domains: case-insensitive, the
/// port dropped, the bare domain and other hosts naming none.
final class VirtualHostBucketTests: XCTestCase {
    func testHostsTable() {
        let domains = ["s3.example.com", "s3.localhost"]
        let cases: [(String?, String?)] = [
            ("photos.s3.example.com", "photos"), ("Photos.S3.Example.COM", "photos"),
            ("photos.s3.example.com:8443", "photos"), ("a.b.s3.localhost:80", "a.b"),
            ("s3.example.com", nil), (".s3.example.com", nil), ("s3.example.com:443", nil),
            ("photos.example.com", nil), ("photos.s3.example.com.evil", nil), ("127.0.0.1:8080", nil),
            ("[::1]:9000", nil), ("photos.s3.example.com:", "photos"), ("photos.s3.example.com:8x", nil),
            (nil, nil), ("", nil), ("bücket.s3.example.com", "bücket"),
        ]
        for (host, bucket) in cases {
            XCTAssertEqual(S3Gateway.virtualHostBucket(host, baseDomains: domains), bucket, host ?? "nil")
        }
        XCTAssertNil(S3Gateway.virtualHostBucket("photos.s3.example.com", baseDomains: []))
    }
}
