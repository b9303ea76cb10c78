"""The operator dashboard (web/dashboard.html, served by nginx under /ui/) in a real headless
Chromium — Debian's `chromium` and `chromium-driver`, driven by selenium — against the real
gateway and its agent: an administrator signs in with the gateway's key, the zones table lists
the zones with their health, and the charts draw the agent's history of the running gateway
(sampled every second here: `[metrics] history_interval = 1`): requests and errors as the
gateway's metrics counted them, and the replication queue. The gateway replicates nothing
(`[replication] workers = 0`), so the workload's copies wait in the queue and the backlog and lag
charts have something to show. The audit panel lists the newest events, the workload's among
them. A wrong secret is refused with the admin API's 403.

A screenshot goes to the test's tmp directory, and with S3GW_UPDATE_SCREENSHOTS=1 to
docs/images/dashboard.png (the README's)."""

import os
import shutil
from collections import Counter
from datetime import datetime
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from admin_api import admin
from conftest import REGION, ROOT, NotYet, Stack, filesystem_zone, free_port, new_bucket_name, provider_zone, wait_until
from test_metrics import requests_by_op_status
from test_web_ui import CSP, CHROMEDRIVER, CHROMIUM, _Markup, chrome_options, fill, text

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # reported by the skip below
    webdriver = None

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER and webdriver),
    reason="the browser tests need Debian's chromium and chromium-driver and selenium from PyPI "
           "(scripts/install-test-deps.sh installs them)",
)

OBJECTS = 12
MISSING_READS = 3
# A key the audit panel must show as text, never as markup.
XSS_KEY = '<img src=x onerror="window.__xss=1">'
# The workload's puts: the objects, the XSS key and an HTML page (PAGE).
PUTS = OBJECTS + 2
# CreateBucket, the puts, the reads and the reads of missing keys.
WORKLOAD_REQUESTS = 1 + PUTS + 2 * MISSING_READS
PAGE = b"""<!doctype html><html><head><title>object</title></head><body>
<p id="out">no script ran</p>
<script>document.getElementById("out").textContent = "script ran: " + document.domain;</script>
</body></html>"""
SCREENSHOT = ROOT / "docs" / "images" / "dashboard.png"


@pytest.fixture(scope="module")
def stack():
    """Two Swedish zones and two copies of every object, which no replicator makes: each write
    leaves a replication job pending; and a Finnish provider that does not answer."""
    s = Stack("dashboard", storage_extra="health_interval = 2")
    s.extra = (filesystem_zone("se-2", "se", "se-got", s.tmp / "zones" / "se-2")
               # Nothing listens there: a zone that is down.
               + provider_zone("fi-1", "fi", "fi-hel", free_port(), connect_timeout=1, response_timeout=1)
               + "\n[replication]\nreplica_count = 2\nworkers = 0\n"
               + "\n[metrics]\nhistory_interval = 1\n")
    s.start()
    yield s
    s.stop()
    s.cleanup()


def history(stack) -> list[dict]:
    r = admin(stack, "GET", "metrics/history?minutes=60")
    assert r.status_code == 200, r.text
    return r.json()["samples"]


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def s3_requests(stack) -> Counter:
    """s3gw_requests_total by (operation, status) as GET /admin/metrics answers it now."""
    r = admin(stack, "GET", "metrics")
    assert r.status_code == 200, r.text
    return requests_by_op_status(r.text)


