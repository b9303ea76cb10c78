import GatewayCore
import XCTest

@testable import SigV4

/// Data keys wrapped in envelopes: they open only under their key and their own envelope.
final class DataKeyTests: XCTestCase {
    func testWrapUnwrap() throws {
        let kek = randomBytes(32)
        let (dek, e) = DataKey.generate(mode: .kms("k1"), kekId: "k1", kekVersion: 2, wrappingKey: kek)
        XCTAssertEqual(dek.count, 32)
        XCTAssertEqual(base64Decode(e.wrapped)?.count, 12 + 32 + 16)
        XCTAssertEqual(try DataKey.unwrap(e, with: kek), dek)
        // Through the row text and back.
        XCTAssertEqual(try DataKey.unwrap(try XCTUnwrap(SSEEnvelope.decode(e.encoded)), with: kek), dek)
        // Two objects never share a DEK.
        XCTAssertNotEqual(DataKey.generate(mode: .kms("k1"), kekId: "k1", kekVersion: 2, wrappingKey: kek).dataKey, dek)
    }

    func testWrongKeyOrEnvelope() {
        let customer = randomBytes(32)
        let (_, e) = DataKey.generate(mode: .customer, kekId: "", kekVersion: 0, wrappingKey: customer)
        XCTAssertThrowsError(try DataKey.unwrap(e, with: randomBytes(32))) {
            XCTAssertEqual($0 as? SSEError, .wrongKey)
        }
        XCTAssertThrowsError(try DataKey.unwrap(e, with: Array(customer.prefix(16)))) {
            XCTAssertEqual($0 as? SSEError, .wrongKey)
        }
        // The wrapped DEK moved to an envelope claiming another mode, key or version does not open.
        let kek = randomBytes(32)
        let (_, k) = DataKey.generate(mode: .kms("k1"), kekId: "k1", kekVersion: 1, wrappingKey: kek)
        for other in [
            SSEEnvelope(mode: .s3, kekId: "k1", kekVersion: 1, wrapped: k.wrapped),
            SSEEnvelope(mode: .kms("k2"), kekId: "k2", kekVersion: 1, wrapped: k.wrapped),
            SSEEnvelope(mode: .kms("k1"), kekId: "k1", kekVersion: 2, wrapped: k.wrapped),
        ] {
            XCTAssertThrowsError(try DataKey.unwrap(other, with: kek)) { XCTAssertEqual($0 as? SSEError, .wrongKey) }
        }
        var damaged = k
        damaged.wrapped = "not base64!"
        XCTAssertThrowsError(try DataKey.unwrap(damaged, with: kek)) {
            XCTAssertEqual($0 as? SSEError, .corrupt("malformed wrapped data key"))
        }
    }

    func testRewrapKeepsTheDataKey() throws {
        let (old, new) = (randomBytes(32), randomBytes(32))
        let (dek, before) = DataKey.generate(mode: .s3, kekId: "t", kekVersion: 1, wrappingKey: old)
        var e = before
        e.kekVersion = 2
        DataKey.wrap(try DataKey.unwrap(before, with: old), into: &e, under: new)
        XCTAssertEqual(try DataKey.unwrap(e, with: new), dek)
        XCTAssertThrowsError(try DataKey.unwrap(e, with: old))
    }
}
