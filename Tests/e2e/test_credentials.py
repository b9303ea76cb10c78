"""Generated root credentials: the secret is shown on the operator's terminal at first start (that
it stays out of log files is checked in test_cli.py)."""

import os
import pty
import select
import subprocess
import tempfile
from pathlib import Path

from conftest import s3gw_bin, stop_process, wait_until, write_config


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
    seen = bytearray()

    def secret_line_shown():
        assert proc.poll() is None, f"the gateway exited with {proc.returncode}: {seen.decode(errors='replace')}"
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            seen.extend(os.read(master, 4096))
        after = bytes(seen).split(b"access key:")[-1].partition(b"secret key:")[2]
        return b"\n" in after  # the whole secret line has arrived

    try:
        wait_until(secret_line_shown, 30, "the gateway to print the generated key pair on its terminal",
                   detail=lambda: seen.decode(errors="replace"), interval=0)
        secret = (tmp / "state" / "root-credentials").read_text().split("S3GW_SECRET_KEY=")[1].strip()
        assert f"secret key: {secret}".encode() in seen, seen.decode(errors="replace")
    finally:
        stop_process(proc)
        os.close(master)
        subprocess.run(["rm", "-rf", str(tmp)])
