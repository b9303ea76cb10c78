"""rclone (Debian's 1.60, provider Other, path-style) against the gateway over HTTP and HTTPS."""

import filecmp
import os

from conftest import new_bucket_name, rclone_env, run


def test_rclone_bucket_and_object_lifecycle(gw, scheme, tmp_path):
    env = rclone_env(gw, scheme, tmp_path)
    rc = ["rclone", "--retries", "1", "--low-level-retries", "1"]
    bucket = new_bucket_name("rclone")
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(2 * 1024 * 1024 + 5))

    run(rc + ["mkdir", f"gw:{bucket}"], env=env, stack=gw)
    assert bucket in run(rc + ["lsd", "gw:"], env=env, stack=gw).stdout
    run(rc + ["copyto", str(src), f"gw:{bucket}/dir/data.bin"], env=env, stack=gw)

    listing = run(rc + ["ls", f"gw:{bucket}"], env=env, stack=gw).stdout
    assert listing.split() == [str(src.stat().st_size), "dir/data.bin"], listing

    run(rc + ["copyto", f"gw:{bucket}/dir/data.bin", str(tmp_path / "back.bin")], env=env, stack=gw)
    assert filecmp.cmp(src, tmp_path / "back.bin", shallow=False)
    # rclone compares size and MD5 (the ETag) of both sides.
    run(rc + ["check", str(tmp_path), f"gw:{bucket}/dir", "--include", "data.bin"], env=env, stack=gw)

    run(rc + ["deletefile", f"gw:{bucket}/dir/data.bin"], env=env, stack=gw)
    assert run(rc + ["ls", f"gw:{bucket}"], env=env, stack=gw).stdout.strip() == ""
    run(rc + ["rmdir", f"gw:{bucket}"], env=env, stack=gw)
    assert bucket not in run(rc + ["lsd", "gw:"], env=env, stack=gw).stdout
