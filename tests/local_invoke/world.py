"""The AWS side for `sam local invoke`: one moto server, and one moto account per invocation.

Each (function, event) pair runs in an account of its own (moto attributes a request to the account
whose IAM access key signed it), with the resource names of events/env-vars.json. So pairs that touch
the same tracker item (the three tracker samples share one inferenceId) run in parallel, each on a fresh
table, and every check sees exactly its own invocation's side effects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.sagemaker.models import sagemaker_backends

from tests.local_invoke.runtime import ENV_VARS_FILE
from tests.support import aws

REGION = "us-east-1"
SAMPLE_ACCOUNT = "123456789012"  # the account the sample events and env-vars.json name
_ARN_ACCOUNT = re.compile(rf"(arn:aws:[a-z0-9-]+:[a-z0-9-]*:){SAMPLE_ACCOUNT}(:)")


def env_vars_template() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(ENV_VARS_FILE.read_text(encoding="utf-8"))
    return data


def declared_value(name: str) -> str:
    """A variable's value in events/env-vars.json, whichever function section holds it."""
    for section in env_vars_template().values():
        if name in section:
            return section[name]
    raise KeyError(f"{name} is not set in {ENV_VARS_FILE.name}")


def _admin_client(endpoint: str, service: str, account_id: str) -> Any:
    client = boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="admin", aws_secret_access_key="admin"
    )

    def pick_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign.*.*", pick_account)
    return client


@dataclass
class Account:
    """A moto account with the stack's resources, as the env-vars file names them."""

    account_id: str
    endpoint: str
    session: boto3.Session
    table: str = ""
    success_topic_arn: str = ""
    error_topic_arn: str = ""
    success_watch_url: str = ""
    error_watch_url: str = ""
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, endpoint: str, account_id: str) -> Account:
        iam = _admin_client(endpoint, "iam", account_id)
        iam.create_user(UserName="local-invoke")
        key = iam.create_access_key(UserName="local-invoke")["AccessKey"]
        session = boto3.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
        )
        account = cls(account_id, endpoint, session)
        account._create_resources()
        return account

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(retries={"mode": "standard", "total_max_attempts": 3})
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint, config=config)
        return self._clients[service]

    def _create_resources(self) -> None:
        dynamodb, sns, sqs = self.client("dynamodb"), self.client("sns"), self.client("sqs")
        self.table = declared_value("TRACKER_TABLE")
        aws.create_tracker_table(dynamodb, self.table)
        topics = {}
        for variable in ("SUCCESS_TOPIC_ARN", "ERROR_TOPIC_ARN"):
            name = declared_value(variable).rsplit(":", 1)[-1]
            topics[variable] = sns.create_topic(Name=name)["TopicArn"]
        self.success_topic_arn, self.error_topic_arn = topics["SUCCESS_TOPIC_ARN"], topics["ERROR_TOPIC_ARN"]
        # A subscriber per topic (raw delivery, a user's: everything published), to read what was published.
        self.success_watch_url = aws.subscribe_queue(sns, sqs, "watch-success", {self.success_topic_arn: aws.RAW})
        self.error_watch_url = aws.subscribe_queue(sns, sqs, "watch-error", {self.error_topic_arn: aws.RAW})

    def env_vars(self) -> dict[str, dict[str, str]]:
        """events/env-vars.json for this account: ARNs in it, and the moto server as the endpoint."""
        text = _ARN_ACCOUNT.sub(rf"\g<1>{self.account_id}\g<2>", ENV_VARS_FILE.read_text(encoding="utf-8"))
        data: dict[str, dict[str, str]] = json.loads(text)
        for section in data.values():
            if "AWS_ENDPOINT_URL" in section:
                section["AWS_ENDPOINT_URL"] = self.endpoint
        data.setdefault("Parameters", {})["AWS_ENDPOINT_URL"] = self.endpoint
        return data

    def write_env_vars(self, path: Path) -> Path:
        path.write_text(json.dumps(self.env_vars(), indent=2), encoding="utf-8")
        return path

    def finished_transform_job(self, name: str, manifest_uri: str, status: str) -> None:
        """A transform job that ended in ``status``. moto completes every job at once and has no call to
        fail one, so the status is set on moto's in-process model (the server runs in this process)."""
        self.client("sagemaker").create_transform_job(
            TransformJobName=name,
            ModelName=declared_value("TRANSFORM_MODEL_NAME"),
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": manifest_uri}}},
            TransformOutput={"S3OutputPath": manifest_uri.rsplit("/", 2)[0] + "/output"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )
        sagemaker_backends[self.account_id][REGION].transform_jobs[name].transform_job_status = status

    def snapshot(self) -> SideEffects:
        return SideEffects(
            items=aws.all_items(self.client("dynamodb"), self.table),
            success=aws.bodies(aws.drain(self.client("sqs"), self.success_watch_url)),
            error=aws.bodies(aws.drain(self.client("sqs"), self.error_watch_url)),
            transform_jobs=self._transform_jobs(),
        )

    def _transform_jobs(self) -> dict[str, TransformJob]:
        sagemaker, s3 = self.client("sagemaker"), self.client("s3")
        jobs = {}
        for summary in sagemaker.list_transform_jobs(MaxResults=100)["TransformJobSummaries"]:
            job = sagemaker.describe_transform_job(TransformJobName=summary["TransformJobName"])
            source = job["TransformInput"]["DataSource"]["S3DataSource"]
            manifest_uri = source["S3Uri"] if source["S3DataType"] == "ManifestFile" else ""

            def read(uri: str) -> str | None:
                bucket, _, key = uri.removeprefix("s3://").partition("/")
                try:
                    return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"))
                except s3.exceptions.NoSuchKey:
                    return None

            manifest = read(manifest_uri) if manifest_uri else None
            roster = read(manifest_uri.removesuffix("manifest.json") + "requests.txt") if manifest_uri else None
            jobs[job["TransformJobName"]] = TransformJob(
                model_name=job["ModelName"],
                manifest_uri=manifest_uri,
                output_path=job["TransformOutput"]["S3OutputPath"],
                manifest=json.loads(manifest) if manifest else None,
                # One "<request id> <job sequence>" line per file (a bare id in rosters written before).
                roster=[line.split()[0] for line in roster.splitlines() if line.strip()]
                if roster is not None
                else None,
            )
        return jobs


@dataclass(frozen=True)
class TransformJob:
    model_name: str
    manifest_uri: str
    output_path: str
    manifest: Any  # the manifest's JSON, if it exists
    roster: list[str] | None  # request ids of requests.txt next to the manifest, if it exists


@dataclass(frozen=True)
class SideEffects:
    """What an invocation left in its account: tracker items, and messages published on each topic."""

    items: list[dict[str, Any]]
    success: list[dict[str, Any]]
    error: list[dict[str, Any]]
    transform_jobs: dict[str, TransformJob]

    def item(self, request_id: str) -> dict[str, Any]:
        found = [i for i in self.items if i["request_id"] == request_id]
        assert len(found) == 1, f"tracker items for {request_id}: {found}; all items: {self.items}"
        return found[0]


def create_bucket(endpoint: str, bucket: str, objects: dict[str, bytes]) -> None:
    """A bucket the samples name, with the objects every pair may read. S3 names are global: the bucket
    lives in the account its name carries, and moto lets the other accounts use it."""
    s3 = _admin_client(endpoint, "s3", SAMPLE_ACCOUNT)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
