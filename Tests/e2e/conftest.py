"""End-to-end harness: boots the real s3gw binary behind real nginx on 127.0.0.1 and hands the
tests a `gw` object. Every process is started here and stopped here by PID.

Environment:
  S3GW_BIN            the binary under test (default: .build/debug/s3gw)
  S3GW_E2E_KEEP=1     keep the temp directory (logs, zone, state) after the session
  S3GW_E2E_TIMEOUT    seconds to wait for the stack to answer (default 60)
  S3GW_NGINX_TEMPLATE an nginx template to use instead of nginx/s3gw-dev.conf.in
  S3GW_E2E_METADATA=postgres  every Stack keeps its metadata in a fresh PostgreSQL database, on the
                      server S3GW_TEST_POSTGRES names or on a throw-away cluster for the session
"""

import atexit
import http.client
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(HERE))

TEST_ACCESS_KEY = "AKIDTESTTESTTEST"
REGION = "us-east-1"


def s3gw_bin() -> Path:
    return Path(os.environ.get("S3GW_BIN", ROOT / ".build" / "debug" / "s3gw")).resolve()


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def proc_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def children_of(ppid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == ppid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def stop_process(proc: subprocess.Popen | None, timeout: float = 15.0) -> int | None:
    """SIGTERM, wait, SIGKILL. Returns the exit status (None if it was not running)."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout=10)
    return proc.returncode


def tail(path: Path, lines: int = 60) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(data[-lines:])


# -- waiting ---------------------------------------------------------------------------------
class NotYet(Exception):
    """Raised by a wait_until predicate to say what it saw instead (shown if the wait times out)."""


class WaitTimeout(AssertionError):
    """A wait_until that ran out of time: a test failure naming what never happened."""


def wait_until(predicate, timeout: float, what: str, detail=None, interval: float = 0.1, ignore=()):
    """Polls `predicate` until it returns something truthy, and returns that. After `timeout`
    seconds fails naming what was awaited, the last value or exception seen, and `detail` (a string
    or a callable such as a stack's log_tail). NotYet and the exception types in `ignore` mean "not
    yet"; any other exception ends the wait at once (a predicate raises to say waiting is pointless,
    e.g. because the process it waits for has exited)."""
    deadline = time.monotonic() + timeout
    last = "nothing"
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = repr(value)
        except (NotYet, *ignore) as e:
            last = str(e) if isinstance(e, NotYet) else repr(e)
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)  # the polling interval
    message = f"timed out after {timeout:g}s waiting for {what} (last seen: {last})"
    if detail is not None:
        message += "\n" + (detail() if callable(detail) else str(detail))
    raise WaitTimeout(message)


# -- ports and servers ------------------------------------------------------------------------
class PortInUse(RuntimeError):
    """A server could not bind a port chosen for it: something took it between choice and bind."""


_ports_lock = threading.Lock()
_ports_handed_out: set[int] = set()


def _port_range() -> range:
    """Ports below the kernel's ephemeral range: no outgoing connection (a client, the gateway's
    connection to a provider) gets one of them as its source port, and no bind(0) in another
    program picks one. Falls back to the whole unprivileged range if the ephemeral range is odd."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    return range(10000, low) if low > 12000 else range(1024, 65536)


def free_port() -> int:
    """A port nothing is bound to now and that this session has never handed out before, so two
    servers started by one test session never get the same port. Another program can still bind it
    before our server does: servers are started through start_on_free_ports, which retries."""
    candidates = _port_range()
    with _ports_lock:
        for _ in range(1000):
            port = random.choice(candidates)
            if port in _ports_handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))  # no SO_REUSEADDR: a port in TIME_WAIT is skipped too
                except OSError:
                    continue
            _ports_handed_out.add(port)
            return port
    raise RuntimeError("no free port found in 1000 tries")


def listening_ports(pid: int) -> set[int]:
    """The TCP ports `pid` itself holds a listening socket on: its socket inodes matched against
    the LISTEN entries of its network namespace's /proc/net/tcp{,6}. (An answer on the port could
    come from whoever took it first.)"""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


ADDRESS_IN_USE = ("Address already in use", "address already in use", "EADDRINUSE")


