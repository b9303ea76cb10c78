import GatewayCore
import S3Protocol
import XCTest

final class S3ProtocolTests: XCTestCase {
    func testErrorXMLCarriesCodeMessageResourceAndRequestId() {
        let xml = S3Error(.noSuchKey, extra: [("Key", "a<b")]).xml(resource: "/b/a<b", requestId: "RID1")
        XCTAssert(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"), xml)
        XCTAssert(xml.contains("<Resource>/b/a&lt;b</Resource>"))
        XCTAssert(xml.contains("<Key>a&lt;b</Key>"))
        XCTAssert(xml.contains("<RequestId>RID1</RequestId>"))
        XCTAssertEqual(S3ErrorCode.noSuchKey.status, 404)
    }

    func testErrorTableHasUniqueCodes() {
        let codes = S3ErrorCode.all.map(\.code)
        XCTAssertEqual(Set(codes).count, codes.count)
        XCTAssertEqual(S3ErrorCode.signatureDoesNotMatch.status, 403)
        for c in S3ErrorCode.all {
            XCTAssert(c.status == 304 || (400..<600).contains(c.status), "\(c.code) has status \(c.status)")
            XCTAssertFalse(c.message.isEmpty, c.code)
        }
    }

    func testEscapesControlCharactersAndMarkup() {
        XCTAssertEqual(XMLWriter.escape("a&b<c>\"d'\u{1}\r"), "a&amp;b&lt;c&gt;&quot;d&apos;&#1;&#13;")
    }

    func testXMLParserReadsWithOrWithoutNamespaceAndRefusesDTDs() {
        let ns = XMLNode.parse(Array("<A xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><B>x</B></A>".utf8))
        XCTAssertEqual(ns?.child("B")?.text, "x")
        XCTAssertEqual(XMLNode.parse(Array("<A><B>y</B></A>".utf8))?.child("B")?.text, "y")
        XCTAssertNil(XMLNode.parse(Array("<A><B>".utf8)))
        XCTAssertNil(XMLNode.parse(Array("<!DOCTYPE A [<!ENTITY e \"boom\">]><A>&e;</A>".utf8)))
    }
}
