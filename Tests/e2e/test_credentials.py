"""Generated root credentials: the secret is shown on the operator's terminal at first start (that
it stays out of log files is checked in test_cli.py)."""

import os
import pty
import select
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import s3gw_bin, stop_process, write_config


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
