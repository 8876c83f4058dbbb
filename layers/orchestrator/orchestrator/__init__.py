"""Shared package of the SageMaker Inference Orchestrator, deployed as the Lambda layer.

Folders are layers; each imports only the ones below it (pyproject.toml [tool.importlinter], checked
by ``make lint``; docs/architecture.md §9):

- ``wiring``      the composition root: settings and clients in, one workflow per function out
- ``workflows/``  what each function does: ``router``, ``scorer``, ``tracker`` (result messages),
                  ``batch_results`` (with ``state_change``, the event it reads, ``failed_nights``
                  and its splitting of poison files, ``retry_jobs``), ``nightly``, ``sweeper``;
                  ``genuine`` is the tracker's check that a result matches its request
- ``modes/``      one interface for every inference mode (``interface``) and the job-starting modes
                  (``file_jobs`` for batch, ``night_jobs`` for the nightly batch and its retries)
- ``aws/``        adapters with injected clients: the tracker table, SageMaker runtime, transform
                  jobs, topics, result objects, manifests, night progress, the hand-off event, the
                  scorer backlog, the SQS loop; ``announce`` owns "announce, then record"
- ``settings``    validated configuration, read once from the environment
- ``core/``       pure: statuses and ranks, identity, routing rules, size limits, deadlines, call
                  budgets, timestamps, message shapes, S3 event parsing, night names

``errors`` (the exception hierarchy) and ``observability`` (Powertools logger and metrics) are used
by every layer above the core; ``coldstart`` pauses the cyclic garbage collector while a function
loads, in a Lambda execution environment only, until ``wiring`` has built its workflow.
"""

# First thing a function's import does: the cold start runs without cyclic collections (coldstart.py).
# The sio wheel ships the pure core without it: whoever imports that core alone pauses nothing.
try:
    from orchestrator import coldstart as _coldstart
except ImportError:
    pass
else:
    _coldstart.pause()