@pytest.fixture(scope="module")
def workload(stack):
    """A bucket with OBJECTS objects, one named like markup and an HTML page, read back, and a few
    reads of keys that are not there. Nothing else but admin calls reaches the gateway meanwhile,
    and they all come after a sample of the history: the samples after `start` count exactly
    these requests."""
    s3 = boto3.client("s3", endpoint_url=stack.http_url, aws_access_key_id=stack.access_key,
                      aws_secret_access_key=stack.secret_key, region_name=REGION,
                      config=Config(s3={"addressing_style": "path"}))
    # The counts first, then a sample taken after them: the samples after `start` then hold
    # nothing from before `before` (an earlier test's request still unsampled when the fixture
    # began was counted in the history but not in the metrics' difference).
    before = s3_requests(stack)
    counted = time.time()
    start = wait_until(lambda: [s for s in history(stack) if epoch(s["time"]) > counted][-1:], 30,
                       "a sample taken after the counts were read")[-1]["time"]
    bucket = new_bucket_name("dash")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    for i in range(OBJECTS):
        s3.put_object(Bucket=bucket, Key=f"obj-{i}", Body=b"x" * (100 + i))
    s3.put_object(Bucket=bucket, Key=XSS_KEY, Body=b"markup")
    s3.put_object(Bucket=bucket, Key="page.html", Body=PAGE, ContentType="text/html")
    for i in range(MISSING_READS):
        assert s3.get_object(Bucket=bucket, Key=f"obj-{i}")["Body"].read() == b"x" * (100 + i)
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket=bucket, Key=f"missing-{i}")
    return {"bucket": bucket, "s3": s3, "start": start, "before": before, "ended": time.time()}


@pytest.fixture(scope="module")
def browser():
    options = chrome_options()
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


# -- helpers ----------------------------------------------------------------------------------
def open_page(driver, stack):
    driver.get(stack.http_url + "/ui/dashboard.html")
    wait_until(lambda: text(driver, "login-status"), 20, "the page's script to start")


def sign_in(driver, access_key: str, secret: str):
    fill(driver, "login-access-key", access_key)
    fill(driver, "login-secret-key", secret)
    driver.find_element(By.ID, "login-submit").click()


def web_storage(driver) -> str:
    """Everything the page keeps beyond its memory: web storage and cookies (the login must not be there)."""
    return driver.execute_script("""return JSON.stringify({local: {...localStorage}, session: {...sessionStorage},
                                                           cookie: document.cookie})""")


NOTHING_STORED = '{"local":{},"session":{},"cookie":""}'


def chart_points(driver, container: str) -> dict:
    """Each line of the chart in `container`: its series name and its points' values."""
    return driver.execute_script("""
        const out = {};
        for (const path of document.querySelectorAll(`#${arguments[0]} svg path.line`)) {
          const i = [...path.classList].find((c) => c.startsWith("series-"));
          const dots = path.parentNode.querySelectorAll(`g.points.${i} circle.point`);
          out[path.dataset.series] = {points: Number(path.dataset.points), d: path.getAttribute("d") || "",
                                      values: [...dots].map((c) => Number(c.dataset.value))};
        }
        return out;""", container)


# The panels are redrawn on every refresh: each reader takes its snapshot in one script, so no
# element it holds goes stale between two WebDriver calls.
def zone_rows(driver) -> dict:
    return driver.execute_script("""
        const out = {};
        for (const row of document.querySelectorAll("#zones-body tr")) out[row.dataset.zone] = row.dataset.state;
        return out;""")


def zone_cells(driver, zone: str) -> list[str]:
    """The cells of one zone's row as shown."""
    return driver.execute_script("""
        const row = document.querySelector(`#zones-body tr[data-zone="${arguments[0]}"]`);
        return row ? [...row.querySelectorAll("td")].map((td) => td.innerText.trim()) : [];""", zone)


def audit_rows(driver) -> list[dict]:
    """The audit panel's rows as shown."""
    names = ["seq", "time", "operation", "change", "who", "bucket", "key", "client"]
    rows = driver.execute_script("""
        return [...document.querySelectorAll("#audit-body tr")].map(
          (row) => [...row.querySelectorAll("td")].map((td) => td.innerText.trim()));""")
    return [dict(zip(names, cells)) for cells in rows]


def sum_of(shown: str) -> int:
    """A count as the page shows it ("1,234"; "—" when unknown)."""
    return int(shown.replace(",", "")) if shown.replace(",", "").isdigit() else -1


