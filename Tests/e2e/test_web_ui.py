"""The discovery web UI (web/, served by nginx under /ui/) in a real headless Chromium — Debian's
`chromium` and `chromium-driver`, driven by selenium — against the real gateway: a person pastes
credentials of an existing account (a moto_server with a few buckets and a few hundred objects),
watches the progress, reads the charts and the table, downloads the snapshot, plans and runs a
migration. The page must talk to nothing but the gateway and keep no secret anywhere.

Screenshots go to $S3GW_ARTIFACTS (default .build/e2e-artifacts/)."""

import gzip
import hashlib
import html.parser
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from admin_api import SigV4, admin
from conftest import REGION, ROOT, Moto, NotYet, PortInUse, Stack, filesystem_zone, start_on_free_ports, wait_until

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
except ImportError:  # reported by the skip below
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER and webdriver),
    reason="the browser tests need Debian's chromium and chromium-driver and selenium from PyPI "
           "(scripts/install-test-deps.sh installs them); missing: "
           + ", ".join(n for n, ok in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER),
                                       ("selenium", webdriver)) if not ok),
)

CSP = ("default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
ARTIFACTS = Path(os.environ.get("S3GW_ARTIFACTS") or ROOT / ".build" / "e2e-artifacts")
PREFIX_DEPTH = 2

# The source account: bucket -> (objects as (key, size, storage class), versioned).
SIZES = [0, 1, 3, 17, 100, 700, 1500, 5000, 20_000, 70_000]


def source_layout() -> dict:
    photos = [(f"{year}/{month}/img-{i:03}.jpg", SIZES[i % len(SIZES)], "STANDARD" if i % 3 else "STANDARD_IA")
              for year, month in (("2023", "dec"), ("2024", "jan"), ("2024", "feb")) for i in range(60)]
    logs = [(f"app/{day:02}/part-{i}.log", 100 + 37 * i, "ONEZONE_IA" if i % 4 == 0 else "STANDARD")
            for day in range(1, 21) for i in range(6)]
    media = [(f"video/clip-{i}.mp4", 150_000 + i, "STANDARD") for i in range(8)] + [("README", 12, "STANDARD")]
    return {"photos": (photos, False), "logs": (logs, True), "media": (media, False), "empty": ([], False)}


def expected_summary(layout: dict) -> dict:
    """What the snapshot must say about each bucket, computed from what was uploaded."""
    out = {}
    for name, (objects, versioned) in layout.items():
        prefixes = Counter()
        for key, size, _ in objects:
            # A key up to its PREFIX_DEPTH-th "/" (or its last one), "" without one.
            parts = key.split("/")[:-1][:PREFIX_DEPTH]
            prefixes["/".join(parts) + "/" if parts else ""] += size
        out[name] = {
            "objects": len(objects), "bytes": sum(s for _, s, _ in objects),
            "classes": Counter(c for _, _, c in objects), "prefixes": prefixes, "versioned": versioned,
        }
    return out


@pytest.fixture(scope="module")
def source():
    """A moto_server standing for the account to inventory, filled with the layout above."""
    moto = Moto("moto-web-source")
    client = moto.client()
    layout = source_layout()
    for name, (objects, versioned) in layout.items():
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for key, size, storage_class in objects:
            body = hashlib.sha256(key.encode()).digest() * (size // 32 + 1)
            client.put_object(Bucket=name, Key=key, Body=body[:size], StorageClass=storage_class)
    moto.layout = layout
    moto.months = {o["LastModified"].strftime("%Y-%m") for b in layout
                   for o in client.list_objects_v2(Bucket=b).get("Contents", [])}
    yield moto
    moto.cleanup()


class SlowProxy:
    """The source account behind a link that takes `delay` seconds per request, so a discovery
    takes a few seconds and the page's progress can be watched (and cancelled) while it runs."""

    def __init__(self, target_port: int, delay: float):
        self.delay = delay
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                time.sleep(proxy.delay)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body or None,
                                     headers={k: v for k, v in self.headers.items() if k.lower() != "connection"})
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for k, v in answer.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = forward

            def log_message(self, *args):
                pass

        def start(port: int) -> http.server.ThreadingHTTPServer:
            try:
                return http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError as e:
                raise PortInUse(str(e)) from e

        self.server = start_on_free_ports(start, 1, "slow proxy")
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def slow_source(source):
    proxy = SlowProxy(source.port, delay=0.25)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def stack(source, slow_source):
    """A gateway whose discovery allow-list names the moto account, with zones in Finland and
    Germany to migrate into."""
    s = Stack("webui")
    s.extra = (filesystem_zone("fi-1", "fi", "fi-hel", s.tmp / "zones" / "fi-1")
               + filesystem_zone("de-1", "de", "de-fra", s.tmp / "zones" / "de-1")
               + "\n[discovery]\nendpoints = [" + ", ".join(f'"http://127.0.0.1:{p}"' for p in (source.port, slow_source.port))
               + "]\n")
    s.start()
    yield s
    s.stop()
    s.cleanup()


@pytest.fixture(scope="module")
def ui_credential(stack):
    """A gateway credential of its own tenant that may discover and migrate (and write the
    buckets a migration creates), as an operator would hand out for the UI."""
    tenant = "webui"
    assert admin(stack, "POST", "tenants", {"id": tenant}).status_code == 201
    r = admin(stack, "POST", f"tenants/{tenant}/users", {"name": "planner", "permissions": {
        "discovery:*": ["*"], "migration:*": ["*"], "s3:*": ["*"], "sts:GetSessionToken": ["*"]}})
    assert r.status_code == 201, r.text
    r = admin(stack, "POST", f"tenants/{tenant}/users/planner/credentials")
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


def chrome_options():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1600", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    return options


@pytest.fixture(scope="module")
def browser(downloads):
    options = chrome_options()
    # Every request the page makes (performance log: DevTools Network events) and its console.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
        "download.directory_upgrade": True, "safebrowsing.enabled": False,
    })
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    yield driver
    driver.quit()


# -- helpers ----------------------------------------------------------------------------------
def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def fill(driver, element_id: str, value: str):
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def shown(driver, element_id: str) -> bool:
    return driver.find_element(By.ID, element_id).is_displayed()


def alerts(driver) -> str:
    """The page's visible error lines (each section has one)."""
    return " | ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".error") if e.is_displayed())


