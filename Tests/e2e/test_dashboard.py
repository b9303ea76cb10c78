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
import json
import shutil
from collections import Counter
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from admin_api import admin
from conftest import REGION, ROOT, Stack, filesystem_zone, free_port, new_bucket_name, provider_zone, wait_until
from test_web_ui import CSP, CHROMEDRIVER, CHROMIUM, _Markup, chrome_options

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
# CreateBucket, the puts, the reads and the reads of missing keys.
WORKLOAD_REQUESTS = 1 + OBJECTS + 2 * MISSING_READS
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


@pytest.fixture(scope="module")
def workload(stack):
    """A bucket with OBJECTS objects, read back, and a few reads of keys that are not there."""
    s3 = boto3.client("s3", endpoint_url=stack.http_url, aws_access_key_id=stack.access_key,
                      aws_secret_access_key=stack.secret_key, region_name=REGION,
                      config=Config(s3={"addressing_style": "path"}))
    bucket = new_bucket_name("dash")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    for i in range(OBJECTS):
        s3.put_object(Bucket=bucket, Key=f"obj-{i}", Body=b"x" * (100 + i))
    for i in range(MISSING_READS):
        assert s3.get_object(Bucket=bucket, Key=f"obj-{i}")["Body"].read() == b"x" * (100 + i)
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket=bucket, Key=f"missing-{i}")
    return {"bucket": bucket}


@pytest.fixture(scope="module")
def browser():
    options = chrome_options()
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


# -- helpers ----------------------------------------------------------------------------------
def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def fill(driver, element_id: str, value: str):
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def open_page(driver, stack):
    driver.get(stack.http_url + "/ui/dashboard.html")
    wait_until(lambda: text(driver, "login-status"), 20, "the page's script to start")


def sign_in(driver, access_key: str, secret: str):
    fill(driver, "login-access-key", access_key)
    fill(driver, "login-secret-key", secret)
    driver.find_element(By.ID, "login-submit").click()


def stored_login(driver):
    return driver.execute_script("return sessionStorage.getItem('s3gw-dashboard-login')")


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


def zone_rows(driver) -> dict:
    return {row.get_attribute("data-zone"): row.get_attribute("data-state")
            for row in driver.find_elements(By.CSS_SELECTOR, "#zones-body tr")}


def audit_rows(driver) -> list[dict]:
    """The audit panel's rows as shown."""
    names = ["seq", "time", "operation", "change", "who", "bucket", "key", "client"]
    return [dict(zip(names, (c.text for c in row.find_elements(By.CSS_SELECTOR, "td"))))
            for row in driver.find_elements(By.CSS_SELECTOR, "#audit-body tr")]


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
  done({
    samples,
    totals: r.requestTotals(samples),
    none: r.requestTotals(p.parse("# nothing\\n")),
    rate: r.rateBetween({at: 0, totals: {requests: 2, errors: 1}}, {at: 2000, totals: r.requestTotals(samples)}),
    reset: r.rateBetween({at: 0, totals: {requests: 99, errors: 1}}, {at: 2000, totals: r.requestTotals(samples)}),
    perSecond: [r.perSecond({requests: 30, seconds: 60}, "requests"), r.perSecond({seconds: 60}, "requests"),
                r.perSecond({requests: 3}, "requests")],
  });
}).catch((e) => done({error: String(e && e.stack || e)}));
"""

PROMETHEUS_TEXT = r"""# HELP s3gw_requests_total Requests answered.
# TYPE s3gw_requests_total counter
s3gw_requests_total{operation="PutObject",status="200"} 5
s3gw_requests_total{operation="GetObject",status="404"} 2 1700000000000
s3gw_requests_total{operation="Odd \"op\" \\ x",status="503",} 1
s3gw_requests_in_flight 3
s3gw_request_duration_seconds_bucket{operation="PutObject",le="+Inf"} 5
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
        {"name": "s3gw_requests_in_flight", "labels": {}, "value": 3},
        {"name": "s3gw_request_duration_seconds_bucket", "labels": {"operation": "PutObject", "le": "+Inf"},
         "value": 5},
    ]
    assert out["totals"] == {"requests": 8, "errors": 3}
    assert out["none"] is None
    assert out["rate"] == {"requests": 3, "errors": 1, "seconds": 2}
    assert out["reset"] is None  # the counters went back: no rate rather than a negative one
    assert out["perSecond"] == [0.5, None, None]


