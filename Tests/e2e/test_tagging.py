"""Object and bucket tagging through boto3 (which signs PutObjectTagging with a CRC32 checksum)."""

import pytest
from botocore.exceptions import ClientError

from conftest import new_bucket_name, s3_client


def test_object_and_bucket_tagging(gw, scheme):
    s3 = s3_client(gw, scheme)
    bucket = new_bucket_name("tags")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", Tagging="team=data%20eng&replica-count=1")
    assert s3.get_object(Bucket=bucket, Key="o")["TagCount"] == 2
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"]}
    assert tags == {"team": "data eng", "replica-count": "1"}
    s3.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": [{"Key": "a:b", "Value": "c/d"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"] == [{"Key": "a:b", "Value": "c/d"}]
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]})
    assert e.value.response["Error"]["Code"] == "BadRequest"
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "o"},
                   TaggingDirective="REPLACE", Tagging="x=1")
    assert s3.get_object_tagging(Bucket=bucket, Key="copy")["TagSet"] == [{"Key": "x", "Value": "1"}]
    s3.delete_object_tagging(Bucket=bucket, Key="o")
    assert s3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"] == []

    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "test"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    for k in ("o", "copy"):
        s3.delete_object(Bucket=bucket, Key=k)
    s3.delete_bucket(Bucket=bucket)