def no_alert(driver) -> bool:
    """For wait_until predicates: an error on the page ends the wait at once."""
    if alerts(driver):
        raise AssertionError(f"the page shows an error: {alerts(driver)}")
    return True


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for since the last call, from DevTools Network events."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            urls.append(message["params"].get("request", {}).get("url") or message["params"].get("url"))
    return urls


def save_screenshot(driver, name: str) -> Path:
    """A full-page screenshot: the window grows to the page's height first."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    js(driver, "window.scrollTo(0, 0)")
    height = js(driver, "return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height, 800), 8000))
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1600)
    return path


def human_count(n: int) -> str:
    return f"{n:,}"


def connect(driver, stack, credential):
    driver.get(stack.http_url + "/ui/")
    wait_until(lambda: text(driver, "gateway-status") == "Not connected.", 20, "the page's script to start",
               detail=lambda: str(driver.get_log("browser")))
    fill(driver, "gw-access-key", credential["access_key"])
    fill(driver, "gw-secret-key", credential["secret_key"])
    fill(driver, "gw-session-token", credential.get("session_token", ""))
    driver.find_element(By.ID, "gw-connect").click()
    wait_until(lambda: no_alert(driver) and text(driver, "gateway-status").startswith("Connected as "), 20,
               "the gateway credential to be accepted")
    assert driver.find_element(By.ID, "gw-secret-key").get_attribute("value") == ""
    assert driver.find_element(By.ID, "gw-session-token").get_attribute("value") == ""


def api(stack, credential, method: str, path: str, body=None) -> requests.Response:
    """A call to /api/… signed as the UI's credential, outside the browser."""
    data = json.dumps(body).encode() if body is not None else b""
    return requests.request(method, stack.http_url + "/api/" + path, data=data,
                            headers={"Content-Type": "application/json"} if data else {},
                            auth=SigV4(credential["access_key"], credential["secret_key"]), timeout=30)


