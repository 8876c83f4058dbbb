"""The product's fixed facts that routing, settings and ``sio`` need: payload and time limits, defaults. Pure.

Its own module so that ``routing`` (the pure decision) and ``settings`` (reading the environment)
do not import each other: settings imports routing, routing imports this.
"""

from __future__ import annotations

DEFAULT_CONTENT_TYPES = "csv=text/csv,json=application/json,jsonl=application/jsonlines,txt=text/plain"
# The modes an uploader may ask for through x-amz-meta-inference-mode (template parameter RequestableModes):
# not batch, which would let any uploader start a transform job per file, nor the synchronous modes.
DEFAULT_REQUESTABLE_MODES = "async,nightly"
REALTIME_MAX_BYTES = 6_291_456  # InvokeEndpoint request body (docs/architecture.md §7.4)
SERVERLESS_MAX_BYTES = 4_194_304  # a serverless endpoint's payload limit: 4 MB
ASYNC_MAX_BYTES = 1_073_741_824  # InvokeEndpointAsync input object: 1 GB
SYNC_MAX_SECONDS = 60  # a real-time or serverless container must answer within 60 s
ASYNC_MAX_SECONDS = 3600  # InvokeEndpointAsync InvocationTimeoutSeconds: at most 3600
