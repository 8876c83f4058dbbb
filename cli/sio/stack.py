"""Where the stack is: one resolver for a deployed stack (CloudFormation outputs), the running local
stack (its ``stack.json``) or environment variables, with errors that say exactly what is missing.

Every command asks the resolved :class:`Stack` for the outputs it needs by their template names
(``stack.output("TrackerTableName")``); a missing one is an error naming the output, where it was
looked for, and the environment variable that would provide it.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sio.errors import StackError

# The template's Outputs sio uses (template.yaml). A scorer queue appears with the synchronous modes.
OUTPUTS = (
    "InputBucketName",
    "InputPrefix",
    "SuccessTopicArn",
    "ErrorTopicArn",
    "TrackerTableName",
    "RouterQueueUrl",
    "RouterDeadLetterQueueUrl",
    "TrackerQueueUrl",
    "TrackerDeadLetterQueueUrl",
    "ScorerQueueUrl",
    "ScorerDeadLetterQueueUrl",
    "NightlyFunctionName",
    "NightlyDeadLetterQueueUrl",
    "BatchResultFunctionName",
    "BatchResultDeadLetterQueueUrl",
    "SweeperFunctionName",
    "SweeperDeadLetterQueueUrl",
)
# Parameters sio reads when the stack has them (DescribeStacks returns them; the local stack too).
PARAMETER_DEFAULTS = {
    "InputPrefix": "incoming/",
    "NightlyPrefix": "incoming/nightly/",
    "BatchPrefix": "incoming/batch/",
    "OutputPrefix": "results/",
    "ReadObjectMetadata": "false",
    "RequestableModes": "async,nightly",
    "ContentTypes": "csv=text/csv,json=application/json,jsonl=application/jsonlines,txt=text/plain",
    "TransformModelName": "",
}
# A stack in one of these states has every output (CloudFormation's stable states).
COMPLETE = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
)
# Updating: the outputs of the previous version are still there and still right for sio's use.
UPDATING = frozenset({"UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"})
LOCAL_DEFAULT_NAME = "orchestrator-local"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def env_name(name: str) -> str:
    """The variable that provides an output or parameter: ``TrackerTableName`` → ``SIO_TRACKER_TABLE_NAME``."""
    return "SIO_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


@dataclass
class Stack:
    name: str
    source: str  # "cloudformation", "local" or "environment"
    region: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str] = field(default_factory=dict)
    endpoint_url: str | None = None  # the local stack's moto server
    profile: str | None = None
    state_dir: Path | None = None  # the local stack's state directory
    local_state: dict[str, Any] = field(default_factory=dict)  # its stack.json
    warnings: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ outputs and parameters

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if value:
            return value
        raise StackError(f"{self.describe()} has no output {name}{self._how_to_provide(name)}", {"output": name})

    def has(self, name: str) -> bool:
        return bool(self.outputs.get(name))

    def parameter(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name == "InputPrefix" and self.outputs.get("InputPrefix"):
            return self.outputs["InputPrefix"]
        return PARAMETER_DEFAULTS.get(name, "")

    @property
    def bucket(self) -> str:
        return self.output("InputBucketName")

    @property
    def input_prefix(self) -> str:
        return self.outputs.get("InputPrefix") or self.parameter("InputPrefix")

    @property
    def table(self) -> str:
        return self.output("TrackerTableName")

    def describe(self) -> str:
        where = {"cloudformation": "stack", "local": "local stack", "environment": "the SIO_* environment"}[self.source]
        return where if self.source == "environment" else f"{where} {self.name!r}"

    def _how_to_provide(self, name: str) -> str:
        if self.source == "environment":
            return f": set {env_name(name)}"
        if self.source == "local":
            return f" (in {self.state_dir}/stack.json): is the local stack from an older template?"
        return " (this command needs it: is the stack deployed from this version of template.yaml?)"

    # ------------------------------------------------------------ clients

    @cached_property
    def session(self) -> Any:
        import boto3

        if self.source == "local":
            return boto3.Session(
                aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
                aws_session_token=LOCAL_CREDENTIALS["aws_session_token"],
                region_name=self.region,
            )
        return boto3.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str, **config: Any) -> Any:
        from botocore.config import Config

        settings = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=30)
        if config:
            settings = settings.merge(Config(**config))
        return self.session.client(service, endpoint_url=self.endpoint_url, config=settings)


# ---------------------------------------------------------------- resolution


def resolve(
    *,
    stack_name: str | None = None,
    local: bool = False,
    state_dir: Path | None = None,
    region: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    cloudformation: Any = None,
) -> Stack:
    """The stack a command works on: ``--local`` (or ``--state-dir``), ``--stack NAME``, or the
    ``SIO_*`` variables, in that order; an error that says what to pass when none is given."""
    env = os.environ if environ is None else environ
    if local or state_dir is not None:
        return resolve_local(state_dir, env)
    if stack_name:
        return resolve_cloudformation(stack_name, region=region, profile=profile, env=env, client=cloudformation)
    provided = {name: env[env_name(name)] for name in OUTPUTS if env.get(env_name(name))}
    if provided:
        return resolve_environment(env, region=region, profile=profile)
    raise StackError(
        "no stack given: pass --stack NAME (a deployed stack), --local (the stack `make stack` runs), or set "
        f"SIO_STACK, SIO_LOCAL=1, or the outputs themselves ({env_name('InputBucketName')}, "
        f"{env_name('TrackerTableName')}, …)"
    )


def _region(region: str | None, env: Mapping[str, str]) -> str | None:
    return region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def resolve_cloudformation(
    name: str, *, region: str | None = None, profile: str | None = None, env: Mapping[str, str], client: Any = None
) -> Stack:
    """DescribeStacks: the stack's outputs and parameters, refused while it is not complete."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

    stack = Stack(name=name, source="cloudformation", region=_region(region, env) or "", outputs={}, profile=profile)
    try:
        if client is None:
            if not stack.region:
                stack.region = stack.session.region_name or ""
            if not stack.region:
                raise StackError("no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)")
            client = stack.client("cloudformation")
        response = client.describe_stacks(StackName=name)
    except NoCredentialsError:
        raise StackError(
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or use --local for the local stack",
            {"stack": name},
        ) from None
    except ProfileNotFound as exc:
        raise StackError(f"AWS profile not found: {exc}", {"stack": name}) from None
    except NoRegionError:
        raise StackError("no AWS region: pass --region or set AWS_REGION", {"stack": name}) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code == "ValidationError":  # what DescribeStacks answers for a stack that does not exist
            raise StackError(
                f"no stack named {name!r} in {stack.region or 'this region'} (CloudFormation: {message})",
                {"stack": name, "region": stack.region},
            ) from None
        refused = f"CloudFormation refused DescribeStacks for {name!r}: {code}: {message}"
        raise StackError(refused, {"code": code}) from None
    except BotoCoreError as exc:
        raise StackError(f"cannot reach CloudFormation in {stack.region}: {exc}", {"stack": name}) from None
    described = response["Stacks"][0]
    status = described.get("StackStatus", "")
    if status in UPDATING:
        stack.warnings.append(f"stack {name!r} is {status}: using the outputs it has now")
    elif status not in COMPLETE:
        raise StackError(
            f"stack {name!r} is {status}, not complete: wait for it to finish (or fix it) before using sio",
            {"stack": name, "status": status, "reason": described.get("StackStatusReason")},
        )
    stack.outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in described.get("Outputs", [])}
    stack.parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    return stack


