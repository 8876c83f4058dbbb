"""The container side of the local_invoke tier: the runtime, the Lambda image, `sam build`, `sam local invoke`.

Facts this relies on (SAM CLI 1.170, checked in its source and by running it; docs/architecture.md §10):
- `sam local invoke` runs the function in a container on Docker's default bridge network, so a server
  on the host is reached at the bridge's gateway address;
- `--env-vars` sets only variables the template declares for the function (AWS_ENDPOINT_URL is
  declared empty for that reason); AWS credentials and region come from SAM's own environment;
- with `--invoke-image`, SAM builds a derived image on top of it (adds the RIE and, for functions with
  layers, the layers): `<image repo>:rapid-<arch>` without layers, `samcli/lambda-python:3.13-<arch>-<hash>`
  with layers. scripts/build-invoke-image removes derived images of an older base.
"""

from __future__ import annotations

import ipaddress
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# The SAM templates with functions: the root and its nested application Batch (SAM builds and invokes both).
SAM_TEMPLATES = (TEMPLATE, ROOT / "batch" / "template.yaml")
EVENTS_DIR = ROOT / "events"
ENV_VARS_FILE = EVENTS_DIR / "env-vars.json"
BUILD_IMAGE_SCRIPT = ROOT / "scripts" / "build-invoke-image"
VENV_BIN = Path(sys.executable).parent
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

REQUIRED = os.environ.get("REQUIRE_LOCAL_INVOKE") == "1"
# "" (default): the official image if it is present or can be pulled, else one built by the script;
# "local": always the script's image; anything else: that image reference.
IMAGE_CHOICE = os.environ.get("LOCAL_INVOKE_IMAGE", "")
OFFICIAL_IMAGE = "public.ecr.aws/lambda/python:3.13-{arch}"
HOW_TO_ENABLE = (
    "install a Docker engine (Debian/Ubuntu: apt-get install docker.io), start it (dockerd), "
    "then run `make local-invoke`; REQUIRE_LOCAL_INVOKE=1 turns this skip into a failure"
)


def lambda_architecture() -> str:
    """This machine's architecture in Lambda's words: the tier invokes with it (template parameter)."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    raise RuntimeError(f"Lambda has no {machine} architecture")


def tool(name: str) -> str | None:
    """A command from this virtual environment first (sam), else from PATH."""
    local = VENV_BIN / name
    return str(local) if local.exists() else shutil.which(name)


def run(args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT, check=False)


def problem() -> str | None:
    """Why `sam local invoke` cannot run here, or None."""
    if tool("sam") is None:
        return "the sam command (aws-sam-cli) is missing: run `make venv`"
    docker = shutil.which("docker")
    if docker is None:
        return "no container runtime (the docker command is missing)"
    try:
        info = run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer (`docker info` timed out)"
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the Docker engine is not reachable (`docker info`: {reason})"
    try:
        lambda_architecture()
    except RuntimeError as exc:
        return str(exc)
    return None


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run(["docker", *args], timeout=timeout)


def bridge_gateway() -> str:
    """The host's address on Docker's default bridge: what a function container reaches the host by.

    Docker does not always report the default bridge's gateway (20.10 lists only its subnet); it is then
    the subnet's first address, the one Docker gives the bridge interface.
    """
    result = docker("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}")
    if result.returncode != 0:
        raise RuntimeError(f"cannot inspect Docker's bridge network: {result.stderr.strip()}")
    for config in json.loads(result.stdout or "null") or []:
        if config.get("Gateway") and ":" not in config["Gateway"]:
            return str(config["Gateway"])
        subnet = config.get("Subnet", "")
        if subnet and ":" not in subnet:
            return str(next(ipaddress.ip_network(subnet, strict=False).hosts()))
    raise RuntimeError(f"Docker's bridge network has no IPv4 gateway or subnet: {result.stdout.strip()}")


@dataclass(frozen=True)
class Image:
    """The Lambda image invocations use: `reference` None means SAM's default (the official image)."""

    reference: str | None
    description: str

    def invoke_args(self) -> list[str]:
        return ["--invoke-image", self.reference] if self.reference else []


