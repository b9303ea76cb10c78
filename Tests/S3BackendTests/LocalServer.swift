import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP server on 127.0.0.1 that behaves as a test scripts it, for what a scripted fake cannot
/// show: how the real curl transport waits on a provider that accepts and then says nothing,
/// stops mid-body, or moves slowly. With no handler it never accepts: the kernel completes the
/// handshake and queues the request, exactly what a stopped (SIGSTOP) provider process does.
final class LocalServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)

    /// `receiveBuffer` shrinks the accepted sockets' receive buffer, so a slow reader slows the
    /// sender at once instead of after megabytes.
    init(receiveBuffer: Int32? = nil, handler: (@Sendable (Connection) -> Void)? = nil) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EMFILE) }
        self.listener = listener
        if var size = receiveBuffer {
            setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        guard let handler else { return }
        let listening = listener
        Thread.detachNewThread { [self] in
            while true {
                let fd = accept(listening, nil, nil)
                if fd < 0 { return }  // the listener was shut down
                let connection = Connection(fd: fd, server: self)
                Thread.detachNewThread {
                    handler(connection)
                    connection.close()
                }
            }
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Stops accepting; handlers still holding a connection see `isStopped` and end.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    deinit { stop() }

    /// One accepted connection, in the hands of a test's handler.
    final class Connection: @unchecked Sendable {
        let fd: Int32
        let server: LocalServer
        private var closed = false

        init(fd: Int32, server: LocalServer) {
            self.fd = fd
            self.server = server
        }

        /// Reads up to the blank line ending the request head; returns the head.
        func readHead() -> String {
            var head: [UInt8] = []
            var byte: UInt8 = 0
            while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
                guard recv(fd, &byte, 1, 0) == 1 else { break }
                head.append(byte)
            }
            return String(decoding: head, as: UTF8.self)
        }

        /// Reads `count` body bytes, at most `chunk` per `pause` seconds.
        @discardableResult
        func readBody(_ count: Int, chunk: Int = 1 << 20, pause: Double = 0) -> Int {
            var total = 0
            var buffer = [UInt8](repeating: 0, count: chunk)
            while total < count && !server.isStopped {
                let n = recv(fd, &buffer, min(chunk, count - total), 0)
                if n <= 0 { break }
                total += n
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            }
            return total
        }

        func send(_ text: String) { send(Array(text.utf8)) }

        func send(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if n <= 0 { return }
                offset += n
            }
        }

        /// Says nothing more until the test ends (or `seconds` pass).
        func hang(upTo seconds: Double = 30) {
            let end = Date().addingTimeInterval(seconds)
            while !server.isStopped && Date() < end { Thread.sleep(forTimeInterval: 0.02) }
        }

        func close() {
            if !closed {
                closed = true
                Glibc.close(fd)
            }
        }
    }
}
