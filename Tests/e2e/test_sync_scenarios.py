"""A user's backup round trip with every client at hand, over HTTP and HTTPS: sync a directory
tree with awkward names and sizes up, list it, sync it back to a fresh directory and compare every
byte, change one file and re-sync (only that object changes), delete one file and sync with
delete (it disappears remotely), then remove the bucket.

Clients: aws CLI v1 (PyPI `aws`), aws CLI v2 (Debian `/usr/bin/aws`), boto3 upload_file /
download_file over a directory walk, s3cmd sync, rclone sync (provider Other), minio-py
fput_object / fget_object. The 12 MiB file crosses every client's multipart threshold (8 MiB for
the aws CLIs and boto3, 5 MiB parts for minio-py, and s3cmd and rclone are told 5 MiB)."""

import filecmp
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import urllib3
from botocore.exceptions import ClientError

from conftest import (REGION, client_env, empty_and_delete_bucket, new_bucket_name, rclone_env, run,
                      s3_client, s3cmd_config)

MIB = 1024 * 1024
AWS_V2 = "/usr/bin/aws"

# (relative path, size). Every name is a legal file name; S3 keys are the same strings.
TREE = [
    ("plain.txt", 40),
    ("with space.txt", 20),
    ("ünïcödé/日本語 ファイル.txt", 33),
    ("plus+sign+.txt", 11),
    ("percent%20literal%.txt", 12),
    ("tilde~home~.txt", 13),
    ("bang!star*quote'(paren).txt", 14),
    ("nested/deeper/deepest/leaf.txt", 15),
    ("nested/sibling with space/ü+%~.bin", 16),
    ("empty.bin", 0),
    ("one.bin", 1),
    ("mid/three-mib.bin", 3 * MIB + 5),
    ("big/twelve-mib.bin", 12 * MIB + 7),
]
MODIFIED = "ünïcödé/日本語 ファイル.txt"
DELETED = "bang!star*quote'(paren).txt"
MULTIPART = "big/twelve-mib.bin"


def make_tree(root: Path) -> None:
    for rel, size in TREE:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))


def local_files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def assert_same_tree(expected: Path, actual: Path) -> None:
    want, got = local_files(expected), local_files(actual)
    assert sorted(got) == sorted(want), f"missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}"
    for rel in want:
        assert filecmp.cmp(want[rel], got[rel], shallow=False), f"{rel!r} differs after the round trip"