def spawn_server(argv: list, log: Path, ports, what: str, timeout: float = 30, extra_logs=(), **popen):
    """Starts a server process with its output appended to `log` and waits (with a deadline) until
    the process itself listens on every port in `ports`. If it exits first it raises PortInUse when
    its logs say a port was taken, otherwise RuntimeError with the log; on a timeout the process is
    stopped and the wait fails with the log."""
    logs = [log, *extra_logs]

    def logs_tail() -> str:
        return "\n".join(f"--- {p} ---\n{tail(p, 30)}" for p in logs)

    with open(log, "ab") as out:
        proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, **popen)
    wanted = set(ports)

    def listening():
        if proc.poll() is not None:
            text = logs_tail()
            if any(marker in text for marker in ADDRESS_IN_USE):
                raise PortInUse(f"{what} could not bind one of {sorted(wanted)}\n{text}")
            raise RuntimeError(f"{what} exited with {proc.returncode}\n{text}")
        have = listening_ports(proc.pid)
        if not wanted <= have:
            raise NotYet(f"listening on {sorted(have)}")
        return True

    try:
        wait_until(listening, timeout, f"{what} (pid {proc.pid}) to listen on {sorted(wanted)}", detail=logs_tail)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def start_on_free_ports(start, count: int, what: str, ports=None, attempts: int = 4):
    """The one way tests start a server on TCP ports: `start(*ports)` with `count` free ports (the
    given `ports` on the first attempt, if any); when it raises PortInUse because another program
    took a port between choice and bind, again with fresh ports, up to `attempts` times. Returns
    what `start` returns."""
    for attempt in range(1, attempts + 1):
        chosen = list(ports) if ports and attempt == 1 else [free_port() for _ in range(count)]
        try:
            return start(*chosen)
        except PortInUse as e:
            if attempt == attempts:
                raise PortInUse(f"{what}: a port was taken on each of {attempts} attempts\n{e}") from e
            print(f"\n{what}: port(s) {chosen} taken, retrying with fresh ones", file=sys.stderr)


def start_nginx(prefix: Path, socket_path: Path | list, tls: Path, what: str = "nginx", ports=None,
                template: str | None = None, metrics_allow: str | None = None,
                zone_locations: Path | None = None) -> tuple[subprocess.Popen, int, int]:
    """Renders the dev nginx config (in front of the FastCGI socket `socket_path`, or one upstream
    over a list of them: several gateway hosts) and starts nginx
    on a free HTTP and HTTPS port (retried with fresh ports if one is taken). Returns the process
    and the two ports; its stdout/stderr go to PREFIX/nginx.out, its error log to PREFIX/error.log.
    `metrics_allow`: the addresses nginx lets read /metrics (default 127.0.0.1 and ::1).
    `zone_locations`: the zones' internal locations (`s3gw config nginx-locations`)."""

    def start(http_port: int, https_port: int):
        conf = run_script(
            SCRIPTS / "render-nginx.sh",
            "--prefix", prefix,
            "--http-port", http_port,
            "--https-port", https_port,
            *[a for s in (socket_path if isinstance(socket_path, list) else [socket_path]) for a in ("--socket", s)],
            "--cert", tls / "cert.pem",
            "--key", tls / "key.pem",
            "--web-root", ROOT / "web",
            *(["--template", template] if template else []),
            *(["--metrics-allow", metrics_allow] if metrics_allow else []),
            *(["--zone-locations", zone_locations] if zone_locations else []),
        )
        proc = spawn_server(["nginx", "-p", prefix, "-c", conf, "-e", prefix / "error.log", "-g", "daemon off;"],
                            prefix / "nginx.out", [http_port, https_port], what, extra_logs=[prefix / "error.log"])
        return proc, http_port, https_port

    return start_on_free_ports(start, 2, what, ports=ports)


class Moto:
    """A moto_server on 127.0.0.1 standing for an S3 provider. stop() and start() again keep its
    port (a gateway's zone names it); the contents do not survive a restart."""

    def __init__(self, name: str = "moto"):
        self.name = name
        self.tmp = Path(tempfile.mkdtemp(prefix=f"s3gw-{name}-"))
        self.log = self.tmp / "moto.log"
        self.proc = None
        self.port = start_on_free_ports(self._start, 1, name)

    def _start(self, port: int) -> int:
        self.proc = spawn_server(["moto_server", "-H", "127.0.0.1", "-p", port], self.log, [port], self.name)
        return port

    def start(self):
        self._start(self.port)

    def stop(self):
        stop_process(self.proc)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.port}", aws_access_key_id="moto",
                            aws_secret_access_key="moto-secret", region_name="us-east-1",
                            config=Config(retries={"max_attempts": 1}))

    def objects(self):
        m = self.client()
        return {b["Name"]: [o["Key"] for o in m.list_objects_v2(Bucket=b["Name"]).get("Contents", [])]
                for b in m.list_buckets()["Buckets"]}


