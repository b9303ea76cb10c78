"""A tiny FastCGI responder that answers every request with JSON describing what it received
(params, body length and SHA-256). Used to check what nginx hands the gateway, independent of
the gateway itself:  python3 fcgi_echo.py SOCKET_PATH"""

import hashlib
import json
import os
import socket
import struct
import sys
import threading

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def _read_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _read_record(conn):
    version, rtype, req_id, clen, plen, _ = struct.unpack("!BBHHBB", _read_exact(conn, 8))
    content = _read_exact(conn, clen)
    _read_exact(conn, plen)
    return rtype, req_id, content


def _parse_params(data):
    out, i = {}, 0

    def length():
        nonlocal i
        b = data[i]
        if b < 128:
            i += 1
            return b
        v = struct.unpack("!I", data[i : i + 4])[0] & 0x7FFFFFFF
        i += 4
        return v

    while i < len(data):
        nl, vl = length(), length()
        name = data[i : i + nl].decode("latin-1")
        i += nl
        out[name] = data[i : i + vl].decode("latin-1")
        i += vl
    return out


def _write_record(conn, rtype, req_id, content):
    for off in range(0, max(len(content), 1), 65535):
        piece = content[off : off + 65535]
        pad = (8 - len(piece) % 8) % 8
        conn.sendall(struct.pack("!BBHHBB", 1, rtype, req_id, len(piece), pad, 0) + piece + b"\0" * pad)


def handle(conn):
    try:
        params_raw = bytearray()
        sha = hashlib.sha256()
        body_len = 0
        req_id = 1
        params_done = stdin_done = False
        while not (params_done and stdin_done):
            rtype, req_id, content = _read_record(conn)
            if rtype == FCGI_PARAMS:
                if content:
                    params_raw += content
                else:
                    params_done = True
            elif rtype == FCGI_STDIN:
                if content:
                    sha.update(content)
                    body_len += len(content)
                else:
                    stdin_done = True
        params = _parse_params(bytes(params_raw))
        body = json.dumps({"params": params, "body_len": body_len, "body_sha256": sha.hexdigest()}).encode()
        head = b"Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        _write_record(conn, FCGI_STDOUT, req_id, head + body)
        _write_record(conn, FCGI_STDOUT, req_id, b"")
        _write_record(conn, FCGI_END_REQUEST, req_id, struct.pack("!IB3x", 0, 0))
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main(path):
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1])
