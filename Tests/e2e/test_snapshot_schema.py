"""The committed v1 snapshot fixtures (written by SnapshotWriter, read back by SnapshotTests)
against docs/snapshot.schema.json, and the schema against what it must refuse: a snapshot that
carries more than the format allows is invalid, not merely unusual. No gateway is booted."""

import copy
import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from conftest import ROOT

SCHEMA = json.loads((ROOT / "docs" / "snapshot.schema.json").read_text())
FIXTURES = sorted((ROOT / "Tests" / "Fixtures").glob("snapshot-v1*.json"))
validator = Draft202012Validator(SCHEMA, format_checker=FormatChecker())


def load(name):
    return json.loads((ROOT / "Tests" / "Fixtures" / name).read_text())


def errors(doc):
    return [e.message for e in validator.iter_errors(doc)]


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)


def test_all_three_levels_have_a_fixture():
    assert [f.name for f in FIXTURES] == [
        "snapshot-v1-hashed.json",
        "snapshot-v1-prefixes.json",
        "snapshot-v1.json",
    ]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_validates(path):
    doc = json.loads(path.read_text())
    assert errors(doc) == []
    assert doc["schema_version"] == 1


def mutated(name, change):
    doc = copy.deepcopy(load(name))
    change(doc)
    return doc


@pytest.mark.parametrize(
    "name,change",
    [
        ("snapshot-v1.json", lambda d: d.update(schema_version=2)),
        ("snapshot-v1.json", lambda d: d["snapshot"]["source"].update(endpoint="https://k:s@host/?X-Amz-Signature=1")),
        ("snapshot-v1.json", lambda d: d["snapshot"]["source"].update(endpoint_host="user:secret@host/path")),
        ("snapshot-v1.json", lambda d: d["snapshot"].update(access_key_id="AKIAEXAMPLE")),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["objects"][0].update(owner="canonical-id")),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["objects"][0].update(tags={"a": "b"})),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["objects"][0].update(metadata={"a": "b"})),
        ("snapshot-v1.json", lambda d: d["buckets"][0].pop("objects")),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["statuses"].update(policy="AccessDenied")),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["summary"]["size_histogram"].pop()),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["summary"]["size_histogram"][3].update(min_bytes=17)),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["summary"]["last_modified"][0].update(month="2024-13")),
        ("snapshot-v1.json", lambda d: d["buckets"][0]["objects"][0].update(last_modified="yesterday")),
        ("snapshot-v1-hashed.json", lambda d: d["buckets"][0]["objects"][0].update(key="logs/2024/a.log")),
        ("snapshot-v1-hashed.json", lambda d: d["buckets"][0]["summary"]["top_prefixes"][0].update(prefix="media/")),
        ("snapshot-v1-prefixes.json", lambda d: d["buckets"][0].update(objects=[])),
    ],
)
def test_schema_refuses(name, change):
    assert errors(mutated(name, change)) != []
