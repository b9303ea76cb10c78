"""A worker killed mid-upload: the client sees an error, no object appears, the supervisor
replaces the worker, and the next upload works. Runs on its own stack so a broken respawn cannot
take the rest of the suite down with it."""

import http.client
import os
import signal
import threading
import time

import pytest

import sigv4
from conftest import NotYet, Stack, new_bucket_name, pid_alive, s3_client, wait_until

TOTAL = 200 * 1024 * 1024
PIECE = 256 * 1024


@pytest.fixture(scope="module")
def crash_gw():
    stack = Stack("crash", workers=2).start()
    yield stack
    stack.stop()
    stack.cleanup()


def read_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def busiest_worker(stack, sample: float = 0.5) -> list[int]:
    """The worker(s) reading the upload: whose rchar grows fastest. All workers if none moves."""
    pids = stack.worker_pids()
    before = {p: read_bytes(p) for p in pids}
    time.sleep(sample)  # the interval the read rates are measured over, not a wait for an event
    delta = {p: read_bytes(p) - before[p] for p in pids}
    best = max(delta.values(), default=0)
    if best <= 0:
        return pids
    return [p for p in pids if delta[p] == best]


class SlowUpload(threading.Thread):
    """Streams TOTAL bytes with a valid UNSIGNED-PAYLOAD signature, a piece at a time."""

    def __init__(self, stack, bucket, key, total=TOTAL):
        super().__init__(daemon=True)
        self.stack, self.bucket, self.key, self.total = stack, bucket, key, total
        self.sent = 0
        self.stop_sending = threading.Event()
        self.outcome = None  # ("status", code, body) or ("error", exception)

    def run(self):
        path = sigv4.key_path(self.bucket, self.key)
        s = sigv4.sign("PUT", self.stack.http_url + path, self.stack.access_key, self.stack.secret_key,
                       {"Content-Length": str(self.total)}, payload_hash=sigv4.UNSIGNED)
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.http_port, timeout=60)
        try:
            conn.putrequest("PUT", path, skip_accept_encoding=True)
            for k, v in s.headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            piece = os.urandom(PIECE)
            while self.sent < self.total and not self.stop_sending.is_set():
                conn.send(piece)
                self.sent += PIECE
                time.sleep(0.01)  # paces the upload so it is still running when the test acts
            if self.sent < self.total:
                raise ConnectionAbortedError("test stopped sending before the end")
            resp = conn.getresponse()
            self.outcome = ("status", resp.status, resp.read())
        except Exception as e:  # the client-side error is the expected outcome
            try:
                resp = conn.getresponse()
                self.outcome = ("status", resp.status, resp.read())
            except Exception:
                self.outcome = ("error", e)
        finally:
            conn.close()


def wait_until_sent(upload: SlowUpload, n: int, gw, timeout: float = 60) -> None:
    """Waits until `upload` has sent `n` bytes; fails at once if it ended before that."""

    def sent_enough():
        if upload.sent >= n:
            return True
        assert upload.is_alive(), f"the upload ended after {upload.sent} bytes: {upload.outcome}\n{gw.log_tail()}"
        raise NotYet(f"{upload.sent} bytes sent")

    wait_until(sent_enough, timeout, f"the upload to send {n} bytes", detail=gw.log_tail)


