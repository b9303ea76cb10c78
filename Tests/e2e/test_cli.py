"""The administrator's side of the binary: `s3gw config check` on the shipped and broken configs,
and first start without credentials (generated root credentials that work)."""

import os
import stat
import subprocess

import pytest

from conftest import ROOT, Stack, parse_credentials_file, s3_client, s3gw_bin, write_config


def config_check(path):
    return subprocess.run([str(s3gw_bin()), "config", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_config_check_accepts_the_shipped_example():
    r = config_check(ROOT / "config" / "s3gw.toml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test is successful" in r.stdout + r.stderr


def test_config_check_accepts_the_test_config(tmp_path):
    write_config(tmp_path / "ok.toml", tmp_path)
    r = config_check(tmp_path / "ok.toml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test is successful" in r.stdout + r.stderr


@pytest.mark.parametrize(
    "old, new",
    [
        ("workers = 2", 'workers = "many"'),           # wrong type
        ("threads = 32", "threads = "),                 # no value
        ("[storage]", "[storage"),                      # broken table header
        ('kind = "filesystem"', 'kind = "floppy"'),     # unknown zone kind
        ('socket_mode = "0660"', 'socket_mode = "rw"'),  # not octal
    ],
    ids=["type", "missing-value", "table-header", "unknown-kind", "socket-mode"],
)
def test_config_check_points_at_the_bad_line(tmp_path, old, new):
    path = tmp_path / "bad.toml"
    write_config(path, tmp_path)
    lines = path.read_text().splitlines()
    line = next(i for i, l in enumerate(lines, 1) if l.strip() == old)
    lines[line - 1] = new
    path.write_text("\n".join(lines) + "\n")
    r = config_check(path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"{path}:{line}:" in out, out


def test_config_check_missing_file(tmp_path):
    r = config_check(tmp_path / "absent.toml")
    assert r.returncode != 0
    assert "absent.toml" in r.stdout + r.stderr


def test_first_start_generates_root_credentials():
    stack = Stack("creds", workers=1, env_credentials=False)
    try:
        stack.start()
        path = stack.state_dir / "root-credentials"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        values = parse_credentials_file(path)
        assert set(values) >= {"S3GW_ACCESS_KEY", "S3GW_SECRET_KEY"}
        # Shell-sourceable as documented.
        shell = subprocess.run(["bash", "-c", f'. "{path}" && printf "%s\\n%s" "$S3GW_ACCESS_KEY" "$S3GW_SECRET_KEY"'],
                               capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]})
        assert shell.stdout.split("\n") == [values["S3GW_ACCESS_KEY"], values["S3GW_SECRET_KEY"]]
        # Announced once at first start: the access key, and where the secret is. The secret itself
        # only on a terminal (test_credentials.py), never in this log file.
        log = stack.gateway_log.read_text()
        assert values["S3GW_ACCESS_KEY"] in log
        assert values["S3GW_SECRET_KEY"] not in log
        s3 = s3_client(stack)
        assert "Buckets" in s3.list_buckets()
        status = stack.stop()
        assert status["gateway"] == 0, stack.log_tail()

        # A restart keeps the same credentials and does not print the secret again.
        log_before = stack.gateway_log.read_text()
        stack.start()
        assert parse_credentials_file(path) == values
        assert values["S3GW_SECRET_KEY"] not in stack.gateway_log.read_text()[len(log_before):]
        assert "Buckets" in s3_client(stack).list_buckets()
    finally:
        stack.stop()
        stack.cleanup()


def test_providers_import_appends_valid_zones_and_names_bad_rows(tmp_path):
    cfg = tmp_path / "s3gw.toml"
    write_config(cfg, tmp_path)
    before = cfg.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("name,country,region,endpoint,access_key,secret_key\n"
                   "fi-hel-1,fi,fi-hel,https://fi.example,ak,sk\n"
                   "de-fra-1,de,de-fra,not-a-url,ak,sk\n")
    r = subprocess.run([str(s3gw_bin()), "providers", "import", str(bad), "--config", str(cfg)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "row 2: endpoint" in r.stderr, r.stderr
    assert cfg.read_text() == before, "a failed import must change nothing"
    good = tmp_path / "good.json"
    good.write_text('[{"name": "fi-hel-1", "country": "fi", "region": "fi-hel", "endpoint": "https://fi.example",'
                    ' "access_key": "ak", "secret_key": "s\\"k", "path_style": false}]')
    r = subprocess.run([str(s3gw_bin()), "providers", "import", str(good), "--config", str(cfg)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'name = "fi-hel-1"' in cfg.read_text() and "path_style = false" in cfg.read_text()
    assert config_check(cfg).returncode == 0
