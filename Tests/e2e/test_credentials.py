"""Generated root credentials: the secret is kept 0600 in the state directory and shown only on
the operator's terminal, never written to a log file."""

import os
import pty
import select
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import Stack, s3_client, s3gw_bin, stop_process, write_config


def test_generated_secret_stays_out_of_the_log_file():
    gw = Stack("creds", workers=1, env_credentials=False).start()
    try:
        creds = gw.state_dir / "root-credentials"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        log = gw.gateway_log.read_text(errors="replace")
        assert gw.access_key in log, "the operator should learn which access key was generated"
        assert gw.secret_key not in log, "the generated secret key was written to the log file"
        assert "read it from that file" in log
        s3_client(gw).list_buckets()  # the generated pair is the one the gateway accepts
    finally:
        gw.stop()
        gw.cleanup()


def test_generated_secret_is_shown_on_a_terminal():
    tmp = Path(tempfile.mkdtemp(prefix="s3gw-tty-"))
    config = tmp / "s3gw.toml"
    for d in ("state", "zones/local-1", "run"):
        (tmp / d).mkdir(parents=True)
    write_config(config, tmp, workers=1, threads=2)
    env = {k: v for k, v in os.environ.items() if k not in ("S3GW_ACCESS_KEY", "S3GW_SECRET_KEY")}
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(s3gw_bin()), "serve", "--config", str(config)], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"secret key:" not in seen.split(b"access key:")[-1] and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        secret = (tmp / "state" / "root-credentials").read_text().split("S3GW_SECRET_KEY=")[1].strip()
        assert f"secret key: {secret}".encode() in seen, seen.decode(errors="replace")
    finally:
        stop_process(proc)
        os.close(master)
        subprocess.run(["rm", "-rf", str(tmp)])