def save_screenshot(driver, path: Path) -> Path:
    """A full-page screenshot: the window grows to the page's height first."""
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height + 200, 800), 8000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1600)
    return path


# -- the page ---------------------------------------------------------------------------------
def test_the_dashboard_is_served_with_the_ui_headers_and_needs_no_inline_code(stack):
    r = requests.get(stack.http_url + "/ui/dashboard.html", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers.get("Content-Security-Policy") == CSP
    assert r.headers.get("Referrer-Policy") == "no-referrer"
    markup = _Markup()
    markup.feed(r.text)
    assert markup.problems == []
    # The two pages link to each other.
    assert 'href="./"' in r.text
    assert 'href="dashboard.html"' in requests.get(stack.http_url + "/ui/", timeout=10).text


PARSE_IN_PAGE = """
const done = arguments[arguments.length - 1];
Promise.all([import(arguments[0] + "prometheus.js"), import(arguments[0] + "rates.js")]).then(([p, r]) => {
  const samples = p.parse(arguments[1]);
  const hour = Date.parse("2026-01-01T01:00:00Z");
  const history = [
    // After an agent outage: its span reaches an hour before the window.
    {time: "2026-01-01T00:01:00Z", seconds: 7200, requests: 120, errors: 12},
    {time: "2026-01-01T00:02:00Z", seconds: 60, requests: 5, errors: 1},
    {time: "2026-01-01T00:03:00Z", seconds: 60, requests: 7, errors: null},
    // The agent was down for ten minutes: the line breaks before this one.
    {time: "2026-01-01T00:13:00Z", seconds: 600, requests: 60, errors: 0},
    {time: "2026-01-01T00:14:00Z", seconds: 60, requests: 1, errors: 0},
  ];
  done({
    // (JSON has no NaN or infinities: those values as text.)
    samples: samples.map((s) => ({...s, value: Number.isFinite(s.value) ? s.value : String(s.value)})),
    totals: r.requestTotals(samples),
    none: r.requestTotals(p.parse("# nothing\\n")),
    rate: r.rateBetween({at: 0, totals: {requests: 2, errors: 1}}, {at: 2000, totals: r.requestTotals(samples)}),
    reset: r.rateBetween({at: 0, totals: {requests: 99, errors: 1}}, {at: 2000, totals: r.requestTotals(samples)}),
    perSecond: [r.perSecond({requests: 30, seconds: 60}, "requests"), r.perSecond({seconds: 60}, "requests"),
                r.perSecond({requests: 3}, "requests")],
    // The last hour from 00:00:30: half a minute of the first sample's two hours.
    hourRequests: r.totalSince(history, "requests", hour - 3600 * 1000 + 30 * 1000),
    hourErrors: r.totalSince(history, "errors", hour - 3600 * 1000 + 30 * 1000),
    noErrors: r.totalSince([{time: "2026-01-01T00:01:00Z", seconds: 60}], "errors", 0),
    line: r.series(history, (s) => s.requests).map((p) => p.v),
  });
}).catch((e) => done({error: String(e && e.stack || e)}));
"""

PROMETHEUS_TEXT = r"""# HELP s3gw_requests_total Requests answered.
# TYPE s3gw_requests_total counter
s3gw_requests_total{operation="PutObject",status="200"} 5
s3gw_requests_total{operation="GetObject",status="404"} 2 1700000000000
s3gw_requests_total{operation="Odd \"op\" \\ x",status="503",} 1
s3gw_requests_total {operation="Spaced",status="200"} 4
s3gw_requests_total{operation="admin:GetMetrics",status="200"} 50
s3gw_requests_total{operation="admin:ListZones",status="403"} 7
s3gw_requests_in_flight 3
s3gw_request_duration_seconds_bucket{operation="PutObject",le="+Inf"} 5
s3gw_odd{a="}",b=",",c="=",d="{x=\"y\",z}"} 2
s3gw_escapes{newline="a\nb",backslash_n="a\\nb"} 1
s3gw_nan NaN
s3gw_up +Inf
s3gw_down -Inf
not a sample line
broken{operation="x" 1
"""


def test_the_dashboards_parsing_and_rates_in_the_browser(browser, stack):
    """prometheus.js and rates.js, the dashboard's arithmetic, in the page's own browser."""
    browser.get(stack.http_url + "/ui/dashboard.html")
    out = browser.execute_async_script(PARSE_IN_PAGE, stack.http_url + "/ui/", PROMETHEUS_TEXT)
    assert "error" not in out, out.get("error")
    assert out["samples"] == [
        {"name": "s3gw_requests_total", "labels": {"operation": "PutObject", "status": "200"}, "value": 5},
        {"name": "s3gw_requests_total", "labels": {"operation": "GetObject", "status": "404"}, "value": 2},
        {"name": "s3gw_requests_total", "labels": {"operation": 'Odd "op" \\ x', "status": "503"}, "value": 1},
        {"name": "s3gw_requests_total", "labels": {"operation": "Spaced", "status": "200"}, "value": 4},
        {"name": "s3gw_requests_total", "labels": {"operation": "admin:GetMetrics", "status": "200"}, "value": 50},
        {"name": "s3gw_requests_total", "labels": {"operation": "admin:ListZones", "status": "403"}, "value": 7},
        {"name": "s3gw_requests_in_flight", "labels": {}, "value": 3},
        {"name": "s3gw_request_duration_seconds_bucket", "labels": {"operation": "PutObject", "le": "+Inf"},
         "value": 5},
        {"name": "s3gw_odd", "labels": {"a": "}", "b": ",", "c": "=", "d": '{x="y",z}'}, "value": 2},
        {"name": "s3gw_escapes", "labels": {"newline": "a\nb", "backslash_n": "a\\nb"}, "value": 1},
        {"name": "s3gw_nan", "labels": {}, "value": "NaN"},
        {"name": "s3gw_up", "labels": {}, "value": "Infinity"},
        {"name": "s3gw_down", "labels": {}, "value": "-Infinity"},
    ]
    # The admin API's requests (the dashboard's own) are left out.
    assert out["totals"] == {"requests": 12, "errors": 3}
    assert out["none"] is None
    assert out["rate"] == {"requests": 5, "errors": 1, "seconds": 2}
    assert out["reset"] is None  # the counters went back: no rate rather than a negative one
    assert out["perSecond"] == [0.5, None, None]
    # 120 × 30 s / 7200 s of the first sample, then the rest as counted (a sample without a count
    # adds nothing).
    assert out["hourRequests"] == round(120 * 30 / 7200 + 5 + 7 + 60 + 1)
    assert out["hourErrors"] == 1
    assert out["noErrors"] is None
    # The usual span is a minute: a null point breaks the line before the ten minutes' sample.
    # (The first sample's two hours break it too.)
    assert out["line"] == [None, 120, 5, 7, None, 60, 1]


def test_the_history_counts_the_workloads_requests_and_errors_exactly(stack, workload):
    """The agent's samples after the workload's start count its requests and its errors (the
    reads of missing keys), and none of the admin API's calls made meanwhile."""
    def counted():
        samples = [s for s in history(stack) if s["time"] > workload["start"]]
        if not samples or epoch(samples[-1]["time"]) <= workload["ended"]:
            raise NotYet("no sample taken after the workload yet")
        if sum(s.get("errors", 0) for s in samples) < MISSING_READS:
            raise NotYet(f"errors so far: {[s.get('errors') for s in samples]}")
        return samples

    samples = wait_until(counted, 30, "the samples to count the workload")
    assert sum(s["errors"] for s in samples) == MISSING_READS, samples
    # Requests: what /admin/metrics counted meanwhile, its admin: operations left out.
    now = s3_requests(stack)
    sent = Counter({k: now[k] - workload["before"][k] for k in now if not k[0].startswith("admin:")})
    sent = +sent
    assert sent[("PutObject", "200")] == PUTS and sent[("GetObject", "404")] == MISSING_READS, sent
    assert sum(s["requests"] for s in samples) == sum(sent.values()) == WORKLOAD_REQUESTS, (sent, samples)


def test_an_html_object_runs_no_script_as_the_ui_origin(browser, stack, workload):
    """Path-style objects come from the dashboard's own origin, with the Content-Type they were
    stored with: nginx sends every S3 response with `Content-Security-Policy: sandbox` (and
    nosniff), so an uploaded page opened in a tab runs no script there."""
    url = workload["s3"].generate_presigned_url("get_object", Params={"Bucket": workload["bucket"], "Key": "page.html"},
                                                ExpiresIn=300)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == PAGE
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers.get("Content-Security-Policy") == "sandbox"
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    # And in the browser: the page is shown, its script does not run.
    browser.get(url)
    wait_until(lambda: browser.find_element(By.ID, "out").text, 20, "the object's page to load")
    assert browser.find_element(By.ID, "out").text == "no script ran"


def test_a_wrong_secret_is_refused_with_the_admin_apis_403(browser, stack):
    open_page(browser, stack)
    sign_in(browser, stack.access_key, "not-the-secret")
    wait_until(lambda: browser.find_element(By.ID, "login-error").is_displayed(), 20, "the login error")
    assert text(browser, "login-error").startswith("403 SignatureDoesNotMatch"), text(browser, "login-error")
    assert text(browser, "login-status") == "Not signed in."
    assert not browser.find_element(By.ID, "panels").is_displayed()
    assert browser.find_element(By.ID, "login-secret-key").get_attribute("value") == ""
    assert web_storage(browser) == NOTHING_STORED
    # An unknown key: the same place, its own code.
    sign_in(browser, "AKIDNOSUCHKEY", "whatever")
    wait_until(lambda: "InvalidAccessKeyId" in text(browser, "login-error"), 20, "the unknown key's error")
    assert text(browser, "login-error").startswith("403 ")


def test_the_dashboard_shows_the_running_gateway(browser, stack, workload, tmp_path):
    open_page(browser, stack)
    sign_in(browser, stack.access_key, stack.secret_key)
    wait_until(lambda: text(browser, "login-status").startswith(f"Signed in as {stack.access_key}"), 20,
               "the administrator's key to be accepted",
               detail=lambda: text(browser, "login-error") + str(browser.get_log("browser")))
    assert browser.find_element(By.ID, "login-secret-key").get_attribute("value") == ""
    # Kept in the page's memory only: nothing in web storage or cookies, where an S3 object
    # served from the same origin could read it.
    assert web_storage(browser) == NOTHING_STORED
    assert browser.get_cookies() == []

    # Zones: all three, with the health the agent found.
    wait_until(lambda: zone_rows(browser) == {"local-1": "healthy", "se-2": "healthy", "fi-1": "down"}, 30,
               "the zones listed with their health", detail=lambda: str(zone_rows(browser)) + stack.log_tail())
    cells = zone_cells(browser, "se-2")
    assert cells[:4] == ["se", "se-got", "filesystem", "healthy"] and cells[4].endswith(" ms"), cells
    cells = zone_cells(browser, "fi-1")
    assert cells[:5] == ["fi", "fi-hel", "s3", "down", "—"] and cells[-1], cells

    # The backlog: every object's copy waits, and the charts draw the agent's samples of it.
    def backlog_drawn():
        pending = chart_points(browser, "chart-backlog").get("pending", {})
        return pending.get("points", 0) >= 2 and PUTS in pending["values"] and pending["d"].startswith("M")

    wait_until(backlog_drawn, 60, f"the backlog chart to draw {PUTS} pending jobs",
               detail=lambda: str(chart_points(browser, "chart-backlog")) + text(browser, "history-error"))
    assert set(chart_points(browser, "chart-backlog")) == {"pending", "running", "dead"}
    assert text(browser, "repl-pending") == str(PUTS)
    assert text(browser, "repl-dead") == "0"
    # The lag grows while nothing replicates: the oldest pending job's age, sample after sample.
    wait_until(lambda: max(chart_points(browser, "chart-lag")["oldest pending"]["values"] or [0]) >= 8, 30,
               "the lag chart to show the oldest pending job's age",
               detail=lambda: str(chart_points(browser, "chart-lag")))
    lag = chart_points(browser, "chart-lag")["oldest pending"]
    assert lag["points"] >= 3 and lag["values"] == sorted(lag["values"]), lag
    # Beside it the p95 of verified replicas' lag: none was verified, so no point (not a 0).
    verified = chart_points(browser, "chart-lag")["verified p95"]
    assert verified["points"] == 0 and verified["values"] == [], verified
    # The page asked the same history the API answers.
    history = admin(stack, "GET", "metrics/history?minutes=60").json()["samples"]
    assert history and history[-1]["replication_pending"] == PUTS
    assert not any("replication_lag_p95_seconds" in s for s in history), history

    # Requests: the history's per-sample counts (the agent reads the summed counter files) draw
    # the rate charts; the workload's reads of missing keys are errors (404).
    def rate_drawn(container, at_least):
        line = next(iter(chart_points(browser, container).values()), {})
        return line.get("points", 0) >= 2 and max(line["values"]) > 0 and \
            sum_of(text(browser, "hour-requests" if container == "chart-requests" else "hour-errors")) >= at_least

    wait_until(lambda: rate_drawn("chart-requests", WORKLOAD_REQUESTS), 30, "the request rate chart",
               detail=lambda: str(chart_points(browser, "chart-requests")) + text(browser, "hour-requests"))
    wait_until(lambda: rate_drawn("chart-errors", MISSING_READS), 30, "the error rate chart",
               detail=lambda: str(chart_points(browser, "chart-errors")) + text(browser, "hour-errors"))
    history = admin(stack, "GET", "metrics/history?minutes=60").json()["samples"]
    assert sum(s.get("requests", 0) for s in history) >= WORKLOAD_REQUESTS
    # Now: two scrapes of /admin/metrics apart. The page's own admin calls are not counted: with
    # no S3 traffic the rate is zero, and nothing is in flight besides its own scrape.
    wait_until(lambda: text(browser, "now-requests") == "0.00/s" and text(browser, "now-in-flight") == "0", 30,
               "the rates now, without the page's own calls",
               detail=lambda: text(browser, "now-requests") + " " + text(browser, "now-in-flight")
               + text(browser, "metrics-note"))
    assert text(browser, "now-errors") == "0.00/s"

    def s3_traffic_shown():
        workload["s3"].head_bucket(Bucket=workload["bucket"])
        with pytest.raises(workload["s3"].exceptions.NoSuchKey):
            workload["s3"].get_object(Bucket=workload["bucket"], Key="missing-now")
        rates = text(browser, "now-requests"), text(browser, "now-errors")
        return all(r.endswith("/s") and float(r[:-2]) > 0 for r in rates) and rates

    wait_until(s3_traffic_shown, 30, "S3 requests and errors to show in the rates now",
               detail=lambda: text(browser, "now-requests") + " " + text(browser, "now-errors"))
    assert not browser.find_element(By.ID, "metrics-note").is_displayed()

    # The audit log: the newest events first, the workload's among them.
    def audited():
        rows = audit_rows(browser)
        ours = [r for r in rows if r["bucket"] == workload["bucket"]]
        ops = Counter(r["operation"] for r in ours)
        return ops["PutObject"] == PUTS and ops["CreateBucket"] == 1 and rows
    rows = wait_until(audited, 20, "the audit panel to list the workload's CreateBucket and puts",
                      detail=lambda: str(audit_rows(browser)) + text(browser, "audit-note") + text(browser, "audit-error"))
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs, reverse=True) and len(rows) <= 20, seqs
    puts = [r for r in rows if r["operation"] == "PutObject" and r["bucket"] == workload["bucket"]]
    assert {r["key"] for r in puts} == {f"obj-{i}" for i in range(OBJECTS)} | {XSS_KEY, "page.html"}
    assert all(r["change"] == "object.put" and stack.access_key in r["who"] for r in puts), puts
    # A key is shown as text, never parsed as markup.
    shown = browser.execute_script("""
        return {cells: [...document.querySelectorAll("#audit-body td")].filter((td) => td.textContent === arguments[0])
                         .map((td) => td.innerText), images: document.querySelectorAll("#audit-body img").length};""",
                                   XSS_KEY)
    assert shown == {"cells": [XSS_KEY], "images": 0}, shown
    assert browser.execute_script("return typeof window.__xss") == "undefined"
    # The secret is nowhere in the page nor in any URL it loaded.
    assert stack.secret_key not in browser.page_source
    urls = browser.execute_script("return performance.getEntries().map((e) => e.name)")
    assert urls and not [u for u in urls if stack.secret_key in u], urls
    assert not browser.find_element(By.ID, "audit-note").is_displayed()
    assert not [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".error") if e.is_displayed()]
    assert "Updated " in text(browser, "refreshed")

    shot = save_screenshot(browser, tmp_path / "dashboard.png")
    assert shot.stat().st_size > 10_000
    # The README's picture is refreshed only on request: a test run leaves the work tree alone.
    if os.environ.get("S3GW_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOT)

    # Sign out forgets the login; so does a reload of the tab.
    browser.find_element(By.ID, "logout").click()
    wait_until(lambda: text(browser, "login-status") == "Not signed in.", 10, "sign out")
    assert not browser.find_element(By.ID, "panels").is_displayed()
    sign_in(browser, stack.access_key, stack.secret_key)
    wait_until(lambda: text(browser, "login-status").startswith("Signed in as"), 20, "signing in again")
    browser.refresh()
    wait_until(lambda: text(browser, "login-status") == "Not signed in.", 20, "the reload to forget the login",
               detail=lambda: text(browser, "login-status"))
    assert not browser.find_element(By.ID, "panels").is_displayed()
    assert browser.find_element(By.ID, "login-secret-key").get_attribute("value") == ""
    assert web_storage(browser) == NOTHING_STORED


def network(driver, **conditions):
    """Chromium's network emulation (DevTools): latency in ms, or offline."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": conditions.get("offline", False), "latency": conditions.get("latency", 0),
        "downloadThroughput": -1, "uploadThroughput": -1})


def test_a_second_sign_in_or_an_unreachable_gateway_does_not_sign_out(browser, stack):
    open_page(browser, stack)
    try:
        # A slow gateway: the button is disabled while the key is checked, so a second submit
        # cannot cancel the first (whose answer, made stale, used to sign out both).
        network(browser, latency=1500)
        sign_in(browser, stack.access_key, stack.secret_key)
        assert not browser.find_element(By.ID, "login-submit").is_enabled()
        fill(browser, "login-secret-key", stack.secret_key)
        browser.find_element(By.ID, "login-submit").click()
        wait_until(lambda: text(browser, "login-status").startswith("Signed in as"), 30, "the first sign-in",
                   detail=lambda: text(browser, "login-status") + text(browser, "login-error"))
        assert browser.find_element(By.ID, "login-submit").is_enabled()
        network(browser)
        wait_until(lambda: zone_rows(browser), 30, "the zones")
        # The gateway out of reach: signing in again fails, but says nothing about the key, which
        # is kept; the panels come back with the gateway.
        network(browser, offline=True)
        sign_in(browser, stack.access_key, stack.secret_key)
        wait_until(lambda: "NetworkError" in text(browser, "login-error"), 30, "the network error",
                   detail=lambda: text(browser, "login-error"))
        assert text(browser, "login-status").startswith("Signed in as")
        network(browser)
        wait_until(lambda: zone_rows(browser), 30, "the zones once the gateway answers again")
        assert text(browser, "login-status").startswith("Signed in as")
    finally:
        network(browser)