def test_killed_worker_mid_upload(crash_gw):
    gw = crash_gw
    s3 = s3_client(gw)
    bucket = new_bucket_name("crash")
    s3.create_bucket(Bucket=bucket)
    workers_before = set(gw.worker_pids())
    assert workers_before, "no worker processes found under the supervisor\n" + gw.log_tail()

    upload = SlowUpload(gw, bucket, "big-upload")
    upload.start()
    wait_until_sent(upload, 20 * 1024 * 1024, gw)
    assert upload.is_alive(), f"upload ended before the crash: {upload.outcome}\n{gw.log_tail()}"

    victims = busiest_worker(gw)
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    upload.join(timeout=20)
    if upload.is_alive():
        upload.stop_sending.set()
        upload.join(timeout=20)
    assert not upload.is_alive()

    print(f"killed {victims} of {sorted(workers_before)} after {upload.sent} bytes; client saw {upload.outcome!r:.200}")
    kind, *detail = upload.outcome
    if kind == "status":
        assert detail[0] >= 500, f"upload to a killed worker answered {detail[0]}: {detail[1][:500]!r}"
    assert upload.sent < TOTAL or kind == "status", "the client never noticed the crash"

    # No object, neither by HEAD nor in the listing.
    r = s3.list_objects_v2(Bucket=bucket)
    assert r["KeyCount"] == 0, r.get("Contents")
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="big-upload")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    # The supervisor replaced the dead worker(s).
    wait_until(lambda: (lambda now: now - workers_before and len(now) >= len(workers_before))(set(gw.worker_pids())),
               30, f"the supervisor to replace the killed worker(s) {victims} (before: {sorted(workers_before)})",
               detail=lambda: f"workers now: {gw.worker_pids()}\n{gw.log_tail()}")
    now = set(gw.worker_pids())
    assert now - workers_before, f"no new worker: before {workers_before}, after {now}\n{gw.log_tail()}"
    assert not (set(victims) & now)
    assert gw.gateway.poll() is None, "the supervisor died with its worker"

    data = os.urandom(5 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="after-crash", Body=data)
    assert s3.get_object(Bucket=bucket, Key="after-crash")["Body"].read() == data
    s3.delete_object(Bucket=bucket, Key="after-crash")
    s3.delete_bucket(Bucket=bucket)


def test_sighup_replaces_workers_without_dropping_requests(crash_gw):
    gw = crash_gw
    s3 = s3_client(gw)
    bucket = new_bucket_name("reload")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"steady")
    before = set(gw.worker_pids())
    failures, done, count = [], threading.Event(), [0]

    def hammer():
        client = s3_client(gw)
        while not done.is_set():
            try:
                assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"steady"
                count[0] += 1
            except Exception as e:  # any failed request during the reload is a dropped request
                failures.append(repr(e))

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        # Requests are flowing before the reload, and keep flowing (served by the new workers) after.
        wait_until(lambda: count[0] >= 8 or failures, 30, "the first requests to succeed", detail=gw.log_tail)
        os.kill(gw.gateway_pid, signal.SIGHUP)
        wait_until(lambda: (lambda now: now and not (now & before))(set(gw.worker_pids())), 30,
                   f"new workers to replace {sorted(before)} after SIGHUP",
                   detail=lambda: f"workers now: {gw.worker_pids()}\n{gw.log_tail()}")
        served = count[0]
        wait_until(lambda: count[0] >= served + 8 or failures, 30, "requests to succeed after the reload",
                   detail=gw.log_tail)
    finally:
        done.set()  # the hammering threads stop even when a wait failed
        for t in threads:
            t.join(timeout=30)
    after = set(gw.worker_pids())
    assert after and not (after & before), f"workers not replaced: before {before}, after {after}\n{gw.log_tail()}"
    assert not failures, f"{len(failures)} of {count[0] + len(failures)} requests failed during reload: {failures[:3]}"
    assert count[0] > 0
    assert gw.gateway.poll() is None
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_sigterm_drains_and_stops_everything(crash_gw):
    """Last in this module: SIGTERM lets an in-flight upload finish, then stops the supervisor and
    all of its children."""
    gw = crash_gw
    s3 = s3_client(gw)
    bucket = new_bucket_name("drain")
    s3.create_bucket(Bucket=bucket)
    kids = gw.all_children()
    assert kids
    upload = SlowUpload(gw, bucket, "in-flight", total=32 * 1024 * 1024)
    upload.start()
    wait_until_sent(upload, 4 * 1024 * 1024, gw)
    gw.gateway.send_signal(signal.SIGTERM)
    upload.join(timeout=60)
    assert upload.outcome and upload.outcome[0] == "status" and upload.outcome[1] == 200, (
        f"in-flight upload during SIGTERM: {upload.outcome}\n{gw.log_tail()}")
    rc = gw.gateway.wait(timeout=30)
    assert rc == 0, f"supervisor exited {rc}\n{gw.log_tail()}"
    def children_gone():
        alive = [p for p in kids if pid_alive(p)]
        if alive:
            raise NotYet(f"still alive: {alive}")
        return True

    wait_until(children_gone, 10, f"the supervisor's children {kids} to exit (children outlived the supervisor)",
               detail=gw.log_tail)