# -- the page itself --------------------------------------------------------------------------
class _Markup(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {k for k, _ in attrs}
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.problems.append("a <script> without src")
        if tag == "style":
            self.problems.append("a <style> element")
        if "style" in names:
            self.problems.append(f"a style attribute on <{tag}>")
        self.problems += [f"an inline handler {k} on <{tag}>" for k in names if k.startswith("on")]
        for k, v in attrs:
            if k in ("src", "href") and v and "//" in v:
                self.problems.append(f"<{tag} {k}={v}> loads from elsewhere")

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("an inline script body")


def test_ui_is_served_with_its_security_headers_and_needs_no_inline_code(stack):
    r = requests.get(stack.http_url + "/ui/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers.get("Content-Security-Policy") == CSP
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("Referrer-Policy") == "no-referrer"
    markup = _Markup()
    markup.feed(r.text)
    assert markup.problems == [], "index.html has what the CSP blocks or loads from elsewhere"

    # Every file of web/ is served with the same headers; the scripts keep nothing beyond the
    # page (no web storage, no cookies: an object served from this origin could read them) and
    # never parse markup from data (bucket names are text).
    never = re.compile(r"\b(localStorage|sessionStorage)\s*[.\[]|document\.cookie|\.(inner|outer)HTML\s*=|"
                       r"insertAdjacentHTML|\beval\(|new Function\(")
    files = sorted(p.name for p in (ROOT / "web").iterdir() if p.suffix in (".js", ".css"))
    assert {"app.js", "sigv4.js", "api.js", "charts.js", "style.css"} <= set(files)
    for name in files:
        f = requests.get(f"{stack.http_url}/ui/{name}", timeout=10)
        assert f.status_code == 200, name
        assert f.headers["Content-Type"].split(";")[0] == ("text/css" if name.endswith(".css")
                                                           else "application/javascript"), name
        assert f.headers.get("Content-Security-Policy") == CSP, name
        assert f.headers.get("X-Content-Type-Options") == "nosniff", name
        assert not never.search(f.text), f"{name}: {never.search(f.text).group(0)}"
    # Polling what runs in the gateway (discovery jobs, migration runs) is one helper's job.
    assert [p.name for p in sorted((ROOT / "web").glob("*.js")) if "setTimeout(" in p.read_text()] == ["follow.js"]


class _Forms(html.parser.HTMLParser):
    """index.html's forms, their controls and submit buttons, as written (before any script)."""

    def __init__(self):
        super().__init__()
        self.forms, self.named, self.submits = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(a)
        if tag in ("input", "select", "textarea", "button") and "name" in a:
            self.named.append(a.get("id"))
        if tag == "button" and a.get("type", "submit") == "submit":
            self.submits.append(a)


def test_enter_before_the_script_runs_puts_no_secret_in_a_url_or_a_log(stack):
    """Module scripts run after the page is parsed: on a slow link, or when one fails to load, a
    user can type a secret and press Enter in a form no script handles yet. The browser's own
    submission must then carry nothing anywhere: not into the address bar, the history, or
    nginx's access log."""
    forms = _Forms()
    forms.feed(requests.get(stack.http_url + "/ui/", timeout=10).text)
    assert forms.named == [], "form controls with a name: a browser submission would send their values"
    # POST to the page itself, without values, should a submission get past the CSP; the run
    # form closes its dialog.
    assert {f["id"]: (f.get("method"), f.get("action")) for f in forms.forms} == {
        "gateway-form": ("post", None), "discovery-form": ("post", None), "plan-form": ("post", None),
        "run-form": ("dialog", None)}
    assert forms.submits and all("disabled" in b for b in forms.submits), forms.submits

    page = stack.http_url + "/ui/"
    secret = "typed-secret-" + secrets.token_urlsafe(16)
    token = "typed-token-" + secrets.token_urlsafe(16)
    log = stack.nginx_prefix / "access.log"
    driver = webdriver.Chrome(options=chrome_options(), service=Service(CHROMEDRIVER))
    try:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        driver.get(page)
        assert text(driver, "gateway-status") == "", "the page's script ran"

        def still_on_the_page(after: str):
            history = driver.execute_cdp_cmd("Page.getNavigationHistory", {})["entries"]
            urls = [e["url"] for e in history if not e["url"].startswith("data:")]
            assert urls == [page], f"Enter in {after} made the browser submit a form: {urls}"

        def press_enter_in_every_form():
            for fields in (("gw-access-key", "gw-secret-key", "gw-session-token"),
                           ("src-access-key", "src-secret-key", "src-session-token")):
                access, secret_field, token_field = (driver.find_element(By.ID, f) for f in fields)
                for field, value in ((access, "AKIDTYPED"), (token_field, token), (secret_field, secret)):
                    field.clear()
                    field.send_keys(value)
                # A navigation would start on Enter (and chromedriver waits for it).
                secret_field.send_keys(Keys.ENTER)
                still_on_the_page(fields[1])
            plan_field = driver.find_element(By.ID, "plan-constraint")
            plan_field.clear()
            plan_field.send_keys("fi", Keys.ENTER)
            still_on_the_page("plan-constraint")
            # And nothing starts late.
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                assert driver.current_url == page, "a form was submitted by the browser"
                time.sleep(0.1)
            still_on_the_page("any form")

        # The submit buttons are disabled until the script enables them: Enter does nothing.
        press_enter_in_every_form()
        # With them enabled (as if the script had got that far and then failed), the submission
        # goes nowhere: the CSP's form-action 'none' refuses it, and it would carry no value.
        document = driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
        for node in driver.execute_cdp_cmd("DOM.querySelectorAll", {"nodeId": document,
                                                                    "selector": "button[type=submit]"})["nodeIds"]:
            driver.execute_cdp_cmd("DOM.removeAttribute", {"nodeId": node, "name": "disabled"})
        assert driver.find_element(By.ID, "gw-connect").is_enabled()
        press_enter_in_every_form()
    finally:
        driver.quit()
    logged = log.read_text()
    assert "/ui/" in logged
    for value in (secret, token, "AKIDTYPED"):
        assert value not in logged, "a typed value reached nginx's access log"
    assert not re.search(r'"POST /ui/', logged)


# -- SigV4 in the browser ---------------------------------------------------------------------
SIGN_IN_PAGE = """
const [moduleUrl, calls] = [arguments[0], arguments[1]];
const done = arguments[arguments.length - 1];
import(moduleUrl).then(async (m) => {
  const out = [];
  for (const c of calls) {
    const args = { ...c.args, date: new Date(c.args.date) };
    out.push(c.kind === "presign" ? { url: await m.presignUrl(args) } : await m.signRequest(args));
  }
  done({ out });
}).catch((e) => done({ error: String(e && e.stack || e) }));
"""

# MARK: AWS's published examples, verbatim:
# https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html (GET Object, PUT Object)
# https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (presigned GET)
AWS_KEY = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
AWS_GET_CANONICAL = """GET
/test.txt

host:examplebucket.s3.amazonaws.com
range:bytes=0-9
x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-amz-date:20130524T000000Z

host;range;x-amz-content-sha256;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"""
AWS_GET_STRING_TO_SIGN = """AWS4-HMAC-SHA256
20130524T000000Z
20130524/us-east-1/s3/aws4_request
7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"""


def sign_in_browser(browser, stack, calls):
    result = browser.execute_async_script(SIGN_IN_PAGE, stack.http_url + "/ui/sigv4.js", calls)
    assert "error" not in result, result.get("error")
    return result["out"]


def test_sigv4_js_signs_as_aws_documents_and_as_botocore_does(browser, stack, monkeypatch):
    import datetime

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    browser.set_script_timeout(30)
    browser.get(stack.http_url + "/ui/")  # a secure context (127.0.0.1): crypto.subtle exists
    get_object, put_object, presigned = sign_in_browser(browser, stack, [
        {"kind": "sign", "args": {"method": "GET", "url": "https://examplebucket.s3.amazonaws.com/test.txt",
                                  "headers": {"Range": "bytes=0-9"}, "body": "", "credentials": AWS_KEY,
                                  "region": "us-east-1", "date": "2013-05-24T00:00:00Z"}},
        {"kind": "sign", "args": {"method": "PUT", "url": "https://examplebucket.s3.amazonaws.com/test%24file.text",
                                  "headers": {"Date": "Fri, 24 May 2013 00:00:00 GMT",
                                              "x-amz-storage-class": "REDUCED_REDUNDANCY"},
                                  "body": "Welcome to Amazon S3.", "credentials": AWS_KEY, "region": "us-east-1",
                                  "date": "2013-05-24T00:00:00Z"}},
        {"kind": "presign", "args": {"url": "https://examplebucket.s3.amazonaws.com/test.txt", "credentials": AWS_KEY,
                                     "region": "us-east-1", "expires": 86400, "date": "2013-05-24T00:00:00Z"}},
    ])
    assert get_object["canonicalRequest"] == AWS_GET_CANONICAL
    assert get_object["stringToSign"] == AWS_GET_STRING_TO_SIGN
    assert get_object["headers"]["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    assert put_object["signature"] == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    assert put_object["headers"]["x-amz-content-sha256"] == \
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    assert parse_qs(urlsplit(presigned["url"]).query)["X-Amz-Signature"] == \
        ["aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"]

    # MARK: botocore, for the requests the UI makes: a JSON POST with a session token, and a
    # presigned download whose path needs encoding.
    when = datetime.datetime(2026, 11, 29, 10, 20, 30, tzinfo=datetime.timezone.utc)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when.replace(tzinfo=None))
    key = {"accessKeyId": "GWKEYEXAMPLE", "secretAccessKey": "s3cr3t/with+chars=", "sessionToken": "tok/en+==x"}
    creds = Credentials(key["accessKeyId"], key["secretAccessKey"], key["sessionToken"])
    body = json.dumps({"endpoint": "https://s3.amazonaws.com", "sanitization": "hashed", "note": "ä ✓"})
    post_url = stack.http_url + "/api/discovery/jobs"
    download_url = stack.http_url + "/api/discovery/snapshots/snap%20%21x/download?format=json.gz"
    post, presigned = sign_in_browser(browser, stack, [
        {"kind": "sign", "args": {"method": "POST", "url": post_url, "headers": {"content-type": "application/json"},
                                  "body": body, "credentials": key, "region": "eu-north-1", "date": when.isoformat()}},
        {"kind": "presign", "args": {"url": download_url, "credentials": key, "region": REGION, "expires": 300,
                                     "date": when.isoformat()}},
    ])
    aws = AWSRequest(method="POST", url=post_url, data=body.encode(), headers={"content-type": "application/json"})
    botocore.auth.S3SigV4Auth(creds, "s3", "eu-north-1").add_auth(aws)
    assert post["headers"]["authorization"] == aws.headers["Authorization"].replace(",S", ", S")
    assert post["headers"]["x-amz-security-token"] == key["sessionToken"]
    assert post["headers"]["x-amz-content-sha256"] == hashlib.sha256(body.encode()).hexdigest()

    aws = AWSRequest(method="GET", url=download_url)
    botocore.auth.S3SigV4QueryAuth(creds, "s3", REGION, expires=300).add_auth(aws)
    ours, theirs = parse_qs(urlsplit(presigned["url"]).query), parse_qs(urlsplit(aws.url).query)
    assert ours == theirs
    assert urlsplit(presigned["url"]).path == "/api/discovery/snapshots/snap%20%21x/download"


# -- paste credentials → snapshot -------------------------------------------------------------
def test_paste_credentials_watch_progress_read_charts_and_download(browser, stack, source, slow_source, ui_credential,
                                                                   downloads):
    expected = expected_summary(source.layout)
    source_secret = "moto-src-" + secrets.token_urlsafe(24)  # moto checks no signature; it must never be kept
    source_token = "moto-token-" + secrets.token_urlsafe(24)
    browser.get_log("performance")  # only this test's requests count below
    connect(browser, stack, ui_credential)

    # -- paste credentials, start ------------------------------------------------------------
    fill(browser, "src-access-key", "AKIDMOTOSOURCE")
    fill(browser, "src-secret-key", source_secret)
    fill(browser, "src-session-token", source_token)
    fill(browser, "src-endpoint", f"http://127.0.0.1:{slow_source.port}")
    fill(browser, "src-region", "us-east-1")
    Select(browser.find_element(By.ID, "src-sanitization")).select_by_value("full")
    fill(browser, "src-prefix-depth", str(PREFIX_DEPTH))
    browser.find_element(By.ID, "discover").click()
    assert browser.find_element(By.ID, "src-secret-key").get_attribute("value") == ""
    assert browser.find_element(By.ID, "src-session-token").get_attribute("value") == ""

    # -- the progress bar: sampled until the job is no longer running --------------------------
    seen = []

    def finished():
        no_alert(browser)
        if not shown(browser, "job"):
            raise NotYet("no job shown yet")
        sample = js(browser, """
            const p = document.getElementById('job-progress');
            return {state: document.getElementById('job').dataset.state, value: p.position < 0 ? null : p.value,
                    max: p.max, objects: document.getElementById('job-objects').textContent};""")
        if not seen or seen[-1] != sample:
            seen.append(sample)
        return sample["state"] != "running" and sample

    final = wait_until(finished, 120, "the discovery job to finish", interval=0.05, detail=lambda: str(seen))
    assert final["state"] == "done", seen
    buckets = len(expected)
    assert final["max"] == buckets and final["value"] == buckets, seen
    values = [s["value"] for s in seen if s["value"] is not None]
    assert values == sorted(values), f"the progress bar went backwards: {seen}"
    running = [s for s in seen if s["state"] == "running" and s["max"] == buckets]
    assert running and len(set(values)) >= 2, f"the progress bar was never seen moving: {seen}"
    total_objects = sum(b["objects"] for b in expected.values())
    total_bytes = sum(b["bytes"] for b in expected.values())
    assert text(browser, "job-objects") == human_count(total_objects)
    assert text(browser, "job-buckets") == f"{buckets} / {buckets}"
    job_id = text(browser, "job-id")

    # -- results: table and charts -----------------------------------------------------------
    wait_until(lambda: shown(browser, "results-panel") and
               browser.find_element(By.ID, "bucket-table").get_attribute("data-rendered") == "true",
               30, "the snapshot's results to be drawn", detail=lambda: alerts(browser))
    assert browser.find_element(By.ID, "results-panel").get_attribute("data-snapshot") == job_id
    assert text(browser, "result-objects") == human_count(total_objects)
    rows = {r.get_attribute("data-bucket"): r for r in browser.find_elements(By.CSS_SELECTOR, "#bucket-body tr")}
    assert set(rows) == set(expected)
    for name, want in expected.items():
        cells = [c.text for c in rows[name].find_elements(By.CSS_SELECTOR, "th, td")]
        bucket, region, objects, _bytes, classes, versioning, *statuses, listing = cells
        assert (bucket, objects, listing) == (name, human_count(want["objects"]), "complete"), cells
        assert region, cells
        assert set(filter(None, classes.split(", "))) == (set(want["classes"]) or {"—"}), cells
        assert versioning == ("enabled" if want["versioned"] else "disabled"), cells
        assert set(statuses) <= {"enabled", "disabled", "unknown"}, cells

    def bars(chart: str) -> list[int]:
        return [int(float(v)) for v in js(browser, f"""return [...document.querySelectorAll(
            'svg[data-chart="{chart}"] rect.bar')].map(r => r.dataset.value);""")]

    def chart_titles(chart: str) -> list[str]:
        return js(browser, f"""return [...document.querySelectorAll('svg[data-chart="{chart}"] rect.bar title')]
                             .map(t => t.textContent);""")

    all_classes = Counter()
    for b in expected.values():
        for c, n in b["classes"].items():
            all_classes[c] += n
    histogram = bars("histogram")
    assert len(histogram) == 23 and sum(histogram) == total_objects
    assert len(bars("storage-classes")) == len(all_classes)
    assert sum(bars("storage-classes")) == total_bytes
    all_prefixes = sorted(((v, f"{b}/{p}") for b, e in expected.items() for p, v in e["prefixes"].items()),
                          reverse=True)
    prefix_bars = bars("prefixes")
    assert len(prefix_bars) == min(25, len(all_prefixes))
    assert prefix_bars == [v for v, _ in all_prefixes[:len(prefix_bars)]]
    assert chart_titles("prefixes")[0].startswith(all_prefixes[0][1] + ":")
    assert len(bars("months")) == len(source.months) and sum(bars("months")) == total_bytes
    for chart in ("histogram", "storage-classes", "prefixes", "months"):
        assert js(browser, f"""const s = document.querySelector('svg[data-chart="{chart}"]');
            return s.getAttribute('role') === 'img' && s.querySelector('title').textContent.length > 0""")

    # One bucket's charts: pick it in the table.
    rows["photos"].find_element(By.CSS_SELECTOR, "button[data-select]").click()
    assert Select(browser.find_element(By.ID, "chart-scope")).first_selected_option.text == "photos"
    assert sum(bars("histogram")) == expected["photos"]["objects"]
    assert len(bars("storage-classes")) == len(expected["photos"]["classes"])
    assert len(bars("prefixes")) == len(expected["photos"]["prefixes"])
    Select(browser.find_element(By.ID, "chart-scope")).select_by_value("")

    shot = save_screenshot(browser, "discovery-ui.png")
    assert shot.stat().st_size > 10_000

    # -- download the snapshot (a presigned URL: the browser streams it to disk) ----------------
    row = browser.find_element(By.CSS_SELECTOR, f'#snapshots-body tr[data-snapshot="{job_id}"]')
    row.find_element(By.CSS_SELECTOR, 'button[data-format="json"]').click()

    def downloaded(suffix: str) -> Path:
        """The finished download: named by the gateway's Content-Disposition, with the job id."""
        files = list(downloads.iterdir())
        if any(f.name.endswith(".crdownload") for f in files):
            raise NotYet(f"still downloading: {[f.name for f in files]}")
        done = [f for f in files if job_id in f.name and f.name.endswith(suffix)]
        if not done:
            raise NotYet(f"download dir holds {[f.name for f in files]}")
        return done[0]

    path = wait_until(lambda: downloaded(".json"), 30, "the browser to download the snapshot",
                      detail=lambda: alerts(browser))
    raw = path.read_text()
    snapshot = json.loads(raw)
    assert snapshot["schema_version"] == 1 and snapshot["snapshot"]["id"] == job_id
    assert {b["name"] for b in snapshot["buckets"]} == set(expected)
    assert sum(len(b.get("objects", [])) for b in snapshot["buckets"]) == total_objects
    assert source_secret not in raw and source_token not in raw
    row.find_element(By.CSS_SELECTOR, 'button[data-format="json.gz"]').click()
    gz = wait_until(lambda: downloaded(".json.gz"), 30, "the browser to download the gzipped snapshot",
                    detail=lambda: alerts(browser))
    assert json.loads(gzip.decompress(gz.read_bytes())) == snapshot

    assert_page_kept_to_itself(browser, stack, pasted=[source_secret, source_token],
                               gateway_secret=ui_credential["secret_key"])


def assert_page_kept_to_itself(browser, stack, pasted: list[str], gateway_secret: str):
    """No request went anywhere but the gateway, nothing failed or broke the CSP, no secret is left
    in the page, its storage or its cookies, and no pasted one in any file of the gateway (its own
    credential's secret is stored there, sealed)."""
    # (Downloads the browser itself starts are not among the page's Network events; their
    # presigned URL is made from the page's own origin in api.js.)
    urls = requested_urls(browser)
    api_calls = [u for u in urls if u.startswith(stack.http_url + "/api/")]
    assert len(api_calls) >= 5, urls
    elsewhere = [u for u in urls if not (u.startswith(stack.http_url + "/") or u.startswith("data:"))]
    assert elsewhere == [], "the page sent requests to other origins"
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], "the page logged errors (a CSP violation or a failed request)"

    kept = js(browser, """return JSON.stringify({local: {...localStorage}, session: {...sessionStorage},
        cookie: document.cookie, fields: [...document.querySelectorAll('input')].map(i => i.value),
        page: document.documentElement.outerHTML})""")
    for secret in [*pasted, gateway_secret]:
        assert secret not in kept, "a secret is still in the page, its storage or its cookies"
    assert browser.get_cookies() == []
    for f in stack.tmp.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            for secret in pasted:
                assert secret.encode() not in data, f"a pasted secret was written to {f}"


def test_cancel_stops_a_running_discovery(browser, stack, slow_source, ui_credential):
    connect(browser, stack, ui_credential)
    fill(browser, "src-access-key", "AKIDMOTOSOURCE")
    fill(browser, "src-secret-key", "moto-src-" + secrets.token_urlsafe(24))
    fill(browser, "src-endpoint", f"http://127.0.0.1:{slow_source.port}")
    browser.find_element(By.ID, "discover").click()
    wait_until(lambda: no_alert(browser) and shown(browser, "job-cancel") and
               browser.find_element(By.ID, "job").get_attribute("data-state") == "running", 30,
               "the discovery to run")
    job_id = text(browser, "job-id")
    # Loading the page again forgets the gateway credential; once connected again the page finds
    # the job, which ran on in the gateway meanwhile.
    connect(browser, stack, ui_credential)
    wait_until(lambda: no_alert(browser) and shown(browser, "job") and text(browser, "job-id") == job_id, 20,
               "the page to follow the running job again")
    browser.find_element(By.ID, "job-cancel").click()
    wait_until(lambda: no_alert(browser) and browser.find_element(By.ID, "job").get_attribute("data-state") == "cancelled",
               30, "the page to show the job cancelled")
    assert not shown(browser, "job-cancel")
    assert api(stack, ui_credential, "GET", f"discovery/jobs/{job_id}").json()["state"] == "cancelled"
    # The page stopped asking: no progress request for the job in the next few poll intervals.
    requested_urls(browser)
    time.sleep(2.5)
    assert not [u for u in requested_urls(browser) if job_id in u]


# -- snapshots the gateway holds -------------------------------------------------------------
def place_snapshot(stack, tenant: str, snapshot: dict) -> str:
    """Puts a snapshot file and its summary where the gateway keeps them
    (<state_dir>/snapshots/<tenant>/<id>.json and <id>.summary.json, docs/DISCOVERY.md), as if a
    discovery had written it."""
    directory = stack.state_dir / "snapshots" / tenant
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    sid = snapshot["snapshot"]["id"]
    summary = {**snapshot, "buckets": [{k: v for k, v in b.items() if k != "objects"} for b in snapshot["buckets"]]}
    (directory / f"{sid}.json").write_text(json.dumps(snapshot))
    (directory / f"{sid}.summary.json").write_text(json.dumps(summary))
    return sid


def open_snapshot(browser, sid: str):
    browser.find_element(By.ID, "snapshots-refresh").click()

    def click_open():
        # The list may be redrawn (a refresh still answering) between finding the row and the
        # click: find it again then.
        rows = no_alert(browser) and browser.find_elements(
            By.CSS_SELECTOR, f'#snapshots-body tr[data-snapshot="{sid}"]')
        if not rows:
            return False
        rows[0].find_element(By.CSS_SELECTOR, 'button[data-action="open"]').click()
        return True
    wait_until(click_open, 20, f"snapshot {sid} to be listed", ignore=(StaleElementReferenceException,))
    wait_until(lambda: no_alert(browser) and shown(browser, "results-panel") and
               browser.find_element(By.ID, "results-panel").get_attribute("data-snapshot") == sid and
               browser.find_element(By.ID, "bucket-table").get_attribute("data-rendered") == "true",
               60, f"snapshot {sid} to be drawn")


def test_unknown_statuses_a_denied_and_an_incomplete_listing_are_shown_as_such(browser, stack, ui_credential):
    snapshot = json.loads((ROOT / "Tests" / "Fixtures" / "snapshot-v1.json").read_text())
    sid = place_snapshot(stack, "webui", snapshot)
    connect(browser, stack, ui_credential)
    open_snapshot(browser, sid)
    rows = {r.get_attribute("data-bucket"): r for r in browser.find_elements(By.CSS_SELECTOR, "#bucket-body tr")}
    assert list(rows) == [b["name"] for b in snapshot["buckets"]]
    for b in snapshot["buckets"]:
        cells = rows[b["name"]].find_elements(By.CSS_SELECTOR, "td")
        statuses = cells[4:10]
        for cell, key in zip(statuses, ("versioning", "encryption", "lifecycle", "replication", "object_lock",
                                        "policy")):
            assert cell.text == b["statuses"][key], (b["name"], key)
            assert ("status-unknown" in cell.get_attribute("class")) == (b["statuses"][key] == "unknown")
        assert cells[10].text == {"complete": "complete", "access_denied": "access denied",
                                  "incomplete": "incomplete"}[b["listing"]]
    # "unknown" is marked, not just grey text: a visible "?" before it.
    marker = js(browser, """return getComputedStyle(document.querySelector('#bucket-body .status-unknown'),
                            '::before').content""")
    assert "?" in marker
    assert text(browser, "result-objects") == human_count(sum(b["summary"]["object_count"]
                                                              for b in snapshot["buckets"]))


def test_a_snapshot_of_thousands_of_buckets_and_100k_objects_is_drawn_without_freezing_the_page(
        browser, stack, ui_credential):
    bins = [(0, 1)] + [(4 ** (i - 1), 4 ** i) for i in range(1, 22)] + [(4 ** 21, None)]
    buckets = []
    for n in range(3000):
        objects = 31 + n % 7  # 3000 buckets, over 100 k objects
        size = 1000 + n
        histogram = [{"min_bytes": lo, "max_bytes": hi, "objects": objects if lo <= size < (hi or 1 << 62) else 0,
                      "bytes": objects * size if lo <= size < (hi or 1 << 62) else 0} for lo, hi in bins]
        buckets.append({
            "name": f"bucket-{n:05}", "region": "eu-north-1", "listing": "complete",
            "statuses": {k: ("unknown" if n % 5 == 0 else "disabled") for k in
                         ("versioning", "encryption", "lifecycle", "replication", "object_lock", "policy")},
            "summary": {"object_count": objects, "total_bytes": objects * size,
                        "storage_classes": [{"storage_class": "STANDARD", "objects": objects, "bytes": objects * size}],
                        "size_histogram": histogram,
                        "last_modified": [{"month": f"2024-{1 + n % 12:02}", "objects": objects,
                                           "bytes": objects * size}],
                        "top_prefixes": [{"prefix": f"p{n % 40}/", "objects": objects, "bytes": objects * size,
                                          "objects_error": 0, "bytes_error": 0}]},
        })
    snapshot = {"schema_version": 1, "snapshot": {
        "id": "snap-large", "created_at": "2026-11-29T10:00:00Z", "source": {"endpoint_host": "s3.amazonaws.com",
                                                                            "region": "us-east-1"},
        "sanitization": "prefixes", "prefix_depth": 2}, "buckets": buckets}
    total = sum(b["summary"]["object_count"] for b in buckets)
    assert total >= 100_000
    sid = place_snapshot(stack, "webui", snapshot)
    connect(browser, stack, ui_credential)
    # A heartbeat on animation frames: how long each frame took and how many table rows it saw.
    js(browser, """window.__frames = []; let last = performance.now();
        const body = document.getElementById('bucket-body');
        (function beat(t) { window.__frames.push([t - last, body.rows.length]); last = t;
                            requestAnimationFrame(beat); })(last);""")
    open_snapshot(browser, sid)
    frames = js(browser, "return window.__frames")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#bucket-body tr")) == len(buckets)
    assert text(browser, "result-objects") == human_count(total)
    assert len(js(browser, "return [...document.querySelectorAll('svg[data-chart=months] rect.bar')]")) == 12
    # The table grew over many frames (the page kept painting and answering between chunks),
    # and no single frame stood still for long (a loaded 2-core machine allowed for).
    growing = sorted({rows for _, rows in frames if 0 < rows < len(buckets)})
    assert len(growing) >= 5, f"the table was drawn in {len(growing) + 1} steps: {growing}"
    longest = max(gap for gap, _ in frames)
    assert longest < 3000, f"the page stood still for {longest:.0f} ms while drawing"


def test_temporary_credentials_from_the_gateways_sts_sign_calls_and_downloads(browser, stack, ui_credential,
                                                                             downloads):
    import boto3

    sts = boto3.client("sts", endpoint_url=stack.http_url, region_name=REGION,
                       aws_access_key_id=ui_credential["access_key"], aws_secret_access_key=ui_credential["secret_key"])
    session = sts.get_session_token(DurationSeconds=900)["Credentials"]
    temporary = {"access_key": session["AccessKeyId"], "secret_key": session["SecretAccessKey"],
                 "session_token": session["SessionToken"]}
    assert temporary["access_key"] != ui_credential["access_key"]
    snapshot = json.loads((ROOT / "Tests" / "Fixtures" / "snapshot-v1-prefixes.json").read_text())
    snapshot["snapshot"]["id"] = "snap-via-sts"
    sid = place_snapshot(stack, "webui", snapshot)
    browser.get_log("performance")
    connect(browser, stack, temporary)
    open_snapshot(browser, sid)
    row = browser.find_element(By.CSS_SELECTOR, f'#snapshots-body tr[data-snapshot="{sid}"]')
    row.find_element(By.CSS_SELECTOR, 'button[data-format="json"]').click()

    def downloaded():
        done = [f for f in downloads.iterdir() if sid in f.name and f.name.endswith(".json")]
        if not done:
            raise NotYet(f"download dir holds {[f.name for f in downloads.iterdir()]}")
        return done[0]

    path = wait_until(downloaded, 30, "the browser to download the snapshot with a presigned, session-token URL")
    assert json.loads(path.read_text()) == snapshot
    # A temporary key is refused without its token, so the presigned URL carried it.
    without = requests.get(stack.http_url + "/api/discovery/snapshots", timeout=10,
                           auth=SigV4(temporary["access_key"], temporary["secret_key"]))
    assert without.status_code in (400, 403) and "Token" in without.json()["error"]["code"], without.text
    for secret in (temporary["secret_key"], temporary["session_token"]):
        assert secret not in js(browser, """return JSON.stringify({local: {...localStorage},
            session: {...sessionStorage}, cookie: document.cookie, page: document.documentElement.outerHTML})""")


# -- snapshot → plan → migration done ---------------------------------------------------------
def test_plan_and_run_a_migration_from_a_snapshot(browser, stack, source, ui_credential):
    source_secret = "moto-src-" + secrets.token_urlsafe(24)
    expected = expected_summary(source.layout)

    # A snapshot to plan from, taken through the API (the test above takes one through the page).
    r = api(stack, ui_credential, "POST", "discovery/jobs", {
        "endpoint": f"http://127.0.0.1:{source.port}", "region": "us-east-1", "access_key_id": "AKIDMOTOSOURCE",
        "secret_access_key": source_secret, "sanitization": "prefixes"})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    wait_until(lambda: api(stack, ui_credential, "GET", f"discovery/jobs/{job_id}").json()["state"] == "done", 120,
               "the discovery job to finish")

    browser.get_log("performance")
    connect(browser, stack, ui_credential)
    Select(browser.find_element(By.ID, "plan-snapshot")).select_by_value(job_id)
    fill(browser, "plan-constraint", "fi,de")
    fill(browser, "plan-replicas", "1")  # more copies need an administrator to set the replica-count
    fill(browser, "plan-prefix", "moved-")
    browser.find_element(By.ID, "plan-make").click()
    wait_until(lambda: no_alert(browser) and shown(browser, "plan"), 30, "the migration plan to be shown")
    placed = {r.get_attribute("data-bucket"): [c.text for c in r.find_elements(By.TAG_NAME, "td")]
              for r in browser.find_elements(By.CSS_SELECTOR, "#plan-buckets tr")}
    assert set(placed) == set(expected), placed
    for name, (target, zones, objects, *_rest) in placed.items():
        assert target == "moved-" + name
        assert zones == "fi-1", (name, zones)  # the first country of the constraint, one copy
        assert objects == human_count(expected[name]["objects"])
    assert {c.text for c in browser.find_elements(By.CSS_SELECTOR, "#plan-countries th")} == {"fi"}

    browser.find_element(By.ID, "run-open").click()
    fill(browser, "run-access-key", "AKIDMOTOSOURCE")
    fill(browser, "run-secret-key", source_secret)
    browser.find_element(By.ID, "run-start").click()
    assert browser.find_element(By.ID, "run-secret-key").get_attribute("value") == ""

    def run_finished():
        if not no_alert(browser) or not shown(browser, "run"):
            raise NotYet("no run shown yet")
        state = browser.find_element(By.ID, "run").get_attribute("data-state")
        return state != "running" and state

    assert wait_until(run_finished, 300, "the migration run to finish", interval=0.2,
                      detail=lambda: alerts(browser) + " " + text(browser, "run")) == "done"
    total_objects = sum(b["objects"] for b in expected.values())
    assert text(browser, "run-objects") == f"{human_count(total_objects)} / {human_count(total_objects)}"
    assert shown(browser, "run-report")
    states = {r.get_attribute("data-bucket"): r.find_elements(By.TAG_NAME, "td")[1].text
              for r in browser.find_elements(By.CSS_SELECTOR, "#run-buckets tr")}
    assert states == {name: "done" for name in expected}, states
    save_screenshot(browser, "migration-ui.png")

    # The objects are in the gateway, byte for byte.
    import boto3
    from botocore.config import Config

    gw = boto3.client("s3", endpoint_url=stack.http_url, aws_access_key_id=ui_credential["access_key"],
                      aws_secret_access_key=ui_credential["secret_key"], region_name=REGION,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    src = source.client()
    for name in expected:
        keys = sorted(o["Key"] for o in gw.list_objects_v2(Bucket="moved-" + name).get("Contents", []))
        assert keys == sorted(k for k, _, _ in source.layout[name][0]), name
        for key in keys[:: max(1, len(keys) // 5)]:
            assert gw.get_object(Bucket="moved-" + name, Key=key)["Body"].read() == \
                src.get_object(Bucket=name, Key=key)["Body"].read(), (name, key)

    assert_page_kept_to_itself(browser, stack, pasted=[source_secret], gateway_secret=ui_credential["secret_key"])


# -- Forget, and runs that fail ---------------------------------------------------------------
def snapshot_of(sid: str, port: int, buckets: dict) -> dict:
    """A snapshot (prefixes only) of the account at 127.0.0.1:port naming `buckets`
    ({name: (objects, bytes)}), as if a discovery had taken it; a name the account does not
    have makes a bucket a run cannot list."""
    template = json.loads((ROOT / "Tests" / "Fixtures" / "snapshot-v1-prefixes.json").read_text())
    template["snapshot"].update(id=sid, source={"endpoint_host": f"127.0.0.1:{port}", "region": "us-east-1"})
    bucket = template["buckets"][0]
    template["buckets"] = [{
        **bucket, "name": name, "region": "us-east-1", "listing": "complete",
        "summary": {**bucket["summary"], "object_count": objects, "total_bytes": size, "top_prefixes": [],
                    "storage_classes": [{"storage_class": "STANDARD", "objects": objects, "bytes": size}]},
    } for name, (objects, size) in buckets.items()]
    return template


def make_plan(browser, sid: str, prefix: str):
    browser.find_element(By.ID, "snapshots-refresh").click()
    wait_until(lambda: no_alert(browser) and browser.find_elements(
        By.CSS_SELECTOR, f'#plan-snapshot option[value="{sid}"]'), 20, f"snapshot {sid} to be offered for a plan")
    Select(browser.find_element(By.ID, "plan-snapshot")).select_by_value(sid)
    fill(browser, "plan-constraint", "fi")
    fill(browser, "plan-replicas", "1")
    fill(browser, "plan-prefix", prefix)
    browser.find_element(By.ID, "plan-make").click()
    wait_until(lambda: no_alert(browser) and shown(browser, "plan") and
               browser.find_element(By.ID, "plan").get_attribute("data-plan"), 30, "the migration plan to be shown")


def start_run(browser, secret: str):
    browser.find_element(By.ID, "run-open").click()
    fill(browser, "run-access-key", "AKIDMOTOSOURCE")
    fill(browser, "run-secret-key", secret)
    browser.find_element(By.ID, "run-start").click()


def test_forget_stops_following_and_takes_everything_off_the_screen(browser, stack, source, slow_source,
                                                                    ui_credential):
    # A run from an account behind the slow link takes a while: it is still running at Forget.
    layout = source.layout["photos"][0]
    sid = place_snapshot(stack, "webui", snapshot_of("snap-forget", slow_source.port, {
        "photos": (len(layout), sum(size for _, size, _ in layout))}))
    connect(browser, stack, ui_credential)
    make_plan(browser, sid, "forgot-")
    start_run(browser, "moto-src-" + secrets.token_urlsafe(24))
    wait_until(lambda: no_alert(browser) and shown(browser, "run") and
               browser.find_element(By.ID, "run").get_attribute("data-state") == "running", 30, "the run to start")
    run_id = text(browser, "run-id")
    # And a discovery through the same slow link, running too.
    fill(browser, "src-access-key", "AKIDMOTOSOURCE")
    fill(browser, "src-secret-key", "moto-src-" + secrets.token_urlsafe(24))
    fill(browser, "src-endpoint", f"http://127.0.0.1:{slow_source.port}")
    browser.find_element(By.ID, "discover").click()
    wait_until(lambda: no_alert(browser) and shown(browser, "job") and
               browser.find_element(By.ID, "job").get_attribute("data-state") == "running", 30, "the discovery to run")
    job_id = text(browser, "job-id")
    open_snapshot(browser, sid)
    fill(browser, "src-secret-key", "typed-but-not-sent")
    assert shown(browser, "plan") and shown(browser, "run") and shown(browser, "results-panel")
    try:
        browser.find_element(By.ID, "gw-forget").click()
        assert text(browser, "gateway-status") == "Not connected."
        for section in ("job", "plan", "run", "results-panel"):
            assert not shown(browser, section), f"#{section} is still shown after Forget"
        assert browser.find_elements(By.CSS_SELECTOR, "#snapshots-body tr, #bucket-body tr, #plan-buckets tr, "
                                                      "#run-buckets tr, #plan-snapshot option") == []
        assert [f.get_attribute("value") for f in browser.find_elements(By.CSS_SELECTOR, "input[type=password]")
                if f.get_attribute("value")] == []
        assert run_id not in js(browser, "return document.body.innerText")
        # The page stopped asking about the run and the job (both poll about once a second).
        requested_urls(browser)
        time.sleep(3.5)
        asked = [u for u in requested_urls(browser) if "/api/" in u]
        assert asked == [], f"the page still polls after Forget: {asked}"
        assert not shown(browser, "run") and not shown(browser, "job") and alerts(browser) == ""
        # Both go on in the gateway: Forget is about this page, not the work.
        assert api(stack, ui_credential, "GET", f"migration/runs/{run_id}").json()["state"] == "running"
        assert api(stack, ui_credential, "GET", f"discovery/jobs/{job_id}").json()["state"] == "running"
    finally:
        api(stack, ui_credential, "POST", f"migration/runs/{run_id}/cancel")
        api(stack, ui_credential, "POST", f"discovery/jobs/{job_id}/cancel")
        wait_until(lambda: api(stack, ui_credential, "GET", f"migration/runs/{run_id}").json()["state"] != "running"
                   and api(stack, ui_credential, "GET", f"discovery/jobs/{job_id}").json()["state"] != "running",
                   60, "the run and the job to stop")


def test_a_failed_run_and_a_run_with_failed_buckets_say_so(browser, stack, source, ui_credential):
    """docs/web-api.yaml, Run: `failed` when nothing could be copied (here: the only bucket is
    not in the account), `done` with `failed_buckets` when some bucket could not be."""
    media = source.layout["media"][0]
    partial = place_snapshot(stack, "webui", snapshot_of("snap-partial", source.port, {
        "media": (len(media), sum(size for _, size, _ in media)), "no-such-bucket": (3, 300)}))
    failing = place_snapshot(stack, "webui", snapshot_of("snap-failing", source.port, {"no-such-bucket": (3, 300)}))

    def ended():
        state = browser.find_element(By.ID, "run").get_attribute("data-state") if shown(browser, "run") else None
        return state not in (None, "running") and state

    def row(name: str) -> list[str]:
        return [c.text for c in browser.find_elements(By.CSS_SELECTOR, f'#run-buckets tr[data-bucket="{name}"] td')]

    connect(browser, stack, ui_credential)
    make_plan(browser, partial, "partial-")
    start_run(browser, "moto-src-" + secrets.token_urlsafe(24))
    assert wait_until(ended, 120, "the run to end", detail=lambda: text(browser, "run")) == "done"
    assert browser.find_element(By.ID, "run").get_attribute("data-failed-buckets") == "1"
    assert text(browser, "run-failed") == "1 of 2"
    assert "bad" in browser.find_element(By.ID, "run-failed").get_attribute("class")
    summary = browser.find_element(By.ID, "run-summary")
    assert summary.text.startswith("Done, but 1 of 2 buckets failed"), summary.text
    assert "error" in summary.get_attribute("class")
    target, state, copied, *_counts, error = row("no-such-bucket")
    assert (target, state) == ("partial-no-such-bucket", "failed") and error, row("no-such-bucket")
    assert "failed" in browser.find_element(
        By.CSS_SELECTOR, '#run-buckets tr[data-bucket="no-such-bucket"]').get_attribute("class")
    assert row("media")[1:3] == ["done", human_count(len(media))], row("media")

    connect(browser, stack, ui_credential)  # a fresh page: the report above is an alert
    make_plan(browser, failing, "failing-")
    start_run(browser, "moto-src-" + secrets.token_urlsafe(24))
    assert wait_until(ended, 120, "the run to end", detail=lambda: text(browser, "run")) == "failed"
    assert text(browser, "run-state") == "failed"
    assert "run-state-failed" in browser.find_element(By.ID, "run-state").get_attribute("class")
    assert text(browser, "run-failed") == "1 of 1"
    assert text(browser, "run-summary") == \
        "Failed — nothing was copied: every bucket failed (each one's reason is in the table above)."
    assert text(browser, "run-error").startswith("The run failed: ") and "no-such-bucket" in text(browser, "run-error")
    assert row("no-such-bucket")[1] == "failed" and row("no-such-bucket")[-1]
