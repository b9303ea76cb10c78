"""Running the admin command line from the end-to-end tests: `s3gw ARGS` on the gateway host
(-c CONFIG) or against the stack's admin API (--endpoint, admin credentials from the
environment), and reading its tables and --json."""

import json
import os
import re
import subprocess

from conftest import Stack, s3gw_bin


def cli(stack: Stack, *args, mode: str = "local", keys: tuple[str, str] | None = None, check: bool = True,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `s3gw ARGS`: locally with -c, or remotely with --endpoint and admin credentials from
    the environment (the root key unless `keys` names others)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3GW_"))}
    argv = [str(s3gw_bin()), *map(str, args)]
    if mode == "local":
        argv += ["-c", str(stack.config)]
    else:
        argv += ["--endpoint", stack.http_url if mode == "remote" else stack.https_url]
        if mode == "https":
            argv += ["--ca-bundle", stack.ca_file]
        ak, sk = keys or (stack.access_key, stack.secret_key)
        e.update(S3GW_ADMIN_ACCESS_KEY=ak, S3GW_ADMIN_SECRET_KEY=sk)
    e.update(env or {})
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=e)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}\n{r.stdout}\n{r.stderr}\n{stack.log_tail(20)}")
    return r


def as_json(r: subprocess.CompletedProcess):
    return json.loads(r.stdout)


def fields(table: str) -> dict:
    """A `show` table: label, two or more spaces, value."""
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in table.splitlines() if line.strip())


def rows(table: str) -> list[dict]:
    """A list table: a header of capitalized column names, then a row per item (columns two or
    more spaces apart; a cell may be empty only in the last column)."""
    lines = [line for line in table.splitlines() if line.strip()]
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()))) for line in lines[1:]]
