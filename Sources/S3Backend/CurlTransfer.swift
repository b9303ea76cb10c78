internal import CCurl
import Foundation
import GatewayCore

/// One HTTP exchange driven through libcurl's multi interface, so a blocking caller moves it
/// forward at its own pace: `read` pulls response bytes (a download is a `ByteSource`),
/// `write` pushes request bytes (an upload is a `ByteSink`). Transfers pause instead of
/// buffering when one side is slower, so memory stays bounded by `bufferLimit`.
final class CurlTransfer: HTTPExchange {
    struct Options {
        var connectTimeout: Int = 10
        /// Abort when less than 1 byte/s moves for this many seconds (a hung provider).
        var stallTimeout: Int = 60
        var verifyTLS = true
        var caBundle: String?
    }

    private let multi: UnsafeMutableRawPointer
    private let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let bufferLimit = 1 << 20

    private(set) var status = 0
    private(set) var responseHeaders: [(String, String)] = []
    private var recv = ByteQueue()
    private var recvPaused = false
    private var send = ByteQueue()
    private var sendClosed = false
    private var sendPaused = false
    private var done = false
    private var result = CURLE_OK
    private var aborted = false

    init(method: String, url: String, headers: [(name: String, value: String)], uploadLength: Int64?, options: Options)
        throws(StoreError)
    {
        if let failure = CurlGlobal.failure { throw .internalFailure(failure) }
        guard let handles = CurlHandlePool.take() else { throw .internalFailure("curl init failed") }
        multi = handles.multi
        easy = handles.easy
        // From here on a throw runs deinit, which drops the handles (they may be half set up).
        let me = Unmanaged.passUnretained(self).toOpaque()
        try setopt(CURLOPT_URL) { ccurl_setopt_str(easy, $0, url) }
        try setopt(CURLOPT_NOSIGNAL) { ccurl_setopt_long(easy, $0, 1) }
        try setopt(CURLOPT_CONNECTTIMEOUT) { ccurl_setopt_long(easy, $0, options.connectTimeout) }
        try setopt(CURLOPT_LOW_SPEED_LIMIT) { ccurl_setopt_long(easy, $0, 1) }
        try setopt(CURLOPT_LOW_SPEED_TIME) { ccurl_setopt_long(easy, $0, options.stallTimeout) }
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
        if method == "POST" {
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
            throw StoreError.zoneUnavailable(String(cString: curl_easy_strerror(result)))
        }
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
        while send.count > bufferLimit && !done { try drive() }
        try check()
    }

    /// Marks the end of the request body and runs the exchange until the response headers.
    func closeUpload() throws {
        sendClosed = true
        if sendPaused && !done {
            sendPaused = false
            try unpause()
        }
    }

    // MARK: download side

    /// Runs until the status line and headers are in (or the transfer ended).
    func waitForResponse() throws -> Int {
        while status == 0 && !done { try drive() }
        // Headers of an informational or redirected response do not count.
        try check()
        return status
    }

    /// Pulls response body bytes; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
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
        return data.count
    }

    fileprivate func onRead(_ out: UnsafeMutableRawBufferPointer) -> Int {
        if aborted { return Int(ccurl_read_abort()) }
        if send.count == 0 {
            if sendClosed { return 0 }
            sendPaused = true
            return Int(ccurl_read_pause())
        }
        return send.take(into: out)
    }

    fileprivate func onHeader(_ line: String) {
        if line.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue or a redirect) starts a new header set.
            let parts = line.split(separator: " ")
            if parts.count >= 2, let code = Int(parts[1]), code >= 200 {
                status = code
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
