"""SageMaker stand-in: the calls the product makes, over HTTP, with the real wire formats and contracts.

moto's SageMaker is not enough (docs/architecture.md §10), so this server answers, on one loopback port:

- ``sagemaker-runtime`` (REST-JSON): ``InvokeEndpointAsync`` (``POST /endpoints/{name}/async-invocations``)
  and ``InvokeEndpoint`` (``POST /endpoints/{name}/invocations``);
- ``sagemaker`` (JSON 1.1, ``X-Amz-Target: SageMaker.<Operation>``): ``CreateTransformJob``,
  ``DescribeTransformJob``, ``StopTransformJob``, ``ListTransformJobs``, and for the endpoints the stack
  creates ``DescribeEndpoint`` and ``UpdateEndpointWeightsAndCapacities`` (what Application Auto Scaling
  calls).

One module per concern; each imports only the ones listed before it:

- ``errors``: the services' error answers (``ApiError``, the validation codes);
- ``model``: the model, over SageMaker's container contract (``Model``: a function in process);
- ``core``: what every part shares (region and account, AWS clients, the model, the lock, the clock,
  the history of what ran) and the small S3 and time helpers;
- ``async_endpoints``: ``InvokeEndpointAsync``: the queue, its workers, TTL expiry, notifications and
  their fault switch, the created endpoints' instances and metrics;
- ``sync_endpoints``: ``InvokeEndpoint`` on real-time and serverless endpoints;
- ``transform_jobs``: transform jobs and their state-change events;
- ``service``: ``StandIn``, the one stand-in composing the three, with the control-plane dispatch and
  the created endpoints' ``DescribeEndpoint`` / ``UpdateEndpointWeightsAndCapacities``;
- ``wire``: one SageMaker request in, SageMaker's answer out (status, headers, body, errors in the
  call's protocol): the request path of the HTTP server and of the integration tests and benches,
  which call it in process (tests/support/sagemaker.py);
- ``server``: the HTTP surface, the ``/_local/`` controls and ``main``.

``python -m local.sagemaker_standin --config standin.json --port 4567`` runs it.
"""
