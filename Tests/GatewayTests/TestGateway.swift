import Gateway
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import XCTest

/// Drives S3Gateway.handle with signed requests against in-memory doubles: no sockets, no files.
final class TestGateway {
    static let accessKey = "AKIDHANDLERTEST"
    static let secretKey = "handler-test-secret"
    static let now: Double = 1_700_000_000  // 2023-11-14T22:13:20Z
    static let amzDate = "20231114T221320Z"

    let metadata = InMemoryMetadataStore()
    let identityStore: InMemoryIdentityStore
    /// The canonical id of the root user (the owner of the buckets the test key creates).
    var rootID: String { try! identityStore.user(tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser)!.id }
    /// One in-memory zone per catalog zone; `zone` is the default one, "zone-a".
    let zones: [String: InMemoryZone]
    var zone: InMemoryZone { zones["zone-a"]! }
    let gateway: S3Gateway
    let context: GatewayContext
    /// The CGI parameters of the last request `send` handed the gateway (its Authorization too).
    private(set) var lastParams: [String: String] = [:]

    struct Response {
        var status: Int
        var headers: [Header]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
        /// The `<Code>` of an S3 error body.
        var errorCode: String? {
            guard let r = text.range(of: "<Code>"), let e = text.range(of: "</Code>") else { return nil }
            return String(text[r.upperBound..<e.lowerBound])
        }
    }

    /// A fixed master key: sealing in tests needs no key file.
    static let box = SecretBox(keys: [MasterKey(bytes: Array(repeating: 9, count: 32))!])

    /// The identity store over `metadata`, with the root user holding the test key pair (as the
    /// bootstrap makes it at every start).
    static func identities(_ metadata: InMemoryMetadataStore, clock: any Clock = FixedClock(now)) -> (
        InMemoryIdentityStore, Identities
    ) {
        let store = InMemoryIdentityStore(metadata: metadata)
        try! IdentityBootstrap.ensureRoot(
            accessKey: accessKey, secret: secretKey, identities: store, metadata: metadata, box: box, now: now)
        return (store, Identities(store: store, secretBox: box, clock: clock, ttl: 0))
    }

    final class Recorder: ResponseSink {
        var status = 0
        var headers: [Header] = []
        var body: [UInt8] = []
        func sendHead(status: Int, headers: [Header]) throws {
            self.status = status
            self.headers = headers
        }
        func write(_ bytes: UnsafeRawBufferPointer) throws { body.append(contentsOf: bytes) }
    }

    init(
        zones catalogZones: [ZoneCatalog.Zone] = [ZoneCatalog.Zone(name: "zone-a", country: "se", region: "se-sto")],
        replication: ReplicationSettings = ReplicationSettings(), clock: any Clock = FixedClock(TestGateway.now),
        metrics: GatewayMetrics? = nil, configure: (inout GatewayContext) -> Void = { _ in },
        wrapZone: (InMemoryZone) -> any StorageZone = { $0 }
    ) {
        var zones = ["zone-a": InMemoryZone(name: "zone-a")]
        for z in catalogZones where zones[z.name] == nil { zones[z.name] = InMemoryZone(name: z.name) }
        self.zones = zones
        let (identityStore, identities) = Self.identities(metadata)
        self.identityStore = identityStore
        var context = GatewayContext(
            metadata: metadata, zones: zones.mapValues(wrapZone),
            catalog: ZoneCatalog(zones: catalogZones, defaultZone: "zone-a"),
            identities: identities, clock: clock,
            installationSecret: Array(repeating: 7, count: 32), logger: Logger(label: "test"),
            baseDomains: ["s3.example.test"], replication: replication, metrics: metrics)
        configure(&context)
        self.context = context
        gateway = S3Gateway(context: context)
    }

    /// Sends a request signed with SigV4 (hex payload hash) unless `sign` is false; by the root
    /// key unless `accessKey` names another.
    @discardableResult
    func send(
        _ method: String, _ uri: String, body: [UInt8] = [], headers extra: [(String, String)] = [],
        sign: Bool = true, payloadHash: String? = nil, accessKey: String = TestGateway.accessKey,
        secret: String = TestGateway.secretKey, host: String = "127.0.0.1:8080", remoteAddress: String? = nil,
        https: Bool = false, params extraParams: [String: String] = [:], bodySource: (any ByteSource)? = nil
    ) -> Response {
        var headers: [(name: String, value: String)] = [
            ("host", host), ("x-amz-date", Self.amzDate),
            ("x-amz-content-sha256", payloadHash ?? hexEncode(Digest.hash(.sha256, body))),
        ]
        headers += extra.map { (name: $0.0.lowercased(), value: $0.1) }
        // S3GW_ACCEL as nginx's configs send it (they have the zones' internal locations).
        var params: [String: String] = ["REQUEST_METHOD": method, "REQUEST_URI": uri, "S3GW_ACCEL": "1"]
        if let remoteAddress { params["REMOTE_ADDR"] = remoteAddress }
        if https { params["HTTPS"] = "on" }
        params.merge(extraParams) { $1 }
        if sign {
            let (auth, _) = Signer.sign(
                method: method, rawURI: uri, headers: headers, payloadHash: headers[2].value,
                accessKey: accessKey, secretKey: secret, region: "us-east-1", service: "s3", amzDate: Self.amzDate)
            params["HTTP_AUTHORIZATION"] = auth
        }
        for h in headers { params["HTTP_" + h.name.uppercased().replacingOccurrences(of: "-", with: "_")] = h.value }
        if !body.isEmpty { params["CONTENT_LENGTH"] = String(body.count) }
        lastParams = params
        let recorder = Recorder()
        gateway.handle(params: params, body: bodySource ?? MemorySource(body), response: recorder)
        return Response(status: recorder.status, headers: recorder.headers, body: recorder.body)
    }
}
