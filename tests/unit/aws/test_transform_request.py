"""The CreateTransformJob request, the payload pre-check, and the manifest layout (pure)."""

from __future__ import annotations

import json

import pytest
from orchestrator.aws import manifest
from orchestrator.aws.transform_jobs import job_request, manifest_of, payload_problem
from orchestrator.errors import BadEventError
from orchestrator.settings import TransformSettings

BUCKET = "input-bucket"


def request(settings: TransformSettings, content_type: str | None = "text/csv") -> dict:
    return job_request(
        settings,
        name="sio-nightly-2026-11-28",
        manifest_uri=f"s3://{BUCKET}/results/batch/sio-nightly-2026-11-28/run/manifest.json",
        output_path=f"s3://{BUCKET}/results/batch/sio-nightly-2026-11-28/output",
        content_type=content_type,
    )


def test_defaults_give_a_manifest_input_and_omit_what_is_not_set():
    made = request(TransformSettings("demo-model", split_type="None", assemble_with="None"))
    assert made == {
        "TransformJobName": "sio-nightly-2026-11-28",
        "ModelName": "demo-model",
        "MaxConcurrentTransforms": 1,
        "MaxPayloadInMB": 6,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "ManifestFile",
                    "S3Uri": f"s3://{BUCKET}/results/batch/sio-nightly-2026-11-28/run/manifest.json",
                }
            },
            "SplitType": "None",
            "ContentType": "text/csv",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/results/batch/sio-nightly-2026-11-28/output",
            "AssembleWith": "None",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    assert manifest_of(made) == made["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]


def test_options_fill_strategy_accept_and_data_processing():
    settings = TransformSettings(
        "demo-model",
        batch_strategy="SingleRecord",
        split_type="Line",
        accept="application/json",
        join_source="Input",
        input_filter="$[1:]",
    )
    made = request(settings, content_type=None)
    assert made["BatchStrategy"] == "SingleRecord"
    assert "ContentType" not in made["TransformInput"]
    assert made["TransformOutput"]["Accept"] == "application/json"
    assert made["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input"}


@pytest.mark.parametrize(
    ("split", "payload", "size", "refused"),
    [
        ("None", 6, 6 * 1024 * 1024, False),
        ("None", 6, 6 * 1024 * 1024 + 1, True),
        ("Line", 6, 5 * 1024**3, False),  # split into records: any size
        ("None", 0, 5 * 1024**3, False),  # 0: no payload limit (the container streams)
    ],
)
def test_unsplit_file_over_the_payload_limit_is_caught_before_any_job(split, payload, size, refused):
    problem = payload_problem(TransformSettings("m", split_type=split, max_payload_mb=payload), size)
    assert (problem is not None) is refused


def test_manifest_of_a_prefix_input_is_none():
    assert manifest_of({"TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix"}}}}) is None
    assert manifest_of({}) is None


def test_single_manifest_names_exactly_one_object_relative_to_the_bucket_root():
    body = json.loads(manifest.single_manifest(BUCKET, "incoming/batch/a b+c.csv"))
    assert body == [{"prefix": f"s3://{BUCKET}/"}, "incoming/batch/a b+c.csv"]


def test_layout_of_a_jobs_artifacts():
    output = manifest.output_path(BUCKET, "results/", "sio-abc")
    assert output == f"s3://{BUCKET}/results/batch/sio-abc/output"
    assert manifest.output_location(output, "incoming/x.csv") == f"{output}/incoming/x.csv.out"
    assert manifest.output_location(output + "/", "incoming/x.csv") == f"{output}/incoming/x.csv.out"
    assert (
        manifest.roster_uri(f"s3://{BUCKET}/r/batch/j/run/manifest.json") == f"s3://{BUCKET}/r/batch/j/run/requests.txt"
    )
    assert manifest.split_uri("s3://b/k/e/y") == ("b", "k/e/y")


@pytest.mark.parametrize("uri", ["s3://b/other.json", "https://b/manifest.json"])
def test_foreign_uris_are_refused(uri):
    with pytest.raises(BadEventError):
        manifest.split_uri(uri) if uri.startswith("https") else manifest.roster_uri(uri)


def test_spool_writes_a_valid_manifest_and_roster_whatever_the_keys():
    keys = ["incoming/nightly/a.csv", 'incoming/nightly/quote".csv', "incoming/nightly/é\u2028.csv"]
    with manifest.Spool(BUCKET) as spool:
        for n, key in enumerate(keys):
            spool.add(key, f"id{n}")
        spool._manifest.write(b"\n]\n")  # what upload() appends
        spool._manifest.seek(0)
        assert json.loads(spool._manifest.read()) == [{"prefix": f"s3://{BUCKET}/"}, *keys]
        assert list(spool.request_ids()) == ["id0", "id1", "id2"]
        assert spool.count == 3
