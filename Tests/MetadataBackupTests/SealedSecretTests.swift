import Foundation
import Gateway
import GatewayCore
import MetadataSQL
import MetadataSQLite
import SigV4
import XCTest

/// `s3gw keys rotate` re-seals the installation secret the store carries for backups.
final class SealedSecretTests: XCTestCase {
    func testRotationResealsTheInstallationSecret() throws {
        let dir = NSTemporaryDirectory() + "sealed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLMetadataStore(sqlitePath: dir + "/m.sqlite")
        let secret = randomBytes(32)
        let old = SecretBox(keys: [MasterKey.generate()])
        try SealedInstallationSecret.record(secret, box: old, store: store)
        let new = SecretBox(keys: [MasterKey.generate()])
        XCTAssertNil(try SealedInstallationSecret.recover(store: store, box: new))
        XCTAssertTrue(
            try SealedInstallationSecret.reseal(
                store: store, opening: SecretBox(keys: old.keys + new.keys), sealing: new))
        XCTAssertEqual(try SealedInstallationSecret.recover(store: store, box: new), secret)
        // A key that opens nothing: reported, left alone.
        let stranger = SecretBox(keys: [MasterKey.generate()])
        XCTAssertFalse(try SealedInstallationSecret.reseal(store: store, opening: stranger, sealing: stranger))
        XCTAssertEqual(try SealedInstallationSecret.recover(store: store, box: new), secret)
    }
}
