import Gateway
import GatewayCore
import Synchronization
import XCTest

/// Every request hands its observers one trace with the facts the operations log, the metrics
/// and the audit chain record.
final class RequestTraceTests: XCTestCase {
    final class Collector: RequestObserver, @unchecked Sendable {
        let traces = Mutex<[RequestTrace]>([])
        func requestFinished(_ trace: RequestTrace) { traces.withLock { $0.append(trace) } }
        var all: [RequestTrace] { traces.withLock { $0 } }
    }

    func gateway() -> (TestGateway, Collector) {
        let collector = Collector()
        let gw = TestGateway { $0.observers = [collector] }
        return (gw, collector)
    }

    func testAnS3RequestIsTracedWithItsOperationAndBytes() {
        let (gw, seen) = gateway()
        XCTAssertEqual(gw.send("PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/a%20b.jpg", body: Array(repeating: 1, count: 1000)).status, 200)
        let get = gw.send("GET", "/photos/a%20b.jpg", headers: [("User-Agent", "tester/1.0")])
        XCTAssertEqual(get.body.count, 1000)
        let traces = seen.all
        XCTAssertEqual(traces.map(\.operation), ["CreateBucket", "PutObject", "GetObject"])
        let put = traces[1]
        XCTAssertEqual(put.origin, .s3)
        XCTAssertEqual(put.bucket, "photos")
        XCTAssertEqual(put.key, "a b.jpg")
        XCTAssertEqual(put.bytesIn, 1000)
        XCTAssertEqual(put.zones, ["zone-a"])
        XCTAssertEqual(put.status, 200)
        XCTAssertEqual(put.accessKey, TestGateway.accessKey)
        XCTAssertEqual(put.tenant, TenantRecord.defaultID)
        XCTAssertNil(put.errorCode)
        XCTAssertEqual(traces[2].bytesOut, 1000)
        XCTAssertEqual(traces[2].userAgent, "tester/1.0")
        XCTAssertNotNil(traces[2].finished)
        XCTAssertEqual(Set(traces.map(\.requestId)).count, 3)
    }

    func testListVersionsAndCopiesAreNamedAsAWSNamesThem() {
        let (gw, seen) = gateway()
        gw.send("PUT", "/b")
        gw.send("PUT", "/b/k", body: [1])
        gw.send("PUT", "/b/k2", headers: [("x-amz-copy-source", "/b/k")])
        gw.send("GET", "/b?list-type=2")
        gw.send("GET", "/b")
        gw.send("HEAD", "/b/k")
        XCTAssertEqual(
            seen.all.map(\.operation),
            ["CreateBucket", "PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "HeadObject"])
    }

    func testAFailedRequestCarriesItsErrorCode() {
        let (gw, seen) = gateway()
        XCTAssertEqual(gw.send("GET", "/nobucket/k").status, 404)
        let t = seen.all[0]
        XCTAssertEqual(t.status, 404)
        XCTAssertEqual(t.errorCode, "NoSuchBucket")
        XCTAssertNil(t.authFailure)
    }

    func testAnAuthenticationFailureNamesItsReasonAndNoPrincipal() {
        let (gw, seen) = gateway()
        XCTAssertEqual(gw.send("GET", "/", secret: "wrong").status, 403)
        XCTAssertEqual(gw.send("GET", "/", accessKey: "AKIDUNKNOWN").status, 403)
        let traces = seen.all
        XCTAssertEqual(traces.map(\.authFailure), ["SignatureDoesNotMatch", "InvalidAccessKeyId"])
        XCTAssertEqual(traces.map(\.errorCode), ["SignatureDoesNotMatch", "InvalidAccessKeyId"])
        XCTAssertEqual(traces.map(\.tenant), [nil, nil])
    }

    func testAdminRequestsAreTracedWithTheirPermissionName() {
        let (gw, seen) = gateway()
        XCTAssertEqual(gw.send("GET", "/admin/tenants/\(TenantRecord.defaultID)/users").status, 200)
        XCTAssertEqual(gw.send("GET", "/admin/nothing-here").status, 404)
        let traces = seen.all
        XCTAssertEqual(traces[0].origin, .admin)
        XCTAssertEqual(traces[0].operation, "admin:ListUsers")
        XCTAssertNil(traces[0].errorCode)
        XCTAssertEqual(traces[1].errorCode, "NotFound")
    }

    func testTheTraceIsTheThreadsOnlyWhileItRuns() {
        XCTAssertNil(RequestTrace.current)
        let outer = RequestTrace(requestId: "outer", origin: .agent, started: 0)
        let inner = RequestTrace(requestId: "inner", origin: .cli, started: 0)
        outer.run {
            XCTAssertEqual(RequestTrace.current?.requestId, "outer")
            inner.run { XCTAssertEqual(RequestTrace.current?.requestId, "inner") }
            XCTAssertEqual(RequestTrace.current?.requestId, "outer")
        }
        XCTAssertNil(RequestTrace.current)
        outer.touched(zone: "a")
        outer.touched(zone: "b")
        outer.touched(zone: "a")
        XCTAssertEqual(outer.zones, ["a", "b"])
    }
}
