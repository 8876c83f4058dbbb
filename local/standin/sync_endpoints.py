"""Synchronous endpoints: ``InvokeEndpoint`` on real-time and serverless endpoints (and on an
asynchronous one's model), with SageMaker's payload limits, serverless cold starts and throttling, and
its ``ModelError`` when the model answers an error."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.standin.core import MB, StandInCore
from local.standin.errors import ApiError, validation_error
from local.standin.model import ModelResponse

if TYPE_CHECKING:
    from local.standin.async_endpoints import Endpoint


@dataclass
class SyncEndpoint:
    """A real-time or serverless endpoint (InvokeEndpoint only). Serverless: 4 MB payloads, a cold
    start on the first call after ``idle_seconds`` without one, ThrottlingException above
    ``max_concurrency`` calls at once (SageMaker's MaxConcurrency)."""

    name: str
    kind: str  # "realtime" | "serverless"
    model_url: str
    max_concurrency: int = 0  # 0: no limit (a real-time endpoint's instances)
    cold_start_seconds: float = 0.0
    idle_seconds: float = 60.0
    in_flight: int = 0
    last_call: float | None = None

    @classmethod
    def from_spec(cls, name: str, spec: dict[str, Any], model_url: str) -> SyncEndpoint:
        """The endpoint an entry of the config's ``sync_endpoints`` describes; ``model_url`` unless it names one."""
        tuning = {key: number(spec[key]) for key, number in _TUNING.items() if key in spec}
        return cls(name, spec.get("kind", "realtime"), spec.get("model_url") or model_url, **tuning)

    @property
    def payload_limit(self) -> int:
        return 4 * MB if self.kind == "serverless" else 6 * MB


# The numbers an endpoint's spec may set, each read with its type; unset, the field's default applies.
_TUNING = {"max_concurrency": int, "cold_start_seconds": float, "idle_seconds": float}


class SyncEndpoints(StandInCore):
    """The stand-in's synchronous endpoints (a part of ``StandIn``)."""

    def __init__(self, config: dict[str, Any], **options: Any) -> None:
        super().__init__(config, **options)
        self.sync_endpoints = {
            name: SyncEndpoint.from_spec(name, spec, self.model_url)
            for name, spec in config.get("sync_endpoints", {}).items()
        }

    if TYPE_CHECKING:  # provided by AsyncEndpoints, which StandIn composes with this part

        def _endpoint(self, name: str) -> Endpoint: ...

    def invoke(self, name: str, body: bytes, headers: dict[str, str]) -> tuple[ModelResponse, dict[str, str]]:
        sync = self.sync_endpoints.get(name)
        endpoint = sync or self._endpoint(name)
        limit = sync.payload_limit if sync else 6 * MB
        if len(body) > limit:
            raise validation_error(f"Request payload size exceeds the {limit} bytes limit of InvokeEndpoint")
        cold = self._enter(sync) if sync else False
        started = time.monotonic()
        try:
            if cold:
                time.sleep(sync.cold_start_seconds)  # type: ignore[union-attr]  # provisioning a container
            response = self.model(endpoint.model_url, body, headers.get("content-type"), headers.get("accept"), 60)
        except OSError as exc:
            raise ApiError(424, "ModelError", f"Model did not respond: {exc}", {"OriginalStatusCode": 0}) from exc
        finally:
            if sync:
                with self.lock:
                    sync.in_flight -= 1
                    sync.last_call = time.monotonic()
        self._log(
            "InvokeEndpoint",
            endpoint=name,
            inferenceId=headers.get("x-amzn-sagemaker-inference-id"),
            status=response.status,
            kind=sync.kind if sync else "async",
            coldStart=cold,
            ms=int((time.monotonic() - started) * 1000),
        )
        if response.status >= 300:
            kind = "client" if response.status < 500 else "server"
            original = response.body.decode("utf-8", "replace")
            raise ApiError(
                424,
                "ModelError",
                f'Received {kind} error ({response.status}) from primary with message "{original}". See '
                f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}#logEventViewer:"
                f"group=/aws/sagemaker/Endpoints/{name} in account {self.account_id} for more information.",
                {
                    "OriginalStatusCode": response.status,
                    "OriginalMessage": original,
                    "LogStreamArn": (
                        f"arn:aws:logs:{self.region}:{self.account_id}:log-group:/aws/sagemaker/Endpoints/{name}"
                    ),
                },
            )
        return response, {"x-Amzn-Invoked-Production-Variant": "AllTraffic"}

    def _enter(self, sync: SyncEndpoint) -> bool:
        """Take a concurrency slot (ThrottlingException when none is left); True when cold."""
        with self.lock:
            if sync.max_concurrency and sync.in_flight >= sync.max_concurrency:
                self._log("InvokeEndpoint", endpoint=sync.name, status="ThrottlingException")
                raise ApiError(400, "ThrottlingException", f"Rate exceeded: MaxConcurrency {sync.max_concurrency}")
            sync.in_flight += 1
            idle = sync.last_call is None or time.monotonic() - sync.last_call > sync.idle_seconds
            return sync.kind == "serverless" and idle and sync.cold_start_seconds > 0