def test_a_wrong_secret_is_refused_with_the_admin_apis_403(browser, stack):
    open_page(browser, stack)
    sign_in(browser, stack.access_key, "not-the-secret")
    wait_until(lambda: browser.find_element(By.ID, "login-error").is_displayed(), 20, "the login error")
    assert text(browser, "login-error").startswith("403 SignatureDoesNotMatch"), text(browser, "login-error")
    assert text(browser, "login-status") == "Not signed in."
    assert not browser.find_element(By.ID, "panels").is_displayed()
    assert browser.find_element(By.ID, "login-secret-key").get_attribute("value") == ""
    assert stored_login(browser) is None
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
    # Kept for this tab only: sessionStorage, nothing in cookies or localStorage.
    assert json.loads(stored_login(browser))["accessKeyId"] == stack.access_key
    assert browser.execute_script("return localStorage.length") == 0
    assert browser.get_cookies() == []

    # Zones: all three, with the health the agent found.
    wait_until(lambda: zone_rows(browser) == {"local-1": "healthy", "se-2": "healthy", "fi-1": "down"}, 30,
               "the zones listed with their health", detail=lambda: str(zone_rows(browser)) + stack.log_tail())
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, '#zones-body tr[data-zone="se-2"] td')]
    assert cells[:4] == ["se", "se-got", "filesystem", "healthy"] and cells[4].endswith(" ms"), cells
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, '#zones-body tr[data-zone="fi-1"] td')]
    assert cells[:5] == ["fi", "fi-hel", "s3", "down", "—"] and cells[-1], cells

    # The backlog: every object's copy waits, and the charts draw the agent's samples of it.
    def backlog_drawn():
        pending = chart_points(browser, "chart-backlog").get("pending", {})
        return pending.get("points", 0) >= 2 and OBJECTS in pending["values"] and pending["d"].startswith("M")

    wait_until(backlog_drawn, 60, f"the backlog chart to draw {OBJECTS} pending jobs",
               detail=lambda: str(chart_points(browser, "chart-backlog")) + text(browser, "history-error"))
    assert set(chart_points(browser, "chart-backlog")) == {"pending", "running", "dead"}
    assert text(browser, "repl-pending") == str(OBJECTS)
    assert text(browser, "repl-dead") == "0"
    # The lag grows while nothing replicates: the oldest pending job's age, sample after sample.
    wait_until(lambda: max(chart_points(browser, "chart-lag")["oldest pending"]["values"] or [0]) >= 8, 30,
               "the lag chart to show the oldest pending job's age",
               detail=lambda: str(chart_points(browser, "chart-lag")))
    lag = chart_points(browser, "chart-lag")["oldest pending"]
    assert lag["points"] >= 3 and lag["values"] == sorted(lag["values"]), lag
    # The page asked the same history the API answers.
    history = admin(stack, "GET", "metrics/history?minutes=60").json()["samples"]
    assert history and history[-1]["replication_pending"] == OBJECTS

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
    # Now: two scrapes of /admin/metrics apart (the page's own calls are requests too).
    wait_until(lambda: text(browser, "now-requests").endswith("/s") and text(browser, "now-in-flight") != "—", 20,
               "the rates now", detail=lambda: text(browser, "now-requests") + text(browser, "metrics-note"))
    assert float(text(browser, "now-requests")[:-2]) > 0
    assert not browser.find_element(By.ID, "metrics-note").is_displayed()

    # The audit log: the newest events first, the workload's among them.
    def audited():
        rows = audit_rows(browser)
        ours = [r for r in rows if r["bucket"] == workload["bucket"]]
        ops = Counter(r["operation"] for r in ours)
        return ops["PutObject"] == OBJECTS and ops["CreateBucket"] == 1 and rows
    rows = wait_until(audited, 20, "the audit panel to list the workload's CreateBucket and puts",
                      detail=lambda: str(audit_rows(browser)) + text(browser, "audit-note") + text(browser, "audit-error"))
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs, reverse=True) and len(rows) <= 20, seqs
    puts = [r for r in rows if r["operation"] == "PutObject" and r["bucket"] == workload["bucket"]]
    assert {r["key"] for r in puts} == {f"obj-{i}" for i in range(OBJECTS)}
    assert all(r["change"] == "object.put" and stack.access_key in r["who"] for r in puts), puts
    assert not browser.find_element(By.ID, "audit-note").is_displayed()
    assert not [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".error") if e.is_displayed()]
    assert "Updated " in text(browser, "refreshed")

    shot = save_screenshot(browser, tmp_path / "dashboard.png")
    assert shot.stat().st_size > 10_000
    # The README's picture is refreshed only on request: a test run leaves the work tree alone.
    if os.environ.get("S3GW_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOT)

    # A reload of the tab keeps the login; Sign out forgets it.
    browser.refresh()
    wait_until(lambda: text(browser, "login-status").startswith("Signed in as"), 20, "the login to survive a reload")
    browser.find_element(By.ID, "logout").click()
    wait_until(lambda: text(browser, "login-status") == "Not signed in.", 10, "sign out")
    assert stored_login(browser) is None
    assert not browser.find_element(By.ID, "panels").is_displayed()