def run_script(*args: str) -> str:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout.strip()


@pytest.fixture(scope="module")
def fi(request):
    """A moto_server standing for a Finnish provider, one per test module that asks for it."""
    m = Moto(f"moto-fi-{Path(request.module.__file__).stem}")
    yield m
    m.cleanup()


def filesystem_zone(name: str, country: str, region: str, path) -> str:
    """A `[[zones]]` table for a filesystem zone, to add to a Stack's `extra`."""
    return f"""
[[zones]]
name = "{name}"
country = "{country}"
region = "{region}"
kind = "filesystem"
path = "{path}"
"""


def provider_zone(name: str, country: str, region: str, port: int, **settings) -> str:
    """A `[[zones]]` table for a moto_server provider on `port`; `settings` add zone keys
    (e.g. response_timeout=2)."""
    extra = "".join(f"{k} = {v}\n" for k, v in settings.items())
    return f"""
[[zones]]
name = "{name}"
country = "{country}"
region = "{region}"
kind = "s3"
endpoint = "http://127.0.0.1:{port}"
access_key = "moto"
secret_key = "moto-secret"
{extra}"""


def write_config(path: Path, tmp: Path, workers: int = 2, threads: int = 32, log_level: str = "debug",
                 extra: str = "", storage_extra: str = "", default_zone: str = "local-1",
                 server_extra: str = "") -> None:
    path.write_text(
        f"""# written by Tests/e2e/conftest.py
[server]
socket = "{tmp}/run/s3gw.sock"
socket_mode = "0660"
workers = {workers}
threads = {threads}
state_dir = "{tmp}/state"
log_level = "{log_level}"
max_clock_skew = 900
base_domains = ["s3.e2e.test"]
{server_extra}

[storage]
default_zone = "{default_zone}"
{storage_extra}

[[zones]]
name = "local-1"
country = "se"
region = "se-sto"
kind = "filesystem"
path = "{tmp}/zones/local-1"
{extra}"""
    )


# -- PostgreSQL metadata (S3GW_E2E_METADATA=postgres) ----------------------------------------
_postgres: dict = {}


def metadata_on_postgres() -> bool:
    return os.environ.get("S3GW_E2E_METADATA") == "postgres"


def postgres_server() -> str:
    """The connection string of the session's PostgreSQL server: S3GW_TEST_POSTGRES (make test
    starts one for the run), else a cluster started here once (scripts/pg-cluster.sh) and stopped
    by PID when the session ends."""
    if "conninfo" not in _postgres:
        given = os.environ.get("S3GW_TEST_POSTGRES")
        if given:
            _postgres["conninfo"] = given
        else:
            d = tempfile.mkdtemp(prefix="s3gw-e2e-pg-")
            atexit.register(lambda: (run_script(SCRIPTS / "pg-cluster.sh", "stop", d),
                                     shutil.rmtree(d, ignore_errors=True)))
            _postgres["conninfo"] = run_script(SCRIPTS / "pg-cluster.sh", "start", d)
    return _postgres["conninfo"]


def postgres_tool(name: str) -> str:
    """psql, pg_dump…: from PATH, else beside the server's initdb."""
    return shutil.which(name) or str(Path(run_script(SCRIPTS / "pg-cluster.sh", "bindir")) / name)


def postgres_sql(conninfo: str, sql: str) -> str:
    """Runs `sql` with psql (tab-separated rows, no headers) and returns its output."""
    r = subprocess.run([postgres_tool("psql"), conninfo, "-v", "ON_ERROR_STOP=1", "-qAtX", "-F", "\t", "-c", sql],
                       text=True, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql failed ({r.returncode}): {r.stderr}")
    return r.stdout


def with_dbname(conninfo: str, name: str) -> str:
    """`conninfo` (key=value or a postgres:// URI) naming database `name` instead."""
    if conninfo.startswith(("postgres://", "postgresql://")):
        u = urllib.parse.urlsplit(conninfo)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))
    return f"{conninfo} dbname={name}"


