"""What nginx hands the gateway: the dev config (same S3 settings as nginx/s3gw.conf) in front of
a FastCGI echo responder, so these checks hold whatever the gateway does."""

import hashlib
import json
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from conftest import (ROOT, SCRIPTS, NotYet, free_port, run_script, s3gw_bin, start_nginx, stop_process, tail,
                      wait_until)

HERE = Path(__file__).resolve().parent


class EchoStack:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="s3gw-nginx-"))
        self.socket = self.tmp / "echo.sock"
        self.prefix = self.tmp / "nginx"
        run_script(SCRIPTS / "dev-cert.sh", self.tmp / "tls")
        self.ca_file = str(self.tmp / "tls" / "cert.pem")
        self.echo = subprocess.Popen([sys.executable, str(HERE / "fcgi_echo.py"), str(self.socket)])
        self.nginx = None
        try:
            self.nginx, self.http_port, self.https_port = start_nginx(self.prefix, self.socket, self.tmp / "tls",
                                                                      what="nginx in front of fcgi_echo")
            wait_until(self.echo_answers, 15, "fcgi_echo to answer through nginx", detail=self.log_tail,
                       ignore=(requests.RequestException,))
        except BaseException:
            self.stop()
            raise

    def echo_answers(self) -> bool:
        assert self.echo.poll() is None, f"fcgi_echo exited with {self.echo.returncode}"
        assert self.nginx.poll() is None, f"nginx exited with {self.nginx.returncode}\n{self.log_tail()}"
        status = requests.get(f"http://127.0.0.1:{self.http_port}/", timeout=2).status_code
        if status != 200:
            raise NotYet(f"HTTP {status}")
        return True

    def log_tail(self) -> str:
        return f"--- nginx error log ---\n{tail(self.prefix / 'error.log')}"

    def stop(self):
        stop_process(self.nginx)
        stop_process(self.echo)

    def get(self, path, scheme="http", **kw):
        port = self.https_port if scheme == "https" else self.http_port
        return requests.request(kw.pop("method", "GET"), f"{scheme}://127.0.0.1:{port}{path}",
                                verify=self.ca_file, **kw)


@pytest.fixture(scope="module")
def echo():
    stack = EchoStack()
    yield stack
    stack.stop()
    import shutil
    shutil.rmtree(stack.tmp, ignore_errors=True)


