"""The router's batch mode: a transform job of its own for one file (docs/architecture.md §2, §3, §6).

Files over the async limit, under the batch prefix, or asking for it (``x-amz-meta-inference-mode:
batch``) get one job each. The job is named from the request id, so a redelivered notification
that reaches CreateTransformJob again meets ``ResourceInUse``: the job is described and confirmed,
never started twice and never marked FAILED. The input is a one-line manifest naming exactly the
object (an ``S3Prefix`` on the key would also pick up ``<key>.bak``): one PutObject per file,
negligible next to a transform job, and the job's output is ``<S3OutputPath>/<key>.out``.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from orchestrator.aws import manifest
from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.transform_jobs import TransformJobs, job_request, payload_problem
from orchestrator.core import identity, timestamps
from orchestrator.core.routing import Mode
from orchestrator.core.status import Status
from orchestrator.errors import InvocationRejectedError
from orchestrator.modes.interface import ClaimedFile, close, confirm_submitted
from orchestrator.observability import logger
from orchestrator.settings import TransformSettings


@dataclass(eq=False)
class FileJobs(UsesAdapters):
    """``Router.register(Mode.BATCH, FileJobs(...))``: called once per claimed file; its announcer
    closes a file that cannot be scored (modes.close)."""

    transform: TransformSettings
    adapters: Adapters
    _: KW_ONLY
    output_prefix: str
    jobs: TransformJobs

    def __call__(self, file: ClaimedFile) -> None:
        request_id, event, decision = file.request_id, file.event, file.decision
        problem = payload_problem(self.transform, event.size)
        if problem:
            close(self.announcer, file, Status.FAILED, problem)
            return
        name = identity.job_name(self.transform.job_prefix, request_id)
        manifest_key = manifest.job_key_prefix(self.output_prefix, name) + manifest.MANIFEST_NAME
        manifest_uri = f"s3://{event.bucket}/{manifest_key}"
        # Same bytes on every attempt: rewriting it for a job that already runs changes nothing.
        manifest.put_object(
            self.s3, event.bucket, manifest_key, manifest.single_manifest(event.bucket, event.key), "application/json"
        )
        output_path = manifest.output_path(event.bucket, self.output_prefix, name)
        request = job_request(
            self.transform,
            name=name,
            manifest_uri=manifest_uri,
            output_path=output_path,
            content_type=self.transform.content_type or decision.content_type,
        )
        try:
            started = self.jobs.start(request)
        except InvocationRejectedError as exc:
            close(self.announcer, file, Status.FAILED, exc.message)
            return
        if not started.created:
            logger.info("transform job already started; confirming it", extra={"job": name, "status": started.status})
        now = confirm_submitted(
            self.tracker,
            file,
            {"job_name": name, "output_location": manifest.output_location(output_path, event.key)},
            overtaken="job state arrived before confirmation; keeping it",
            extra={"job": name},
        )
        logger.info("transform job submitted", extra={"job": name, "job_created": started.created})
        self.recorder.count("RequestsRouted", mode=Mode.BATCH.value)
        if started.created:
            self.recorder.count("TransformJobsStarted", mode=Mode.BATCH.value)
        self.recorder.timing("QueueTime", timestamps.millis_between(event.event_time, now), mode=Mode.BATCH.value)
