"""``StandIn``: the one SageMaker stand-in. It composes the asynchronous endpoints, the synchronous
ones and the transform jobs over one shared state (core.py), dispatches the control plane's JSON 1.1
operations, and answers the control plane of the endpoints the stack creates: ``DescribeEndpoint`` and
``UpdateEndpointWeightsAndCapacities`` (what Application Auto Scaling calls)."""

from __future__ import annotations

import time
from typing import Any

from local.standin.async_endpoints import AsyncEndpoints
from local.standin.errors import ApiError, validation_exception
from local.standin.sync_endpoints import SyncEndpoints
from local.standin.transform_jobs import TransformJobs


class StandIn(AsyncEndpoints, SyncEndpoints, TransformJobs):
    """``options``: the in-process injections of ``StandInCore``. ``workers=False``: accepted async
    requests stay queued (the integration tests play SageMaker's results themselves, or call
    ``process_queued``); no reaper, no metrics; transform jobs wait for ``run_transform_job`` or
    ``end_transform_job``."""

    def __init__(self, config: dict[str, Any], *, workers: bool = True, **options: Any) -> None:
        super().__init__(config, **options)
        self.job_threads = workers
        if workers:
            self._start_workers()

    # ------------------------------------------------------------ control plane (JSON 1.1)

    def control(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handler = {
            "CreateTransformJob": self.create_transform_job,
            "DescribeTransformJob": self.describe_transform_job,
            "StopTransformJob": self.stop_transform_job,
            "ListTransformJobs": self.list_transform_jobs,
            "DescribeEndpoint": self.describe_endpoint,
            "UpdateEndpointWeightsAndCapacities": self.update_endpoint_weights_and_capacities,
        }.get(operation)
        if handler is None:
            raise ApiError(
                400, "UnknownOperationException", f"{operation} is not served by the local SageMaker stand-in"
            )
        return handler(request)

    def describe_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("EndpointName", "")
        endpoint = self.endpoints.get(name)
        if endpoint is None and name not in self.sync_endpoints:
            raise validation_exception(f'Could not find endpoint "{name}".')
        arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{name.lower()}"
        described: dict[str, Any] = {"EndpointName": name, "EndpointArn": arn, "EndpointStatus": "InService"}
        if endpoint is not None and endpoint.capacity is not None:
            with self.lock:
                described["ProductionVariants"] = [endpoint.capacity.describe(time.monotonic())]
        return described

    def update_endpoint_weights_and_capacities(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("EndpointName", "")
        endpoint = self.endpoints.get(name)
        if endpoint is None or endpoint.capacity is None:
            raise validation_exception(f'Could not find endpoint "{name}" with instances to scale.')
        for change in request.get("DesiredWeightsAndCapacities", []):
            if change.get("VariantName") != endpoint.capacity.variant:
                raise validation_exception(
                    f"The variant name(s) [{change.get('VariantName')}] is/are not present in endpoint {name}."
                )
            desired = change.get("DesiredInstanceCount")
            if desired is not None:
                if not isinstance(desired, int) or desired < 0:
                    raise validation_exception(f"DesiredInstanceCount must be an integer >= 0, not {desired!r}")
                with self.lock:
                    endpoint.capacity.set_desired(desired, time.monotonic(), cause="UpdateEndpointWeightsAndCapacities")
                    self.lock.notify_all()
                self._log("UpdateEndpointWeightsAndCapacities", endpoint=name, desired=desired)
        arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{name.lower()}"
        return {"EndpointArn": arn}

    def capacities(self) -> dict[str, Any]:
        """Each created endpoint's instances, timeline and billed instance-seconds (/_local/endpoints)."""
        now = time.monotonic()
        with self.lock:
            return {
                name: {
                    **endpoint.capacity.describe(now),
                    "instanceSeconds": endpoint.capacity.instance_seconds(now),
                    "events": [{**event, "ago": now - event["at"]} for event in endpoint.capacity.events],
                    "backlog": len(endpoint.queue) + endpoint.busy,
                }
                for name, endpoint in self.endpoints.items()
                if endpoint.capacity is not None
            }