def raw_request(port: int, request: bytes, body: bytes = b"", expect_continue: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        if expect_continue:
            first = s.recv(4096)
            assert first.startswith(b"HTTP/1.1 100 Continue"), first
        s.sendall(body)
        data = b""
        deadline = time.monotonic() + 30  # each recv times out after 10 s; this bounds a trickle too
        while True:
            assert time.monotonic() < deadline, f"no end of the response after 30 s: {data[:500]!r}"
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def params_of(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return resp.json()["params"]


def test_raw_uri_and_host_reach_the_gateway_untouched(echo):
    path = "/bkt/a//b/../c%2Bd+e%20f~?list-type=2&prefix=a%2F&encoding-type=url"
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{echo.http_port}\r\nConnection: close\r\n\r\n").encode()
    raw = raw_request(echo.http_port, req)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), raw
    p = json.loads(body)["params"]
    assert p["REQUEST_URI"] == path
    assert p["QUERY_STRING"] == "list-type=2&prefix=a%2F&encoding-type=url"
    assert p["HTTP_HOST"] == f"127.0.0.1:{echo.http_port}"
    assert p["REQUEST_METHOD"] == "GET"
    assert "HTTPS" not in p


def test_s3_headers_pass_verbatim(echo):
    headers = {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Meta-Mixed_Case": "Value  with  spaces",
        "x_amz_underscored": "1",
        "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        "Content-Encoding": "aws-chunked",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": "5",
        "Accept-Encoding": "gzip",
        "Content-Type": "text/plain; charset=utf-8",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00",
    }
    p = params_of(echo.get("/b/k", method="PUT", data=b"hello", headers=headers))
    assert p["HTTP_X_AMZ_CONTENT_SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert p["HTTP_X_AMZ_META_MIXED_CASE"] == "Value  with  spaces"
    assert p["HTTP_X_AMZ_UNDERSCORED"] == "1"
    assert p["HTTP_CONTENT_MD5"] == "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert p["HTTP_CONTENT_ENCODING"] == "aws-chunked"
    assert p["HTTP_X_AMZ_TRAILER"] == "x-amz-checksum-crc32"
    assert p["HTTP_X_AMZ_DECODED_CONTENT_LENGTH"] == "5"
    assert p["HTTP_ACCEPT_ENCODING"] == "gzip"
    assert p["CONTENT_TYPE"] == "text/plain; charset=utf-8"
    assert p["CONTENT_LENGTH"] == "5"
    assert p["HTTP_AUTHORIZATION"] == headers["Authorization"]


def test_https_is_flagged(echo):
    p = params_of(echo.get("/", scheme="https"))
    assert p["HTTPS"] == "on"
    assert p["HTTP_HOST"] == f"127.0.0.1:{echo.https_port}"
    assert p["SERVER_PORT"] == str(echo.https_port)


def test_chunked_upload_streams_without_content_length(echo):
    data = [bytes([i]) * 300_000 for i in range(10)]
    r = echo.get("/b/chunked", method="PUT", data=iter(data))
    assert r.status_code == 200
    j = r.json()
    assert j["params"].get("CONTENT_LENGTH", "") == ""
    assert j["params"]["HTTP_TRANSFER_ENCODING"] == "chunked"
    assert j["body_len"] == 3_000_000
    assert j["body_sha256"] == hashlib.sha256(b"".join(data)).hexdigest()


def test_large_upload_is_not_spooled_to_disk(echo):
    body = b"x" * (64 * 1024 * 1024)
    r = echo.get("/b/big", method="PUT", data=body)
    assert r.json()["body_len"] == len(body)
    leftovers = list((echo.prefix / "tmp" / "client_body").iterdir())
    assert leftovers == []
    assert "buffered to a temporary file" not in tail(echo.prefix / "error.log", 200)


def test_nginx_answers_expect_100_continue(echo):
    body = b"0123456789"
    req = (
        f"PUT /b/expect HTTP/1.1\r\nHost: 127.0.0.1:{echo.http_port}\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    raw = raw_request(echo.http_port, req, body, expect_continue=True)
    assert json.loads(raw.partition(b"\r\n\r\n")[2])["body_len"] == len(body)


def test_8k_header_is_accepted(echo):
    p = params_of(echo.get("/", headers={"x-amz-meta-big": "v" * 8000}))
    assert len(p["HTTP_X_AMZ_META_BIG"]) == 8000


def test_web_ui_is_static(echo):
    r = echo.get("/ui/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.text.lower()
    assert "params" not in r.text


def test_s3_responses_are_sandboxed_and_never_sniffed(echo):
    """Objects are served from the web UI's origin with the Content-Type they were stored with: a
    text/html object opened in a browser must run no script as that origin (CSP sandbox), and the
    browser may not guess a type. The UI keeps its own headers, not these."""
    for scheme in ("http", "https"):
        for path in ("/bucket/page.html", "/bucket/page.html?versionId=1", "/admin/zones", "/"):
            r = echo.get(path, scheme=scheme)
            assert r.status_code == 200, (scheme, path)
            assert r.headers.get("Content-Security-Policy") == "sandbox", (scheme, path, r.headers)
            assert r.headers.get("X-Content-Type-Options") == "nosniff", (scheme, path, r.headers)
    ui = echo.get("/ui/")
    assert ui.headers["Content-Security-Policy"].startswith("default-src 'self'"), ui.headers
    assert "sandbox" not in ui.headers["Content-Security-Policy"]


def test_access_log_leaves_out_queries_that_name_a_secret(echo):
    """Presigned URLs' signatures and tokens, and anything named like a secret, a password or a
    token (what a browser's own form submission of the web UI would send), are not logged; other
    queries are, as sent."""
    secret = [f"s3cr3t{i}x" for i in range(9)]
    redacted = [
        f"/ui/?access_key=AKIDX&secret_key={secret[0]}&session_token={secret[1]}&region=us-east-1",
        f"/b/k?secret_access_key={secret[2]}", f"/b?x=1&token={secret[3]}", f"/b?Password={secret[4]}",
        f"/b?SessionToken={secret[5]}", f"/b?client_secret={secret[6]}",
        f"/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={secret[7]}",
    ]
    kept = ["/b?list-type=2&continuation-token=cursor1&prefix=secret%2Ftoken", "/b?prefix=passwords&x=token"]
    for path in redacted + kept:
        assert echo.get(path).status_code == 200
    referer = f"http://127.0.0.1:{echo.http_port}/ui/?secret={secret[8]}"
    assert echo.get("/b/referred", headers={"Referer": referer}).status_code == 200
    log = echo.prefix / "access.log"

    def logged():
        text = log.read_text()
        if "/b/referred" not in text:
            raise NotYet("the last request is not logged yet")
        return text

    text = wait_until(logged, 10, "nginx to log the requests")
    for value in secret:
        assert value not in text, f"{value} was logged"
    assert text.count("?(query with credentials omitted) ") == len(redacted), text
    for path in redacted[1:]:  # (/ui/ is logged as the index file it was answered with)
        assert f" {urlsplit(path).path}?(query with credentials omitted) " in text, path
    for path in kept:
        assert f" {path} " in text, path
    assert '"(referer with credentials omitted)"' in text


SHARED = ("fastcgi_", "merge_slashes", "ignore_invalid_headers", "underscores_in_headers", "client_",
          "large_client_header_buffers", "send_timeout", "gzip", "server_tokens", "if ($s3gw_metrics_refused)",
          "return 403")


def _s3_directives(path: Path) -> list[str]:
    out = []
    for line in path.read_text().splitlines():
        d = " ".join(line.split("#")[0].split())
        if d.startswith(SHARED) and not d.startswith(("fastcgi_pass ", "fastcgi_temp_path", "client_body_temp_path")):
            out.append(d)
    return out


def test_dev_and_production_configs_agree():
    prod = _s3_directives(ROOT / "nginx" / "s3gw.conf")
    dev = _s3_directives(ROOT / "nginx" / "s3gw-dev.conf.in")
    assert prod[: len(prod) // 2] == prod[len(prod) // 2:], "the two server blocks of s3gw.conf differ"
    assert prod[: len(prod) // 2] == dev


def _ui_and_log_directives(path: Path) -> list[str]:
    """The web UI's response headers (its CSP) and the access log's redaction maps, as written."""
    out, in_map = [], False
    for line in path.read_text().splitlines():
        d = " ".join(line.split(" #")[0].split())
        if d.startswith("map "):
            in_map = True
        if in_map or d.startswith(("add_header ", "log_format ", "'$status")):
            out.append(d)
        in_map = in_map and d != "}"
    return out


def test_dev_and_production_configs_guard_the_ui_and_the_log_alike():
    """The e2e tests run the dev config; the production one must send the UI the same CSP and
    keep the same secrets out of its access log."""
    prod = _ui_and_log_directives(ROOT / "nginx" / "s3gw.conf")
    dev = _ui_and_log_directives(ROOT / "nginx" / "s3gw-dev.conf.in")
    csp = [d for d in dev if "Content-Security-Policy" in d]
    # The UI's, and the S3 responses' sandbox (those the gateway sends, and those it streams
    # after nginx's fallback, @s3gw_stream).
    assert len(csp) == 3 and "form-action 'none'" in csp[0] and "base-uri 'none'" in csp[0], csp
    assert csp[1:] == ['add_header Content-Security-Policy "sandbox" always;'] * 2, csp
    headers = [d for d in prod if d.startswith("add_header ")]
    assert headers[: len(headers) // 2] == headers[len(headers) // 2:], "the two server blocks of s3gw.conf differ"
    assert [d for d in prod if not d.startswith("add_header ")] + headers[: len(headers) // 2] == dev


def _locations(text: str, name: str) -> list[list[str]]:
    """The directives of each `location NAME {` block, in order (comments dropped)."""
    blocks, inside = [], False
    for line in text.splitlines():
        d = " ".join(line.split("#")[0].split())
        if d == f"location {name} {{":
            inside = True
            blocks.append([])
        elif inside and d == "}":
            inside = False
        elif inside and d:
            blocks[-1].append(d)
    return blocks


@pytest.mark.parametrize("conf", ["s3gw.conf", "s3gw-dev.conf.in"])
def test_the_fallback_location_talks_to_the_gateway_as_location_slash_does(conf):
    """@s3gw_stream (a vanished blob, or a client asking for a zone's internal path) must reach
    the gateway with the same params and settings, plus S3GW_NO_ACCEL: a param missing there
    would break only the rare request that takes it."""
    text = (ROOT / "nginx" / conf).read_text()
    mains, fallbacks = _locations(text, "/"), _locations(text, "@s3gw_stream")
    assert len(mains) == len(fallbacks) == (2 if conf == "s3gw.conf" else 1)
    for main, fallback in zip(mains, fallbacks):
        assert fallback == main + ["fastcgi_param S3GW_NO_ACCEL 1;"], fallback


def test_production_config_passes_nginx_t(tmp_path):
    run_script(SCRIPTS / "dev-cert.sh", tmp_path / "tls")
    site = (ROOT / "nginx" / "s3gw.conf").read_text()
    # The zones' locations as `s3gw config nginx-locations` prints them, and s3gw.js from the repo.
    (tmp_path / "zone").mkdir()
    config = tmp_path / "s3gw.toml"
    config.write_text(f'[server]\nstate_dir = "{tmp_path}/state"\n[storage]\ndefault_zone = "z"\n'
                      f'[[zones]]\nname = "z"\nkind = "filesystem"\npath = "{tmp_path}/zone"\n')
    locations = subprocess.run([str(s3gw_bin()), "config", "nginx-locations", "--config", str(config)],
                               capture_output=True, text=True, check=True).stdout
    assert "location /_s3gw/zones/z/ {" in locations, locations
    (tmp_path / "locations.conf").write_text(locations)
    site = site.replace("/etc/s3gw/nginx-locations.conf", str(tmp_path / "locations.conf"))
    site = site.replace("/usr/share/s3gw/nginx/s3gw.js", str(ROOT / "nginx" / "s3gw.js"))
    site = site.replace("/etc/s3gw/tls/fullchain.pem", str(tmp_path / "tls" / "cert.pem"))
    site = site.replace("/etc/s3gw/tls/privkey.pem", str(tmp_path / "tls" / "key.pem"))
    site = re.sub(r"listen \[::\]:\d+[^;]*;", "", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{free_port()} ssl;")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n"
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n    include {tmp_path}/site.conf;\n}}\n"
    )
    r = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                        "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
