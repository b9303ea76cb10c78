import GatewayCore
import S3Protocol
import XCTest

/// The XML forms of ACLs, public access blocks and ownership controls: parsing with its
/// errors, and the answers' shapes.
final class AccessControlXMLTests: XCTestCase {
    let users: Set<String> = ["aaaa", "cccc"]

    func body(_ grants: String, owner: String = "<Owner><ID>aaaa</ID><DisplayName>a</DisplayName></Owner>") -> [UInt8] {
        Array(
            ("<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(owner)<AccessControlList>"
                + grants + "</AccessControlList></AccessControlPolicy>").utf8)
    }

    func grant(_ grantee: String, _ type: String, _ permission: String) -> String {
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"\(type)\">\(grantee)"
            + "</Grantee><Permission>\(permission)</Permission></Grant>"
    }

    func testParsePolicy() throws {
        let parsed = try AccessControlXML.parsePolicy(
            body(
                grant("<ID> aaaa </ID><DisplayName>a</DisplayName>", "CanonicalUser", "FULL_CONTROL")
                    + grant("<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>", "Group", "READ")
                    + grant("<ID>cccc</ID>", "CanonicalUser", "WRITE_ACP")),
            userExists: users.contains)
        XCTAssertEqual(parsed.owner, "aaaa")
        XCTAssertEqual(
            parsed.acl.grants,
            [.init(.user("aaaa"), .fullControl), .init(.group(.allUsers), .read), .init(.user("cccc"), .writeACP)])
        // No grants at all is an empty ACL (S3 accepts it: nobody, the owner included, has access by ACL).
        XCTAssertEqual(try AccessControlXML.parsePolicy(body(""), userExists: users.contains).acl.grants, [])
        XCTAssertNil(try AccessControlXML.parsePolicy(body("", owner: ""), userExists: users.contains).owner)

        let rows: [([UInt8], S3ErrorCode, String?)] = [
            (Array("not xml".utf8), .malformedACLError, nil),
            (Array("<Other/>".utf8), .malformedACLError, nil),
            (
                Array("<AccessControlPolicy><Owner><ID>aaaa</ID></Owner></AccessControlPolicy>".utf8),
                .malformedACLError, nil
            ),
            (body(grant("<ID>aaaa</ID>", "CanonicalUser", "EVERYTHING")), .malformedACLError, nil),
            (body(grant("<ID>aaaa</ID>", "CanonicalUser", "")), .malformedACLError, nil),
            (body("<Grant><Permission>READ</Permission></Grant>"), .malformedACLError, nil),
            (body(grant("<DisplayName>a</DisplayName>", "CanonicalUser", "READ")), .malformedACLError, nil),
            (body(grant("<ID>ghost</ID>", "CanonicalUser", "READ")), .invalidArgument, "Invalid id"),
            (body(grant("<URI>http://example.com/group</URI>", "Group", "READ")), .invalidArgument, nil),
            (
                body(grant("<EmailAddress>x@example.com</EmailAddress>", "AmazonCustomerByEmail", "READ")),
                .unresolvableGrantByEmailAddress, nil
            ),
        ]
        for (bytes, code, message) in rows {
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertThrowsError(try AccessControlXML.parsePolicy(bytes, userExists: users.contains), text) { e in
                XCTAssertEqual((e as? S3Error)?.code, code, text)
                if let message { XCTAssertEqual((e as? S3Error)?.message, message, text) }
            }
        }
    }

    func testRenderedPolicyParsesBack() throws {
        let acl = AccessControlList([
            .init(.user("aaaa"), .fullControl), .init(.group(.authenticatedUsers), .read),
            .init(.user("cccc"), .readACP),
        ])
        let xml = AccessControlXML.policy(acl, owner: "aaaa", displayName: { "name-\($0)" })
        XCTAssertTrue(xml.contains("<Owner><ID>aaaa</ID><DisplayName>name-aaaa</DisplayName></Owner>"), xml)
        XCTAssertTrue(
            xml.contains(
                "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
                    + "<URI>http://acs.amazonaws.com/groups/global/AuthenticatedUsers</URI></Grantee>"
                    + "<Permission>READ</Permission></Grant>"), xml)
        XCTAssertEqual(acl.xml(owner: "aaaa", displayName: { "name-\($0)" }), xml)
        let back = try AccessControlXML.parsePolicy(Array(xml.utf8), userExists: users.contains)
        XCTAssertEqual(back.acl, acl)
        XCTAssertEqual(back.owner, "aaaa")
    }

    func testPublicAccessBlock() throws {
        let ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
        let parsed = try AccessControlXML.parsePublicAccessBlock(
            Array(
                "<PublicAccessBlockConfiguration \(ns)><BlockPublicAcls>true</BlockPublicAcls><RestrictPublicBuckets> TRUE </RestrictPublicBuckets></PublicAccessBlockConfiguration>"
                    .utf8))
        XCTAssertEqual(parsed, PublicAccessBlock(blockPublicAcls: true, restrictPublicBuckets: true))
        XCTAssertEqual(
            try AccessControlXML.parsePublicAccessBlock(Array("<PublicAccessBlockConfiguration/>".utf8)), .none)
        for bad in [
            "<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>",
            "<PublicAccessBlockConfiguration><Other>true</Other></PublicAccessBlockConfiguration>",
            "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>",
            "<PublicAccessBlock/>", "nope",
        ] {
            XCTAssertThrowsError(try AccessControlXML.parsePublicAccessBlock(Array(bad.utf8)), bad) {
                XCTAssertEqual(($0 as? S3Error)?.code, .malformedXML)
            }
        }
        let xml = PublicAccessBlock(ignorePublicAcls: true).xml
        XCTAssertTrue(
            xml.hasSuffix(
                "<PublicAccessBlockConfiguration \(ns)><BlockPublicAcls>false</BlockPublicAcls>"
                    + "<IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>false</BlockPublicPolicy>"
                    + "<RestrictPublicBuckets>false</RestrictPublicBuckets></PublicAccessBlockConfiguration>"), xml)
        XCTAssertEqual(
            try AccessControlXML.parsePublicAccessBlock(Array(xml.utf8)), PublicAccessBlock(ignorePublicAcls: true))
    }

    func testOwnershipControls() throws {
        for o in ObjectOwnership.allCases {
            let xml = o.xml
            XCTAssertTrue(xml.contains("<Rule><ObjectOwnership>\(o.rawValue)</ObjectOwnership></Rule>"), xml)
            XCTAssertEqual(try AccessControlXML.parseOwnershipControls(Array(xml.utf8)), o)
        }
        for bad in [
            "<OwnershipControls><Rule><ObjectOwnership>Nobody</ObjectOwnership></Rule></OwnershipControls>",
            "<OwnershipControls><Rule/></OwnershipControls>", "<OwnershipControls/>",
            "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>",
        ] {
            XCTAssertThrowsError(try AccessControlXML.parseOwnershipControls(Array(bad.utf8)), bad) {
                XCTAssertEqual(($0 as? S3Error)?.code, .malformedXML)
            }
        }
    }

    func testPolicyStatus() {
        XCTAssertTrue(
            AccessControlXML.policyStatus(isPublic: true).hasSuffix("<IsPublic>true</IsPublic></PolicyStatus>"))
        XCTAssertTrue(
            AccessControlXML.policyStatus(isPublic: false).hasSuffix("<IsPublic>false</IsPublic></PolicyStatus>"))
    }
}
