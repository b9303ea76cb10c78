import GatewayCore
import S3Protocol
import XCTest

final class LifecycleXMLTests: XCTestCase {
    func doc(_ rules: String) -> [UInt8] {
        Array(
            "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(rules)</LifecycleConfiguration>"
                .utf8)
    }

    func rule(_ body: String, id: String = "r1", status: String = "Enabled", filter: String = "<Filter></Filter>")
        -> String
    {
        "<Rule><ID>\(id)</ID>\(filter)<Status>\(status)</Status>\(body)</Rule>"
    }

    func refuse(
        _ bytes: [UInt8], _ code: S3ErrorCode, _ message: String? = nil, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        do {
            let c = try LifecycleXML.parse(bytes)
            XCTFail("accepted: \(c)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, error.message, file: file, line: line)
            if let message { XCTAssertEqual(error.message, message, file: file, line: line) }
        }
    }

    func testParsesEveryActionAndFilterShape() throws {
        let c = try LifecycleXML.parse(
            doc(
                rule(
                    "<Expiration><Days>30</Days></Expiration>", id: "days",
                    filter: "<Filter><Prefix>logs/</Prefix></Filter>")
                    + rule(
                        "<Expiration><Date>2027-01-01T00:00:00.000Z</Date></Expiration>", id: "date",
                        filter: "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")
                    + rule(
                        "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
                        id: "marker", filter: "<Prefix>old/</Prefix>")
                    + rule(
                        "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>",
                        id: "nc", status: "Disabled",
                        filter:
                            "<Filter><And><Prefix>a/</Prefix><Tag><Key>t</Key><Value>1</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>"
                    )
                    + rule(
                        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
                        id: "abort", filter: "<Filter><Prefix>tmp/</Prefix></Filter>")))
        XCTAssertEqual(c.ruleIds, ["days", "date", "marker", "nc", "abort"])
        XCTAssertEqual(c.rules[0].expiration, .days(30))
        XCTAssertEqual(c.rules[0].filter.prefix, "logs/")
        XCTAssertEqual(c.rules[1].expiration, .date(1_798_761_600))
        XCTAssertEqual(c.rules[1].filter.tags, [Header("k", "v")])
        XCTAssertEqual(c.rules[2].filter.shape, .legacyPrefix)
        XCTAssertEqual(c.rules[2].expiration, .expiredObjectDeleteMarker(true))
        XCTAssertFalse(c.rules[3].enabled)
        XCTAssertEqual(
            c.rules[3].noncurrentExpiration, NoncurrentVersionExpiration(noncurrentDays: 7, newerNoncurrentVersions: 3))
        XCTAssertEqual(
            c.rules[3].filter,
            LifecycleFilter(shape: .and, prefix: "a/", tags: [Header("t", "1")], sizeGreaterThan: 10, sizeLessThan: 100)
        )
        XCTAssertEqual(c.rules[4].abortIncompleteUploadDays, 2)
        XCTAssertEqual(c.rules[4].filter.prefix, "tmp/")

        // The transition minimum size rides along as a root attribute the reader skips.
        let kept = LifecycleXML.render(c, transitionMinimumSize: "varies_by_storage_class")
        XCTAssertEqual(try LifecycleXML.parse(Array(kept.utf8)), c)
        XCTAssertEqual(LifecycleXML.stored(kept).transitionMinimumSize, "varies_by_storage_class")
        XCTAssertEqual(LifecycleXML.stored(kept).document, LifecycleXML.render(c))
        XCTAssertEqual(LifecycleXML.stored(LifecycleXML.render(c)).transitionMinimumSize, "all_storage_classes_128K")

        // The canonical document reads back to the same configuration, and renders the same.
        let xml = LifecycleXML.render(c)
        let again = try LifecycleXML.parse(Array(xml.utf8))
        XCTAssertEqual(again, c)
        XCTAssertEqual(LifecycleXML.render(again), xml)
        XCTAssert(xml.contains("<Prefix>old/</Prefix><Status>"), xml)
        XCTAssert(xml.contains("<Date>2027-01-01T00:00:00.000Z</Date>"), xml)
    }

    func testRuleWithoutIdIsNamed() throws {
        let c = try LifecycleXML.parse(
            doc("<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"))
        XCTAssertEqual(c.rules[0].id.count, 32)
        XCTAssertEqual(c.rules[0].filter, LifecycleFilter())
    }

    func testMalformedShapes() {
        let days = "<Expiration><Days>1</Days></Expiration>"
        refuse(Array("<Other/>".utf8), .malformedXML)
        refuse(Array("<LifecycleConfiguration>".utf8), .malformedXML)
        refuse(doc(""), .malformedXML)
        refuse(doc(rule(days, status: "On")), .malformedXML)
        refuse(doc("<Rule><ID>x</ID><Filter/><Expiration><Days>1</Days></Expiration></Rule>"), .malformedXML)
        // Both the legacy Prefix and a Filter, or neither.
        refuse(doc(rule(days, filter: "<Prefix>a</Prefix><Filter/>")), .malformedXML)
        refuse(doc(rule(days, filter: "")), .malformedXML)
        // Two conditions directly in Filter (they need And).
        refuse(
            doc(rule(days, filter: "<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")),
            .malformedXML)
        refuse(doc(rule(days, filter: "<Filter><Color>red</Color></Filter>")), .malformedXML)
        refuse(doc(rule("<Expiration><Days>one</Days></Expiration>")), .malformedXML)
        refuse(
            doc(
                rule(
                    "<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
                )), .malformedXML)
        refuse(doc(rule("<Expiration></Expiration>")), .malformedXML)
        refuse(
            doc(
                rule(
                    "<NoncurrentVersionExpiration><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
                )), .malformedXML)
        refuse(doc(rule("<AbortIncompleteMultipartUpload></AbortIncompleteMultipartUpload>")), .malformedXML)
        refuse(doc(String(repeating: rule(days, id: ""), count: 1001)), .malformedXML)
    }

    func testS3ValueErrors() {
        let days = "<Expiration><Days>1</Days></Expiration>"
        refuse(
            doc(rule(days, id: String(repeating: "x", count: 256))), .invalidArgument,
            "ID length should not exceed allowed limit of 255")
        refuse(
            doc(rule(days, id: "same") + rule(days, id: "same")), .invalidArgument,
            "Rule ID must be unique. Found same ID for more than one rule")
        refuse(doc(rule("")), .invalidRequest, "At least one action needs to be specified in a rule")
        refuse(
            doc(rule("<Expiration><Days>0</Days></Expiration>")), .invalidArgument,
            "'Days' for Expiration action must be a positive integer")
        refuse(
            doc(rule("<Expiration><Date>2027-01-01T12:00:00Z</Date></Expiration>")), .invalidArgument,
            "'Date' must be at midnight GMT")
        refuse(doc(rule("<Expiration><Date>soon</Date></Expiration>")), .invalidArgument)
        refuse(
            doc(rule("<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>")),
            .invalidArgument,
            "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
        for n in [0, 101] {
            refuse(
                doc(
                    rule(
                        "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>\(n)</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
                    )), .invalidArgument)
        }
        refuse(
            doc(
                rule(
                    "<AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
                )), .invalidArgument,
            "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
        let tagFilter = "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
        refuse(
            doc(
                rule(
                    "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
                    filter: tagFilter)),
            .invalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags.")
        refuse(
            doc(
                rule(
                    "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
                    filter: tagFilter)), .invalidRequest)
        refuse(
            doc(
                rule(
                    days,
                    filter:
                        "<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>"
                )), .invalidArgument)
        refuse(
            doc(
                rule(
                    days,
                    filter:
                        "<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter>"
                )), .invalidRequest)
    }

    func testTransitionsAreNotImplementedAndUnknownClassesInvalid() {
        refuse(
            doc(rule("<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>")), .notImplemented)
        refuse(
            doc(
                rule(
                    "<NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>"
                )), .notImplemented)
        refuse(
            doc(rule("<Transition><Days>30</Days><StorageClass>PLATINUM</StorageClass></Transition>")),
            .invalidStorageClass)
    }

    /// S3 reads a rule against its schema: an element it does not know, or a second one of an
    /// element that occurs once, is MalformedXML, never part of the rule silently dropped.
    func testUnknownAndRepeatedElementsAreMalformed() throws {
        let days = "<Expiration><Days>30</Days></Expiration>"
        let noncurrent = "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays></NoncurrentVersionExpiration>"
        let abort =
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
        // Each of these alone is a valid rule.
        for body in [days, noncurrent, abort] { XCTAssertNoThrow(try LifecycleXML.parse(doc(rule(body)))) }
        for bad in [
            rule(days + "<Expirations><Days>1</Days></Expirations>"),  // unknown element in a Rule
            rule(days + "<Bogus/>"),
            rule(days + "<Expiration><Days>1</Days></Expiration>"),  // a second Expiration
            rule(noncurrent + noncurrent),
            rule(abort + abort),
            rule(days, filter: "<Filter><Prefix>a/</Prefix></Filter><Filter><Prefix>b/</Prefix></Filter>"),
            rule(days, filter: "<Prefix>a/</Prefix><Prefix>b/</Prefix>"),
            "<Rule><ID>a</ID><ID>b</ID><Filter></Filter><Status>Enabled</Status>\(days)</Rule>",
            "<Rule><ID>a</ID><Filter></Filter><Status>Enabled</Status><Status>Disabled</Status>\(days)</Rule>",
            // Unknown or repeated elements inside an action or a tag.
            rule("<Expiration><Days>30</Days><Days>31</Days></Expiration>"),
            rule("<Expiration><Days>30</Days><Unknown>1</Unknown></Expiration>"),
            rule(
                "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><Days>1</Days></NoncurrentVersionExpiration>"
            ),
            rule(
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            ),
            rule(days, filter: "<Filter><Tag><Key>k</Key><Value>v</Value><Extra/></Tag></Filter>"),
            rule("<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass><Bogus/></Transition>"),
            // Only rules at the top.
            rule(days) + "<Bogus/>",
        ] {
            refuse(doc(bad), .malformedXML)
        }
        // Transitions repeat (flattened lists): two of them are still the NotImplemented answer.
        refuse(
            doc(
                rule(
                    "<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>"
                        + "<Transition><Days>60</Days><StorageClass>DEEP_ARCHIVE</StorageClass></Transition>")),
            .notImplemented)
        // Every element a rule may hold, once each (no transition): accepted, and the canonical
        // document GET answers reads back the same.
        let full = try LifecycleXML.parse(
            doc(
                "<Rule><ID>all</ID><Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status>\(days)\(noncurrent)\(abort)</Rule>"
            ))
        XCTAssertEqual(try LifecycleXML.parse(Array(LifecycleXML.render(full).utf8)), full)
    }
}
