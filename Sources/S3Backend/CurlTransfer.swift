internal import CCurl
import Foundation
import GatewayCore

#if canImport(Glibc)
    internal import Glibc
#endif

/// One HTTP exchange driven through libcurl's multi interface, so a blocking caller moves it
/// forward at its own pace: `read` pulls response bytes (a download is a `ByteSource`),
/// `write` pushes request bytes (an upload is a `ByteSink`). Transfers pause instead of
/// buffering when one side is slower, so memory stays bounded by `bufferLimit`.
///
/// Every wait on the provider is bounded by the request's `ZoneTimeouts`: curl bounds the
/// connect; this class bounds the wait for the response headers (from the end of the request)
/// and every wait for a body byte in either direction (no progress for `stall` seconds). A
/// provider that accepts the connection and then says nothing (a stopped process) costs a
/// caller one bound, never a hang.
final class CurlTransfer: HTTPExchange {
    struct Options {
        var verifyTLS = true
        var caBundle: String?
    }

    private let multi: UnsafeMutableRawPointer
    private let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let bufferLimit = 1 << 20
    private let timeouts: ZoneTimeouts
    private let startedAt = monotonicSeconds()
    private let uploadLength: Int64

    private(set) var status = 0
    /// The blank line after a final status's headers is in (the status alone may come first).
    private var headersDone = false
    private(set) var responseHeaders: [(String, String)] = []
    private var recv = ByteQueue()
    private var recvPaused = false
    private var send = ByteQueue()
    private var sendClosed = false
    private var sendPaused = false
    private var done = false
    private var result = CURLE_OK
    private var aborted = false
    /// Request body bytes curl has taken.
    private var sent: Int64 = 0
    /// Bytes moved between curl and the provider in either direction (body bytes taken,
    /// header and body bytes received): what the stall bound watches.
    private var moved: Int64 = 0
    private var connected = false
    /// Request bytes in the socket that the provider's host has not acknowledged yet, as last seen.
    private var unacknowledged = 0
    /// When the whole request was on its way: the response bound counts from here.
    private var requestSentAt: Double?