def lambda_image(arch: str) -> Image:
    if IMAGE_CHOICE and IMAGE_CHOICE != "local":
        return Image(IMAGE_CHOICE, f"{IMAGE_CHOICE} (LOCAL_INVOKE_IMAGE)")
    official = OFFICIAL_IMAGE.format(arch=arch)
    if not IMAGE_CHOICE:
        if docker("image", "inspect", official).returncode == 0:
            return Image(None, f"{official} (present)")
        try:  # offline, this fails at once (no DNS) or hangs (a firewall drops it): then the built image
            if docker("pull", official, timeout=300).returncode == 0:
                return Image(None, f"{official} (pulled)")
        except subprocess.TimeoutExpired:
            pass
    result = run([str(BUILD_IMAGE_SCRIPT)], timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(
            f"{official} cannot be pulled and scripts/build-invoke-image failed:\n{result.stderr.strip()}"
        )
    reference = result.stdout.strip().splitlines()[-1]
    return Image(reference, f"{reference} (scripts/build-invoke-image)")


def functions() -> dict[str, dict[str, Any]]:
    """Every function of the SAM templates by logical id (unique across them: `sam local invoke` takes it)."""
    templates = [yaml_parse(path.read_text(encoding="utf-8")) for path in SAM_TEMPLATES]
    return {name: r for t in templates for name, r in t["Resources"].items() if r["Type"] in FUNCTION_TYPES}


def declared_variables() -> set[str]:
    """Every environment variable the templates declare for a function (Globals included)."""
    templates = [yaml_parse(path.read_text(encoding="utf-8")) for path in SAM_TEMPLATES]
    blocks = [t.get("Globals", {}).get("Function", {}) for t in templates]
    blocks += [r.get("Properties", {}) for r in functions().values()]
    return {name for block in blocks for name in block.get("Environment", {}).get("Variables", {})}


def sam_env(**extra: str) -> dict[str, str]:
    """The caller's environment without what would leak into the functions: SAM passes a shell value of any
    variable the template declares, and its own AWS credentials and region. Those are set here."""
    dropped = declared_variables() | {"PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("AWS_")}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        SAM_CLI_TELEMETRY="0",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.update(extra)
    return env


def parameter_overrides(arch: str) -> list[str]:
    # AsyncEndpointName has no default; the env-vars file sets the variable the code reads.
    return ["--parameter-overrides", f"Architecture={arch} AsyncEndpointName=demo-async-endpoint"]


def sam_build(build_dir: Path, cache_dir: Path, arch: str) -> Path:
    """One `sam build` for the machine's architecture; returns the built template."""
    result = run(
        [tool("sam") or "sam", "build", "--template-file", str(TEMPLATE), "--build-dir", str(build_dir),
         "--cache-dir", str(cache_dir), "--cached", *parameter_overrides(arch)],
        timeout=900, env=sam_env(),
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return build_dir / "template.yaml"


@dataclass
class Invocation:
    function: str
    event: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def response(self) -> Any:
        """The function's return value: SAM prints it as the last line on stdout."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if not lines:
            raise ValueError("no response on stdout")
        return json.loads(lines[-1])

    def transcript(self) -> str:
        return (
            f"$ sam local invoke {self.function} -e events/{self.event}  (exit {self.returncode}, "
            f"{self.seconds:.1f}s)\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-6000:]}"
        )


def sam_local_invoke(
    function: str, event: str, *, template: Path, env_vars: Path, image: Image, arch: str, env: dict[str, str]
) -> Invocation:
    args = [
        tool("sam") or "sam", "local", "invoke", function,
        "--template-file", str(template),
        "--event", str(EVENTS_DIR / event),
        "--env-vars", str(env_vars),
        *image.invoke_args(), "--skip-pull-image",
        *parameter_overrides(arch),
    ]  # fmt: skip
    start = time.monotonic()
    try:
        result = run(args, timeout=600, env=env)
        code, out, err = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = -1, _text(exc.stdout), f"{_text(exc.stderr)}\ntimed out after {exc.timeout}s"
    return Invocation(function, event, code, out, err, time.monotonic() - start)


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""
