"""s3cmd (Debian's 2.3) against the gateway, path-style, over HTTP and HTTPS."""

import filecmp
import os

from conftest import new_bucket_name, run, s3cmd_config


def test_s3cmd_bucket_and_object_lifecycle(gw, scheme, tmp_path):
    cfg = s3cmd_config(gw, scheme, tmp_path)
    s3cmd = ["s3cmd", "-c", str(cfg)]
    bucket = new_bucket_name("s3cmd")
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))

    run(s3cmd + ["mb", f"s3://{bucket}"], stack=gw)
    assert f"s3://{bucket}" in run(s3cmd + ["ls"], stack=gw).stdout
    run(s3cmd + ["put", str(src), f"s3://{bucket}/dir/data.bin"], stack=gw)

    listing = run(s3cmd + ["ls", "-r", f"s3://{bucket}"], stack=gw).stdout
    assert f"s3://{bucket}/dir/data.bin" in listing, listing
    assert str(src.stat().st_size) in listing, listing

    run(s3cmd + ["get", f"s3://{bucket}/dir/data.bin", str(tmp_path / "back.bin")], stack=gw)
    assert filecmp.cmp(src, tmp_path / "back.bin", shallow=False)

    run(s3cmd + ["del", f"s3://{bucket}/dir/data.bin"], stack=gw)
    assert "data.bin" not in run(s3cmd + ["ls", "-r", f"s3://{bucket}"], stack=gw).stdout
    run(s3cmd + ["rb", f"s3://{bucket}"], stack=gw)
    assert f"s3://{bucket}" not in run(s3cmd + ["ls"], stack=gw).stdout