def remote_snapshot(s3, bucket: str) -> dict[str, tuple]:
    """key -> (size, ETag, LastModified), as listed by ListObjectsV2 (boto3, encoding-type=url)."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = (o["Size"], o["ETag"], o["LastModified"])
    return out


def utf8_env(env: dict | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", PYTHONIOENCODING="utf-8")
    return env


# -- one adapter per client: mb, sync up (with or without delete), sync down, list, rb ------------
class AwsCli:
    def __init__(self, gw, scheme, tmp, exe):
        self.gw, self.exe = gw, exe
        self.env = utf8_env(client_env(gw, scheme, tmp))
        run([exe, "configure", "set", "default.s3.addressing_style", "path"], env=self.env)
        self.s3 = [exe, "--endpoint-url", gw.url(scheme), "s3"]

    def _run(self, *args):
        return run(self.s3 + list(args), env=self.env, stack=self.gw).stdout

    def mb(self, bucket):
        self._run("mb", f"s3://{bucket}")

    def sync_up(self, src, bucket, delete=False):
        out = self._run("sync", str(src), f"s3://{bucket}", *(["--delete"] if delete else []))
        # What the user reads: one line per object the CLI sent or removed.
        return [line for line in out.splitlines() if line.startswith(("upload:", "delete:"))]

    def sync_down(self, bucket, dest):
        self._run("sync", f"s3://{bucket}", str(dest))

    def ls(self, bucket):
        out = self._run("ls", "--recursive", f"s3://{bucket}")
        return [line.split(None, 3)[3] for line in out.splitlines() if line.strip()]

    def rb(self, bucket):
        self._run("rb", "--force", f"s3://{bucket}")


class S3cmd:
    def __init__(self, gw, scheme, tmp):
        self.gw = gw
        self.cmd = ["s3cmd", "-c", str(s3cmd_config(gw, scheme, tmp)), "--multipart-chunk-size-mb=5"]
        self.env = utf8_env()

    def _run(self, *args):
        return run(self.cmd + list(args), env=self.env, stack=self.gw).stdout

    def mb(self, bucket):
        self._run("mb", f"s3://{bucket}")

    def sync_up(self, src, bucket, delete=False):
        self._run("sync", *(["--delete-removed"] if delete else []), f"{src}/", f"s3://{bucket}/")

    def sync_down(self, bucket, dest):
        dest.mkdir()
        self._run("sync", f"s3://{bucket}/", f"{dest}/")

    def ls(self, bucket):
        prefix = f"s3://{bucket}/"
        names = []
        for line in self._run("ls", "-r", f"s3://{bucket}").splitlines():
            if line.strip():
                url = line.split(None, 3)[3]
                assert url.startswith(prefix), line
                names.append(url[len(prefix):])
        return names

    def rb(self, bucket):
        self._run("del", "--recursive", "--force", f"s3://{bucket}")
        self._run("rb", f"s3://{bucket}")


class Rclone:
    def __init__(self, gw, scheme, tmp):
        self.gw = gw
        self.env = utf8_env(rclone_env(gw, scheme, tmp))
        # rclone uploads in one PUT below 200 MiB unless told otherwise.
        self.env.update(RCLONE_CONFIG_GW_UPLOAD_CUTOFF="5M", RCLONE_CONFIG_GW_CHUNK_SIZE="5M")
        self.cmd = ["rclone", "--retries", "1", "--low-level-retries", "1"]

    def _run(self, *args):
        return run(self.cmd + list(args), env=self.env, stack=self.gw).stdout

    def mb(self, bucket):
        self._run("mkdir", f"gw:{bucket}")

    def sync_up(self, src, bucket, delete=False):
        # `rclone sync` always deletes what the source lacks; `copy` is the non-deleting form.
        self._run("sync" if delete else "copy", str(src), f"gw:{bucket}")

    def sync_down(self, bucket, dest):
        self._run("sync", f"gw:{bucket}", str(dest))

    def ls(self, bucket):
        return [n for n in self._run("lsf", "-R", "--files-only", f"gw:{bucket}").splitlines() if n]

    def rb(self, bucket):
        self._run("purge", f"gw:{bucket}")


def python_sync_up(src: Path, remote: dict, upload, delete_keys, delete: bool):
    """What a script over an SDK does: upload what is new or differs (size, or MD5 for single-part
    ETags), and with `delete` remove what is gone locally."""
    local = local_files(src)
    for rel, path in sorted(local.items()):
        have = remote.get(rel)
        if have is not None and have[0] == path.stat().st_size:
            etag = have[1].strip('"')
            if "-" in etag or etag == hashlib.md5(path.read_bytes()).hexdigest():
                continue
        upload(path, rel)
    if delete:
        gone = sorted(set(remote) - set(local))
        if gone:
            delete_keys(gone)


class Boto3:
    def __init__(self, gw, scheme, tmp):
        from boto3.s3.transfer import TransferConfig

        self.s3 = s3_client(gw, scheme)
        self.cfg = TransferConfig(max_concurrency=4)  # default 8 MiB threshold and part size

    def mb(self, bucket):
        self.s3.create_bucket(Bucket=bucket)

    def _remote(self, bucket):
        return {k: (v[0], v[1]) for k, v in remote_snapshot(self.s3, bucket).items()}

    def sync_up(self, src, bucket, delete=False):
        def delete_keys(keys):
            r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
            assert not r.get("Errors"), r["Errors"]

        python_sync_up(src, self._remote(bucket),
                       lambda path, key: self.s3.upload_file(str(path), bucket, key, Config=self.cfg),
                       delete_keys, delete)

    def sync_down(self, bucket, dest):
        for key in self._remote(bucket):
            (dest / key).parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(dest / key), Config=self.cfg)

    def ls(self, bucket):
        return list(self._remote(bucket))

    def rb(self, bucket):
        for key in self._remote(bucket):
            self.s3.delete_object(Bucket=bucket, Key=key)
        self.s3.delete_bucket(Bucket=bucket)


class MinioPy:
    def __init__(self, gw, scheme, tmp):
        from minio import Minio

        http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=gw.ca_file, retries=False)
        port = gw.https_port if scheme == "https" else gw.http_port
        self.mc = Minio(f"127.0.0.1:{port}", access_key=gw.access_key, secret_key=gw.secret_key,
                        secure=scheme == "https", region=REGION, http_client=http)

    def mb(self, bucket):
        self.mc.make_bucket(bucket)

    def _remote(self, bucket):
        return {o.object_name: (o.size, o.etag) for o in self.mc.list_objects(bucket, recursive=True)}

    def sync_up(self, src, bucket, delete=False):
        from minio.deleteobjects import DeleteObject

        def delete_keys(keys):
            errors = list(self.mc.remove_objects(bucket, [DeleteObject(k) for k in keys]))
            assert not errors, errors

        # fput_object's default part size is 5 MiB: the 12 MiB file goes up in three parts.
        python_sync_up(src, self._remote(bucket),
                       lambda path, key: self.mc.fput_object(bucket, key, str(path)), delete_keys, delete)

    def sync_down(self, bucket, dest):
        for key in self._remote(bucket):
            self.mc.fget_object(bucket, key, str(dest / key))

    def ls(self, bucket):
        return list(self._remote(bucket))

    def rb(self, bucket):
        for key in self._remote(bucket):
            self.mc.remove_object(bucket, key)
        self.mc.remove_bucket(bucket)


def aws_v2_missing() -> str | None:
    if not os.access(AWS_V2, os.X_OK):
        return f"{AWS_V2} (Debian package awscli, aws CLI v2) is not installed: run scripts/install-test-deps.sh"
    version = subprocess.run([AWS_V2, "--version"], capture_output=True, text=True).stdout
    if not version.startswith("aws-cli/2."):
        return f"{AWS_V2} is not aws CLI v2: {version.strip()!r}"
    return None


CLIENTS = {
    "awscli-v1": lambda gw, scheme, tmp: AwsCli(gw, scheme, tmp, shutil.which("aws") or "aws"),
    "awscli-v2": lambda gw, scheme, tmp: AwsCli(gw, scheme, tmp, AWS_V2),
    "boto3": Boto3,
    "s3cmd": S3cmd,
    "rclone": Rclone,
    "minio-py": MinioPy,
}


@pytest.mark.parametrize("client_name", list(CLIENTS))
def test_sync_round_trip(gw, scheme, tmp_path, client_name):
    if client_name == "awscli-v1":
        r = run(["aws", "--version"])
        version = r.stdout + r.stderr
        assert version.startswith("aws-cli/1."), f"`aws` on PATH should be the PyPI v1 CLI: {version!r}"
    if client_name == "awscli-v2" and (reason := aws_v2_missing()):
        pytest.skip(reason)
    client = CLIENTS[client_name](gw, scheme, tmp_path)
    s3 = s3_client(gw, scheme)
    bucket = new_bucket_name(f"sync-{client_name}")
    src = tmp_path / "src"
    make_tree(src)
    expected_names = sorted(rel for rel, _ in TREE)
    try:
        client.mb(bucket)

        # 1. Up: every name listed exactly, sizes right, the big file went up in parts.
        client.sync_up(src, bucket)
        assert sorted(client.ls(bucket)) == expected_names
        first = remote_snapshot(s3, bucket)
        assert sorted(first) == expected_names
        assert {k: v[0] for k, v in first.items()} == {rel: size for rel, size in TREE}
        assert "-" in first[MULTIPART][1].strip('"'), f"{MULTIPART} was not a multipart upload: {first[MULTIPART]}"
        for rel, size in TREE:
            if rel != MULTIPART and size < 5 * MIB:
                assert first[rel][1] == f'"{hashlib.md5((src / rel).read_bytes()).hexdigest()}"', rel

        # 2. Down into a fresh directory: the same files, byte for byte.
        back = tmp_path / "back"
        client.sync_down(bucket, back)
        assert_same_tree(src, back)

        # 3. Change one file and re-sync: only its object changes.
        time.sleep(1.1)  # crosses a second boundary: LastModified and mtimes compare at one-second resolution
        (src / MODIFIED).write_bytes(os.urandom(77))
        lines = client.sync_up(src, bucket)
        if lines is not None:
            assert len(lines) == 1 and lines[0].startswith("upload:"), lines
        second = remote_snapshot(s3, bucket)
        assert sorted(second) == expected_names
        changed = sorted(k for k in second if second[k] != first[k])
        assert changed == [MODIFIED], f"re-sync rewrote {changed}"
        assert second[MODIFIED][0] == 77
        assert second[MODIFIED][1] == f'"{hashlib.md5((src / MODIFIED).read_bytes()).hexdigest()}"'

        # 4. Delete one file locally and sync with delete: it disappears remotely, nothing else moves.
        (src / DELETED).unlink()
        lines = client.sync_up(src, bucket, delete=True)
        if lines is not None:
            assert len(lines) == 1 and lines[0].startswith("delete:"), lines
        third = remote_snapshot(s3, bucket)
        assert sorted(third) == sorted(set(expected_names) - {DELETED})
        assert all(third[k] == second[k] for k in third), "objects changed on a delete-only sync"
        assert sorted(client.ls(bucket)) == sorted(third)
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket=bucket, Key=DELETED)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

        # The final state comes back intact into another fresh directory.
        again = tmp_path / "again"
        client.sync_down(bucket, again)
        assert_same_tree(src, again)

        # 5. Clean up with the client itself: the bucket is gone.
        client.rb(bucket)
        with pytest.raises(ClientError) as e:
            s3.head_bucket(Bucket=bucket)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    finally:
        empty_and_delete_bucket(s3, bucket)
