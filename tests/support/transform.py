"""Batch transform as the tests configure and read it: the functions' environment for a transform
model, and the job's manifest and roster as SageMaker reads them. SageMaker's side (the jobs, their
runs and state-change events) is the stand-in's: ``tests.support.sagemaker.transform_jobs``."""

from __future__ import annotations

import json
from typing import Any

# What the template gives the functions when a transform model is configured (README, design reference).
TRANSFORM_ENV = {
    "TRANSFORM_MODEL_NAME": "demo-model",
    "TRANSFORM_JOB_PREFIX": "sio",
    "TRANSFORM_SPLIT_TYPE": "Line",
    "TRANSFORM_ASSEMBLE_WITH": "Line",
    "OUTPUT_PREFIX": "results/",
}


def batch_env(bucket: str) -> dict[str, str]:
    return {**TRANSFORM_ENV, "INPUT_BUCKET": bucket}


def read_manifest(s3: Any, uri: str) -> list[Any]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return list(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def read_text(s3: Any, uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
