import GatewayCore
import S3Protocol
import XCTest

final class CORSXMLTests: XCTestCase {
    static let minimal = "<AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"

    func document(_ rules: String...) -> [UInt8] {
        Array(
            ("<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + rules.map { "<CORSRule>\($0)</CORSRule>" }.joined() + "</CORSConfiguration>").utf8)
    }

    func code(_ bytes: [UInt8]) -> String? {
        do {
            _ = try CORSXML.parse(bytes)
            return nil
        } catch { return error.code.code }
    }

    func testShapeErrorsAreMalformedXML() {
        let m = Self.minimal
        let cases: [(String, [UInt8])] = [
            ("not XML", Array("<CORSConfiguration>".utf8)),
            ("another root", Array("<LifecycleConfiguration><CORSRule>\(m)</CORSRule></LifecycleConfiguration>".utf8)),
            ("no rule", Array("<CORSConfiguration></CORSConfiguration>".utf8)),
            ("101 rules", document(contentsOf: Array(repeating: m, count: 101))),
            ("another element", Array("<CORSConfiguration><Rule>\(m)</Rule></CORSConfiguration>".utf8)),
            ("text in the root", Array("<CORSConfiguration>x<CORSRule>\(m)</CORSRule></CORSConfiguration>".utf8)),
            ("an empty rule", document("")),
            ("no AllowedOrigin", document("<AllowedMethod>GET</AllowedMethod>")),
            ("no AllowedMethod", document("<AllowedOrigin>*</AllowedOrigin>")),
            ("a second rule without AllowedMethod", document(m, "<AllowedOrigin>*</AllowedOrigin>")),
            ("an unknown element", document(m + "<AllowedHeaders>*</AllowedHeaders>")),
            ("another case", document(m + "<allowedheader>*</allowedheader>")),
            (
                "an element in a value",
                document("<AllowedOrigin><O>*</O></AllowedOrigin><AllowedMethod>GET</AllowedMethod>")
            ),
            ("text in a rule", document(m + "text")),
            ("MaxAgeSeconds empty", document(m + "<MaxAgeSeconds></MaxAgeSeconds>")),
            ("MaxAgeSeconds a word", document(m + "<MaxAgeSeconds>hour</MaxAgeSeconds>")),
            ("MaxAgeSeconds negative", document(m + "<MaxAgeSeconds>-1</MaxAgeSeconds>")),
            ("MaxAgeSeconds fraction", document(m + "<MaxAgeSeconds>1.5</MaxAgeSeconds>")),
            ("MaxAgeSeconds above 32 bits", document(m + "<MaxAgeSeconds>2147483648</MaxAgeSeconds>")),
            ("MaxAgeSeconds twice", document(m + "<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>1</MaxAgeSeconds>")),
            ("ID of 256", document(m + "<ID>\(String(repeating: "a", count: 256))</ID>")),
            ("ID twice", document(m + "<ID>a</ID><ID>b</ID>")),
            // The shape is checked before the values.
            ("shape before method", document("<AllowedMethod>PATCH</AllowedMethod>")),
        ]
        for (name, body) in cases { XCTAssertEqual(code(body), "MalformedXML", name) }
    }

    func document(contentsOf rules: [String]) -> [UInt8] {
        Array(
            ("<CORSConfiguration>" + rules.map { "<CORSRule>\($0)</CORSRule>" }.joined() + "</CORSConfiguration>").utf8)
    }

    func testValueErrorsAreInvalidRequest() throws {
        XCTAssertEqual(
            code(document("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>")), "InvalidRequest")
        XCTAssertEqual(
            code(document("<AllowedOrigin>**</AllowedOrigin><AllowedMethod>GET</AllowedMethod>")), "InvalidRequest")
        XCTAssertEqual(code(document(Self.minimal + "<ExposeHeader>*</ExposeHeader>")), "InvalidRequest")
        XCTAssertNil(code(document(contentsOf: Array(repeating: Self.minimal, count: 100))))
        XCTAssertNil(code(document(Self.minimal + "<ID>\(String(repeating: "a", count: 255))</ID>")))
    }

    func testRoundTripIsCanonical() throws {
        let body = document(
            "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds> 3000 </MaxAgeSeconds><AllowedHeader>x-amz-*</AllowedHeader>"
                + "<AllowedOrigin>https://a&amp;b</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><ID>site</ID>"
                + "<AllowedMethod>GET</AllowedMethod>",
            Self.minimal)
        let c = try CORSXML.parse(body)
        XCTAssertEqual(
            c.rules[0],
            CORSRule(
                id: "site", allowedMethods: ["PUT", "GET"], allowedOrigins: ["https://a&b"],
                allowedHeaders: ["x-amz-*"],
                exposeHeaders: ["ETag"], maxAgeSeconds: 3000))
        XCTAssertEqual(c.rules[1], CORSRule(allowedMethods: ["GET"], allowedOrigins: ["*"]))
        let xml = CORSXML.render(c)
        XCTAssertEqual(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<CORSRule><ID>site</ID><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>"
                + "<AllowedOrigin>https://a&amp;b</AllowedOrigin><AllowedHeader>x-amz-*</AllowedHeader>"
                + "<MaxAgeSeconds>3000</MaxAgeSeconds><ExposeHeader>ETag</ExposeHeader></CORSRule>"
                + "<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule>"
                + "</CORSConfiguration>")
        XCTAssertEqual(try CORSXML.parse(Array(xml.utf8)), c)
    }
}