    init(
        method: String, url: String, headers: [(name: String, value: String)], uploadLength: Int64?,
        timeouts: ZoneTimeouts, options: Options
    ) throws(StoreError) {
        if let failure = CurlGlobal.failure { throw .internalFailure(failure) }
        guard let handles = CurlHandlePool.take() else { throw .internalFailure("curl init failed") }
        multi = handles.multi
        easy = handles.easy
        self.timeouts = timeouts
        self.uploadLength = uploadLength ?? 0
        // From here on a throw runs deinit, which drops the handles (they may be half set up).
        let me = Unmanaged.passUnretained(self).toOpaque()
        try setopt(CURLOPT_URL) { ccurl_setopt_str(easy, $0, url) }
        try setopt(CURLOPT_NOSIGNAL) { ccurl_setopt_long(easy, $0, 1) }
        // The path is signed as sent: curl must not squash a key's "/../" or "/./" segments.
        try setopt(CURLOPT_PATH_AS_IS) { ccurl_setopt_long(easy, $0, 1) }
        // 0 would mean curl's default (300 s): the shortest bound is 1 ms.
        let connectMS = max(1, Int(timeouts.connect * 1000))
        try setopt(CURLOPT_CONNECTTIMEOUT_MS) { ccurl_setopt_long(easy, $0, connectMS) }
        try setopt(CURLOPT_SSL_VERIFYPEER) { ccurl_setopt_long(easy, $0, options.verifyTLS ? 1 : 0) }
        try setopt(CURLOPT_SSL_VERIFYHOST) { ccurl_setopt_long(easy, $0, options.verifyTLS ? 2 : 0) }
        if let ca = options.caBundle { try setopt(CURLOPT_CAINFO) { ccurl_setopt_str(easy, $0, ca) } }
        switch method {
        case "GET": break
        case "HEAD": try setopt(CURLOPT_NOBODY) { ccurl_setopt_long(easy, $0, 1) }
        case "PUT":
            try setopt(CURLOPT_UPLOAD) { ccurl_setopt_long(easy, $0, 1) }
            try setopt(CURLOPT_INFILESIZE_LARGE) { ccurl_setopt_off(easy, $0, curl_off_t(uploadLength ?? 0)) }
        default: try setopt(CURLOPT_CUSTOMREQUEST) { ccurl_setopt_str(easy, $0, method) }
        }
        // Another method with a body (PATCH) is sent the way POST is, under its own name.
        if method == "POST" || (method != "PUT" && (uploadLength ?? 0) > 0) {
            try setopt(CURLOPT_POST) { ccurl_setopt_long(easy, $0, 1) }
            try setopt(CURLOPT_POSTFIELDSIZE_LARGE) { ccurl_setopt_off(easy, $0, curl_off_t(uploadLength ?? 0)) }
        }
        // curl must not wait for 100-continue; providers answer errors on the final status.
        for line in headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            guard let list = curl_slist_append(headerList, line) else {
                throw .internalFailure("curl could not build the request headers (out of memory)")
            }
            headerList = list
        }
        try setopt(CURLOPT_HTTPHEADER) { ccurl_setopt_slist(easy, $0, headerList) }
        try setopt(CURLOPT_WRITEFUNCTION) { ccurl_setopt_io(easy, $0, curlWrite) }
        try setopt(CURLOPT_WRITEDATA) { ccurl_setopt_ptr(easy, $0, me) }
        try setopt(CURLOPT_READFUNCTION) { ccurl_setopt_io(easy, $0, curlRead) }
        try setopt(CURLOPT_READDATA) { ccurl_setopt_ptr(easy, $0, me) }
        try setopt(CURLOPT_HEADERFUNCTION) { _ in ccurl_setopt_header_cb(easy, curlHeader) }
        try setopt(CURLOPT_HEADERDATA) { ccurl_setopt_ptr(easy, $0, me) }
        try checkMulti(curl_multi_add_handle(multi, easy), "curl_multi_add_handle")
        if uploadLength == nil || uploadLength == 0 { sendClosed = true }
    }

    /// Sets one easy-handle option; a refused option (unsupported by this libcurl build, out of
    /// memory, a bad value) fails the request with the option's name instead of going unnoticed.
    private func setopt(_ option: CURLoption, _ set: (CURLoption) -> CURLcode) throws(StoreError) {
        let code = set(option)
        guard code == CURLE_OK else {
            let name = curl_easy_option_by_id(option).flatMap { $0.pointee.name.map { String(cString: $0) } }
            throw .internalFailure(
                "curl option CURLOPT_\(name ?? String(option.rawValue)) failed: \(String(cString: curl_easy_strerror(code)))"
            )
        }
    }

    /// A failed multi-interface call (bad handle, out of memory) is the gateway's fault, not the zone's.
    private func checkMulti(_ code: CURLMcode, _ call: String) throws(StoreError) {
        guard code == CURLM_OK else {
            throw .internalFailure("\(call) failed: \(String(cString: curl_multi_strerror(code)))")
        }
    }

    /// Resumes a paused direction; a refusal would otherwise leave the transfer stalled.
    private func unpause() throws(StoreError) {
        let code = curl_easy_pause(easy, ccurl_pause_cont())
        guard code == CURLE_OK else {
            throw .zoneUnavailable("curl_easy_pause failed: \(String(cString: curl_easy_strerror(code)))")
        }
    }

    deinit {
        curl_multi_remove_handle(multi, easy)
        curl_slist_free_all(headerList)
        // A cleanly finished exchange leaves a reusable connection in the multi handle's cache;
        // an aborted one may have left a half-sent request on it, so that pair is dropped.
        if done && !aborted && result == CURLE_OK {
            curl_easy_reset(easy)
            CurlHandlePool.give(multi: multi, easy: easy)
        } else {
            curl_easy_cleanup(easy)
            curl_multi_cleanup(multi)
        }
    }

    /// Advances the transfer once: perform, then wait up to 100 ms for socket activity.
    private func drive() throws {
        var running: Int32 = 0
        try checkMulti(curl_multi_perform(multi, &running), "curl_multi_perform")
        var queued: Int32 = 0
        while let msg = curl_multi_info_read(multi, &queued) {
            if msg.pointee.msg == CURLMSG_DONE {
                done = true
                result = msg.pointee.data.result
            }
        }
        if done { return }
        var numfds: Int32 = 0
        try checkMulti(curl_multi_poll(multi, nil, 0, 100, &numfds), "curl_multi_poll")
    }

    private func check() throws {
        if done && result != CURLE_OK {
            // The only timeout curl runs itself is the connect bound.
            if result == CURLE_OPERATION_TIMEDOUT {
                throw ProviderTimeout(description: "no connection within \(timeouts.connect.seconds)")
            }
            throw StoreError.zoneUnavailable(String(cString: curl_easy_strerror(result)))
        }
    }

    /// Ends the exchange for a bound that ran out.
    private func timedOut(_ what: String) -> ProviderTimeout {
        abort()
        return ProviderTimeout(description: what)
    }

    /// Whether curl is past connecting (TCP and TLS) and about to send, or sending, the request.
    private var isConnected: Bool {
        if !connected {
            var pretransfer = 0.0
            connected =
                ccurl_getinfo_double(easy, CURLINFO_PRETRANSFER_TIME, &pretransfer) == CURLE_OK && pretransfer > 0
        }
        return connected
    }

    /// Counts request bytes the provider's host acknowledged since the last look as progress, and
    /// returns how many are still unacknowledged. The kernel's send buffer can hold megabytes
    /// that a slow link is still moving after curl has handed over the last byte: that is an
    /// upload in progress, not a provider thinking about its answer.
    private func socketSendQueue() -> Int {
        // The multi handle runs this one transfer, so the highest descriptor it waits on is the
        // connection's socket (CURLINFO_ACTIVESOCKET only answers once a transfer is over).
        var readable = fd_set()
        var writable = fd_set()
        var failed = fd_set()
        var fd: Int32 = -1
        var queued: Int32 = 0
        guard curl_multi_fdset(multi, &readable, &writable, &failed, &fd) == CURLM_OK, fd >= 0,
            ioctl(fd, UInt(TIOCOUTQ), &queued) == 0
        else {
            return 0
        }
        if Int(queued) < unacknowledged { moved += Int64(unacknowledged - Int(queued)) }
        unacknowledged = Int(queued)
        return unacknowledged
    }

    /// The stall bound, or the connect bound if that is longer while the connection is not up yet
    /// (no byte can move before it is; curl enforces the connect bound itself).
    private var stallLimit: Double { isConnected ? timeouts.stall : max(timeouts.stall, timeouts.connect) }

    private func requestStalled(_ limit: Double) -> String {
        isConnected
            ? "the request body stalled: no byte taken for \(limit.seconds)" : "no connection within \(limit.seconds)"
    }

    // MARK: upload side

    /// Queues request body bytes, driving the transfer until the queue is small again.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if done {
            // The provider answered (or failed) before taking the whole body: stop feeding it.
            try check()
            throw StoreError.internalFailure("the provider ended the upload early with HTTP \(status)")
        }
        send.append(bytes)
        if sendPaused {
            sendPaused = false
            try unpause()
        }
        let limit = stallLimit
        var watch = StallWatch(limit: limit, count: moved)
        while send.count > bufferLimit && !done {
            try drive()
            _ = socketSendQueue()
            if watch.overdue(count: moved) { throw timedOut(requestStalled(limit)) }
        }
        try check()
    }

    /// Marks the end of the request body.
    func closeUpload() throws {
        sendClosed = true
        if sendPaused && !done {
            sendPaused = false
            try unpause()
        }
    }

    // MARK: download side

    /// Runs until the status line and headers are in (or the transfer ended): first until the
    /// rest of the request body is taken (the stall bound), then until the answer starts (the
    /// response bound).
    func waitForResponse() throws -> Int {
        let limit = stallLimit
        var watch = StallWatch(limit: limit, count: moved)
        while !headersDone && !done {
            try drive()
            if headersDone || done { break }
            let now = monotonicSeconds()
            let inFlight = socketSendQueue()
            if requestSentAt == nil && sendClosed && sent >= uploadLength && isConnected && inFlight == 0 {
                requestSentAt = now
            }
            if let t = requestSentAt {
                if now - t >= timeouts.response {
                    throw timedOut("no response headers within \(timeouts.response.seconds) of the request")
                }
            } else if watch.overdue(count: moved) {
                throw timedOut(requestStalled(limit))
            }
        }
        // Headers of an informational or redirected response do not count.
        try check()
        return status
    }

    /// Pulls response body bytes; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !headersDone && !done { _ = try waitForResponse() }
        var watch = StallWatch(limit: timeouts.stall, count: moved)
        while recv.count == 0 {
            if done {
                try check()
                return 0
            }
            if recvPaused {
                recvPaused = false
                try unpause()
            }
            try drive()
            if recv.count == 0 && !done && watch.overdue(count: moved) {
                throw timedOut("the response body stalled: no byte came for \(timeouts.stall.seconds)")
            }
        }
        return recv.take(into: buffer)
    }

    /// Stops the transfer; the connection is dropped.
    func abort() {
        aborted = true
        sendClosed = true
        if !done { curl_multi_remove_handle(multi, easy) }
        done = true
    }

    // MARK: callbacks

    fileprivate func onWrite(_ data: UnsafeRawBufferPointer) -> Int {
        if aborted { return 0 }
        if recv.count >= bufferLimit {
            recvPaused = true
            return Int(ccurl_write_pause())
        }
        recv.append(data)
        moved += Int64(data.count)
        return data.count
    }

    fileprivate func onRead(_ out: UnsafeMutableRawBufferPointer) -> Int {
        if aborted { return Int(ccurl_read_abort()) }
        if send.count == 0 {
            if sendClosed { return 0 }
            sendPaused = true
            return Int(ccurl_read_pause())
        }
        let n = send.take(into: out)
        sent += Int64(n)
        moved += Int64(n)
        return n
    }

    fileprivate func onHeader(_ line: String) {
        moved += Int64(line.utf8.count) + 1
        if line.isEmpty {
            if status != 0 { headersDone = true }
            return
        }
        if line.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue or a redirect) starts a new header set.
            let parts = line.split(separator: " ")
            if parts.count >= 2, let code = Int(parts[1]), code >= 200 {
                status = code
                headersDone = false
                responseHeaders = []
            }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        responseHeaders.append(
            (
                line[..<colon].lowercased(),
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            ))
    }

    func header(_ name: String) -> String? { responseHeaders.first { $0.0 == name }?.1 }
}

private func transfer(_ p: UnsafeMutableRawPointer?) -> CurlTransfer {
    Unmanaged<CurlTransfer>.fromOpaque(p!).takeUnretainedValue()
}

private let curlWrite: ccurl_io_cb = { data, size, count, context in
    Int(transfer(context).onWrite(UnsafeRawBufferPointer(start: data, count: size * count)))
}

private let curlRead: ccurl_io_cb = { data, size, count, context in
    Int(transfer(context).onRead(UnsafeMutableRawBufferPointer(start: data, count: size * count)))
}

private let curlHeader: ccurl_header_cb = { data, size, count, context in
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self)
    transfer(context).onHeader(line.trimmingCharacters(in: .whitespacesAndNewlines))
    return size * count
}
