"""The aws CLI (v1, botocore) against the gateway over HTTP and HTTPS: what a user types."""

import filecmp
import os

from conftest import client_env, new_bucket_name, run


def test_aws_cli_bucket_and_object_lifecycle(gw, scheme, tmp_path):
    env = client_env(gw, scheme, tmp_path)
    # One PUT per file: the 20 MiB object goes up in a single request (test_multipart covers parts).
    run(["aws", "configure", "set", "default.s3.multipart_threshold", "64MB"], env=env)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    aws = ["aws", "--endpoint-url", gw.url(scheme), "s3"]
    bucket = new_bucket_name("awscli")

    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from the aws cli\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))

    run(aws + ["mb", f"s3://{bucket}"], env=env, stack=gw)
    assert bucket in run(aws + ["ls"], env=env, stack=gw).stdout

    run(aws + ["cp", str(small), f"s3://{bucket}/docs/small.txt"], env=env, stack=gw)
    run(aws + ["cp", str(big), f"s3://{bucket}/big.bin"], env=env, stack=gw)

    listing = run(aws + ["ls", "--recursive", f"s3://{bucket}"], env=env, stack=gw).stdout
    sizes = {line.split()[-1]: int(line.split()[-2]) for line in listing.splitlines() if line.strip()}
    assert sizes == {"docs/small.txt": small.stat().st_size, "big.bin": big.stat().st_size}, listing
    top = run(aws + ["ls", f"s3://{bucket}/"], env=env, stack=gw).stdout
    assert "PRE docs/" in top and "big.bin" in top, top

    run(aws + ["cp", f"s3://{bucket}/docs/small.txt", str(tmp_path / "small.back")], env=env, stack=gw)
    run(aws + ["cp", f"s3://{bucket}/big.bin", str(tmp_path / "big.back")], env=env, stack=gw)
    assert filecmp.cmp(small, tmp_path / "small.back", shallow=False)
    assert filecmp.cmp(big, tmp_path / "big.back", shallow=False)

    run(aws + ["rm", f"s3://{bucket}/docs/small.txt"], env=env, stack=gw)
    run(aws + ["rm", f"s3://{bucket}/big.bin"], env=env, stack=gw)
    assert run(aws + ["ls", f"s3://{bucket}"], env=env, stack=gw, check=False).stdout.strip() == ""
    run(aws + ["rb", f"s3://{bucket}"], env=env, stack=gw)
    assert bucket not in run(aws + ["ls"], env=env, stack=gw).stdout