def resolve_environment(env: Mapping[str, str], *, region: str | None = None, profile: str | None = None) -> Stack:
    """Outputs and parameters from ``SIO_<NAME>`` variables (``SIO_TRACKER_TABLE_NAME`` …); the
    endpoint from boto3's own ``AWS_ENDPOINT_URL`` when set."""
    outputs = {name: env[env_name(name)] for name in OUTPUTS if env.get(env_name(name))}
    parameters = {name: env[env_name(name)] for name in PARAMETER_DEFAULTS if env.get(env_name(name))}
    found = _region(region, env)
    stack = Stack(name="environment", source="environment", region=found or "", outputs=outputs, parameters=parameters)
    stack.profile = profile
    if not stack.region:
        stack.region = stack.session.region_name or ""
    if not stack.region:
        raise StackError("no AWS region: pass --region or set AWS_REGION")
    return stack


def local_state_path(state_dir: Path | None, env: Mapping[str, str], cwd: Path | None = None) -> Path:
    """The local stack's state directory: ``--state-dir``/``SIO_LOCAL_STATE``, else
    ``local/.state/<LOCAL_STACK_NAME or orchestrator-local>`` in this repository (searched upward)."""
    if state_dir is None and env.get("SIO_LOCAL_STATE"):
        state_dir = Path(env["SIO_LOCAL_STATE"])
    if state_dir is not None:
        return state_dir
    name = env.get("LOCAL_STACK_NAME") or LOCAL_DEFAULT_NAME
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "local" / "stack.py").exists() or (folder / "local" / ".state").is_dir():
            return folder / "local" / ".state" / name
    raise StackError(
        "cannot find the local stack: run sio from the repository (where `make stack` runs), or pass "
        "--state-dir local/.state/<stack> (or set SIO_LOCAL_STATE)"
    )


def resolve_local(state_dir: Path | None, env: Mapping[str, str], *, probe_timeout: float = 2.0) -> Stack:
    """The running local stack, from the ``stack.json`` its controller writes once the resources exist."""
    directory = local_state_path(state_dir, env)
    path = directory / "stack.json"
    if not path.exists():
        parent = directory.parent
        others = sorted(p.parent.name for p in parent.glob("*/stack.json")) if parent.is_dir() else []
        hint = f" (state found for: {', '.join(others)}; pick one with LOCAL_STACK_NAME or --state-dir)"
        raise StackError(
            f"the local stack is not running: no {path}. Start it with `make stack` (it keeps running until "
            f"Ctrl-C){hint if others else ''}",
            {"state_file": str(path)},
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        endpoint, region, outputs = raw["aws_endpoint"], raw["region"], raw["outputs"]
    except (OSError, ValueError, KeyError) as exc:
        raise StackError(f"cannot read the local stack's state {path}: {exc}", {"state_file": str(path)}) from None
    _probe(endpoint, raw.get("stack_name", directory.name), path, probe_timeout)
    return Stack(
        name=str(raw.get("stack_name", directory.name)),
        source="local",
        region=str(region),
        outputs={str(k): str(v) for k, v in outputs.items()},
        parameters={str(k): str(v) for k, v in raw.get("parameters", {}).items()},
        endpoint_url=str(endpoint),
        state_dir=directory,
        local_state=raw,
    )


def _probe(endpoint: str, name: str, path: Path, timeout: float) -> None:
    """The local stack's moto server answers, or the state file is left from a stack that stopped."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return  # something answers: moto
    except OSError:
        raise StackError(
            f"the local stack {name!r} is not running: nothing answers at {endpoint} ({path} is from an earlier "
            "run). Start it with `make stack`",
            {"endpoint": endpoint, "state_file": str(path)},
        ) from None