def postgres_database() -> str:
    """A fresh, empty database on the session's server: its connection string."""
    server = postgres_server()
    name = "e2e_" + uuid.uuid4().hex[:16]
    postgres_sql(server, f"CREATE DATABASE {name}")
    return with_dbname(server, name)


def check_and_drop_postgres_database(url: str, state_dir: Path, started: bool) -> None:
    """After a stack on PostgreSQL: proves its metadata was there (migrated tables, no SQLite file
    in the state directory), then drops the database."""
    name = postgres_sql(url, "SELECT current_database()").strip()
    try:
        if started:
            sqlite = sorted(p.name for p in state_dir.glob("metadata.sqlite*")) if state_dir.exists() else []
            assert not sqlite, f"a stack on PostgreSQL wrote {sqlite} in {state_dir}"
            migrations = postgres_sql(url, "SELECT count(*) FROM schema_migrations").strip()
            assert int(migrations) > 0, "a stack on PostgreSQL left schema_migrations empty"
    finally:
        postgres_sql(postgres_server(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Stack:
    """One gateway + one nginx in a private temp directory."""

    def __init__(self, name: str = "gw", workers: int = 2, env_credentials: bool = True, threads: int = 32,
                 log_level: str = "debug", storage_extra: str = "", extra: str = "",
                 default_zone: str = "local-1", postgres: bool | None = None, serve_args: tuple[str, ...] = (),
                 server_extra: str = ""):
        """`postgres`: metadata in a fresh PostgreSQL database (None: as S3GW_E2E_METADATA says).
        `serve_args`: more options for `s3gw serve` (e.g. --role router). `server_extra`: more
        lines of `[server]` (e.g. accel_redirect = false)."""
        self.server_extra = server_extra
        self.serve_args = serve_args
        self.storage_extra = storage_extra
        self.default_zone = default_zone
        self.extra = extra
        self.tmp = Path(tempfile.mkdtemp(prefix=f"s3gw-{name}-"))
        self.workers_configured = workers
        self.threads, self.log_level = threads, log_level
        self.env_credentials = env_credentials
        self.access_key = TEST_ACCESS_KEY if env_credentials else None
        self.secret_key = secrets.token_urlsafe(30) if env_credentials else None
        # Chosen now so they are known before start(); start() moves to fresh ones if either is
        # taken by the time nginx binds.
        self.http_port, self.https_port = free_port(), free_port()
        self.state_dir = self.tmp / "state"
        self.zone_dir = self.tmp / "zones" / "local-1"
        self.config = self.tmp / "s3gw.toml"
        self.socket = self.tmp / "run" / "s3gw.sock"
        self.gateway_log = self.tmp / "s3gw.log"
        self.nginx_prefix = self.tmp / "nginx"
        self.ca_file = str(self.tmp / "tls" / "cert.pem")
        self.gateway: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self._seen_children: set[int] = set()
        # Chosen once: a restarted stack finds its metadata again.
        on_postgres = metadata_on_postgres() if postgres is None else postgres
        self.postgres_url = postgres_database() if on_postgres else None

    @property
    def metadata_table(self) -> str:
        """`[metadata]` for the config: PostgreSQL when S3GW_E2E_METADATA=postgres, else nothing."""
        if not self.postgres_url:
            return ""
        return f'\n[metadata]\nkind = "postgres"\nurl = "{self.postgres_url}"\n'

    def metadata_sql(self, sql: str) -> str:
        """Runs `sql` on this stack's PostgreSQL database (tab-separated rows)."""
        return postgres_sql(self.postgres_url, sql)

    def metadata_dump(self) -> str:
        """Everything in this stack's PostgreSQL database, as pg_dump writes it."""
        return subprocess.run([postgres_tool("pg_dump"), "--data-only", self.postgres_url], check=True, text=True,
                              stdout=subprocess.PIPE, timeout=120).stdout

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float | None = None) -> "Stack":
        timeout = timeout or float(os.environ.get("S3GW_E2E_TIMEOUT", "60"))
        binary = s3gw_bin()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"gateway binary {binary} not found; run `swift build` or set S3GW_BIN")
        for d in (self.state_dir, self.zone_dir, self.socket.parent):
            d.mkdir(parents=True, exist_ok=True)
        write_config(self.config, self.tmp, workers=self.workers_configured, threads=self.threads,
                     log_level=self.log_level, storage_extra=self.storage_extra, extra=self.extra + self.metadata_table,
                     default_zone=self.default_zone, server_extra=self.server_extra)
        run_script(SCRIPTS / "dev-cert.sh", self.tmp / "tls")
        # nginx's locations over the zones, as an operator generates them (accelerated GETs).
        zone_locations = self.tmp / "nginx-locations.conf"
        zone_locations.write_text(subprocess.run(
            [str(binary), "config", "nginx-locations", "--config", str(self.config)], check=True, text=True,
            stdout=subprocess.PIPE, timeout=60).stdout)
        env = dict(os.environ)
        env.pop("S3GW_ACCESS_KEY", None)
        env.pop("S3GW_SECRET_KEY", None)
        if self.env_credentials:
            env["S3GW_ACCESS_KEY"] = self.access_key
            env["S3GW_SECRET_KEY"] = self.secret_key
        with open(self.gateway_log, "ab") as log:
            self.gateway = subprocess.Popen(
                [str(binary), "serve", "--config", str(self.config), "--pid-file", str(self.tmp / "s3gw.pid"),
                 *self.serve_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        try:
            self.nginx, self.http_port, self.https_port = start_nginx(
                self.nginx_prefix, self.socket, self.tmp / "tls", what=f"nginx of {self.tmp.name}",
                ports=(self.http_port, self.https_port), template=os.environ.get("S3GW_NGINX_TEMPLATE") or None,
                zone_locations=zone_locations)
            self.wait_ready(timeout)
            if not self.env_credentials:
                self.load_generated_credentials()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        """Waits until nginx answers / with anything but a bad-gateway status (the gateway serves)."""

        def answers():
            for name, proc in (("gateway", self.gateway), ("nginx", self.nginx)):
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}\n{self.log_tail()}")
            c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
            try:
                c.request("GET", "/")
                status = c.getresponse().status
            finally:
                c.close()
            if status in (502, 503, 504):
                raise NotYet(f"HTTP {status}")
            return True

        wait_until(answers, timeout, "the gateway to answer through nginx", detail=self.log_tail,
                   ignore=(OSError, http.client.HTTPException))
        self._seen_children.update(self.all_children())

    def load_generated_credentials(self, timeout: float = 10) -> None:
        path = self.state_dir / "root-credentials"
        wait_until(path.exists, timeout, f"the gateway to write {path}", detail=self.log_tail)
        values = parse_credentials_file(path)
        self.access_key = values["S3GW_ACCESS_KEY"]
        self.secret_key = values["S3GW_SECRET_KEY"]

    def stop(self) -> dict:
        """Stops nginx, then the gateway (which should drain and stop its workers), then kills any
        child the gateway left behind. Returns the exit statuses."""
        kids = set(self._seen_children)
        if self.gateway is not None and self.gateway.poll() is None:
            kids.update(self.all_children())
        status = {"nginx": stop_process(self.nginx, 10), "gateway": stop_process(self.gateway, 30)}
        binary = str(s3gw_bin())
        leftovers = []
        for pid in kids:
            if pid_alive(pid) and binary in " ".join(proc_cmdline(pid)):
                leftovers.append(pid)
                os.kill(pid, signal.SIGKILL)
        status["leftover_children"] = leftovers
        return status

    def cleanup(self) -> None:
        if self.postgres_url and os.environ.get("S3GW_E2E_KEEP") != "1":
            check_and_drop_postgres_database(self.postgres_url, self.state_dir, self.gateway is not None)
        if os.environ.get("S3GW_E2E_KEEP") == "1":
            print(f"\ns3gw e2e: kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- inspection --------------------------------------------------------------------------
    @property
    def gateway_pid(self) -> int:
        return self.gateway.pid

    def all_children(self) -> list[int]:
        return children_of(self.gateway.pid) if self.gateway else []

    def worker_pids(self) -> list[int]:
        """The supervisor's worker processes (children whose argv names the `worker` role; if no
        child says, every child but the agent)."""
        kids = self.all_children()
        self._seen_children.update(kids)
        argv = {pid: proc_cmdline(pid) for pid in kids}
        workers = [pid for pid in kids if "worker" in argv[pid][1:3]]
        if workers:
            return workers
        return [pid for pid in kids if "agent" not in argv[pid][1:3]]

    def log_tail(self, lines: int = 60) -> str:
        return (
            f"--- gateway log ({self.gateway_log}) ---\n{tail(self.gateway_log, lines)}\n"
            f"--- nginx error log ---\n{tail(self.nginx_prefix / 'error.log', lines // 2)}"
        )

    def url(self, scheme: str) -> str:
        return self.https_url if scheme == "https" else self.http_url

    def verify(self, scheme: str):
        return self.ca_file if scheme == "https" else None


def parse_credentials_file(path: Path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        k, _, v = line.partition("=")
        values[k.strip()] = v.strip().strip("'\"")
    return values


# -- fixtures ---------------------------------------------------------------------------------
def stack_on_zone(name: str, moto: "Moto | None", extra: str = "", **kw):
    """For fixtures (`yield from`): a started Stack whose default zone is `moto`'s provider zone
    ("remote-1", Finland) or, without moto, the filesystem zone; stopped and cleaned up (moto
    too) afterwards."""
    if moto:
        # moto works through whole objects in Python (a ranged GET of a 1 GiB object copies all of
        # it) and may take longer than a real provider's few seconds to answer; test_hung_zone.py
        # tests the bounds themselves.
        extra += provider_zone("remote-1", "fi", "fi-hel", moto.port, response_timeout=60)
    try:
        stack = Stack(name, extra=extra, default_zone="remote-1" if moto else "local-1", **kw).start()
    except BaseException:
        if moto:
            moto.cleanup()
        raise
    stack.moto = moto  # tests that read the provider's objects directly
    yield stack
    stack.stop()
    stack.cleanup()
    if moto:
        moto.cleanup()


def start_with_test_clock(s: "Stack", lifecycle_interval: int = 1) -> "Stack":
    """Starts `s` with the agent's test clock (docs/VERSIONING.md): both switches — the config's
    [testing] table and the environment — name `s.offset_file` (seconds ahead, "0" at first), and
    lifecycle runs every `lifecycle_interval` seconds. The environment is restored after start."""
    s.offset_file = s.tmp / "clock-offset"
    s.offset_file.write_text("0")
    s.extra += f'\n[lifecycle]\ninterval = {lifecycle_interval}\n\n[testing]\nclock_offset_file = "{s.offset_file}"\n'
    previous = os.environ.get("S3GW_TEST_CLOCK_OFFSET_FILE")
    os.environ["S3GW_TEST_CLOCK_OFFSET_FILE"] = str(s.offset_file)
    try:
        return s.start()
    finally:
        if previous is None:
            os.environ.pop("S3GW_TEST_CLOCK_OFFSET_FILE", None)
        else:
            os.environ["S3GW_TEST_CLOCK_OFFSET_FILE"] = previous


@pytest.fixture(scope="session")
def gw():
    """The gateway every client suite talks to. With S3GW_E2E_ZONE=remote its default zone is a
    moto_server provider instead of the filesystem, so the same suites run on a remote zone. nginx
    sends the files of its GETs of every size (`accel_min_size = 0`): the suites prove such
    answers are the ones the worker would stream."""
    yield from stack_on_zone("gw", Moto("moto-session") if os.environ.get("S3GW_E2E_ZONE") == "remote" else None,
                             server_extra="accel_min_size = 0")


@pytest.fixture(params=["http", "https"])
def scheme(request):
    return request.param


def new_bucket_name(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def s3_client(stack: Stack, scheme: str = "http", signature_version: str | None = "s3v4", **config):
    import boto3
    from botocore.config import Config

    cfg = {"s3": {"addressing_style": "path"}, "retries": {"max_attempts": 1, "mode": "standard"}}
    if signature_version:
        cfg["signature_version"] = signature_version
    cfg.update(config)
    return boto3.client(
        "s3",
        endpoint_url=stack.url(scheme),
        aws_access_key_id=stack.access_key,
        aws_secret_access_key=stack.secret_key,
        region_name=REGION,
        verify=stack.ca_file if scheme == "https" else None,
        config=Config(**cfg),
    )


def empty_and_delete_bucket(client, bucket: str) -> None:
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)
    except Exception:
        pass


@pytest.fixture
def bucket(gw):
    """A fresh bucket created with boto3 over HTTP; emptied and removed afterwards."""
    client = s3_client(gw, "http")
    name = new_bucket_name()
    client.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(client, name)


def run(cmd: list[str], env: dict | None = None, timeout: float = 300, check: bool = True,
        stack: Stack | None = None) -> subprocess.CompletedProcess:
    """Runs a client command; on failure the assertion shows its output and the gateway log."""
    r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        extra = f"\n{stack.log_tail(40)}" if stack else ""
        raise AssertionError(
            f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stdout ---\n{r.stdout}\n--- stderr ---\n{r.stderr}{extra}"
        )
    return r


def client_env(stack: Stack, scheme: str, tmp: Path) -> dict:
    """Environment for the aws CLI: credentials, a private config file, the right CA bundle."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cfg = tmp / "aws-config"
    cfg.touch()
    env.update(
        AWS_ACCESS_KEY_ID=stack.access_key,
        AWS_SECRET_ACCESS_KEY=stack.secret_key,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(cfg),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )
    if scheme == "https":
        env["AWS_CA_BUNDLE"] = stack.ca_file
    return env


def s3cmd_config(stack: Stack, scheme: str, tmp: Path) -> Path:
    port = stack.https_port if scheme == "https" else stack.http_port
    path = tmp / "s3cmd.cfg"
    path.write_text(
        "[default]\n"
        f"access_key = {stack.access_key}\n"
        f"secret_key = {stack.secret_key}\n"
        f"host_base = 127.0.0.1:{port}\n"
        f"host_bucket = 127.0.0.1:{port}\n"  # no %(bucket)s: path-style
        f"use_https = {'True' if scheme == 'https' else 'False'}\n"
        "check_ssl_certificate = True\n"
        f"ca_certs_file = {stack.ca_file if scheme == 'https' else ''}\n"
        "signature_v2 = False\n"
        f"bucket_location = {REGION}\n"
        "progress_meter = False\n"
    )
    return path


def rclone_env(stack: Stack, scheme: str, tmp: Path) -> dict:
    # The AWS SDK inside rclone reads AWS_* (AWS_CA_BUNDLE breaks its custom transport).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    (tmp / "rclone.conf").touch()
    env.update(
        RCLONE_CONFIG=str(tmp / "rclone.conf"),
        RCLONE_CONFIG_GW_TYPE="s3",
        RCLONE_CONFIG_GW_PROVIDER="Other",  # provider AWS would force virtual-host style
        RCLONE_CONFIG_GW_ACCESS_KEY_ID=stack.access_key,
        RCLONE_CONFIG_GW_SECRET_ACCESS_KEY=stack.secret_key,
        RCLONE_CONFIG_GW_ENDPOINT=stack.url(scheme),
        RCLONE_CONFIG_GW_REGION=REGION,
        RCLONE_CONFIG_GW_FORCE_PATH_STYLE="true",
    )
    if scheme == "https":
        env["RCLONE_CA_CERT"] = stack.ca_file
    return env


def assert_s3_error(resp, status: int, code: str | set[str] | None = None):
    """Asserts an S3 error response: status, XML body with Code/Message/RequestId, and the
    x-amz-request-id header. Returns the parsed code."""
    import xml.etree.ElementTree as ET

    detail = f"{resp.request.method} {resp.request.url} -> {resp.status_code}\n{resp.headers}\n{resp.text[:2000]}"
    assert resp.status_code == status, detail
    assert resp.headers.get("x-amz-request-id"), "no x-amz-request-id header\n" + detail
    if resp.request.method == "HEAD":
        return None
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError as e:
        raise AssertionError(f"error body is not XML ({e})\n{detail}")
    fields = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root}
    assert root.tag.rsplit("}", 1)[-1] == "Error", detail
    for f in ("Code", "Message", "RequestId"):
        assert fields.get(f), f"error XML lacks {f}\n{detail}"
    assert fields["RequestId"] == resp.headers["x-amz-request-id"], detail
    if code is not None:
        codes = {code} if isinstance(code, str) else code
        assert fields["Code"] in codes, detail
    return fields["Code"]


def expect_error(call, code, status):
    """Calls `call` (a boto3 request) and checks it fails with S3 error `code` and HTTP `status`;
    returns the error's message."""
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    assert err["Error"]["Code"] == code, err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status, err
    return err["Error"].get("Message", "")
