"""EventBridge rules with a Lambda target: a queue stands in for the function (moto cannot invoke
one); each event it holds is an asynchronous invocation, retried as Lambda does (``MaximumRetryAttempts``,
default 2), then sent to the on-failure destination if one is set."""

from __future__ import annotations

import json
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from local.aws.state import RuleTarget
from local.triggers.async_invocation import invoke_async
from local.triggers.context import RunnerContext
from local.triggers.environments import HostPool
from local.triggers.sqs_pollers import POLL_WAIT_SECONDS


class RuleTargetPoller:
    """An EventBridge rule's Lambda target: each event is an asynchronous invocation."""

    def __init__(self, runner: RunnerContext, target: RuleTarget, pool: HostPool) -> None:
        self.runner = runner
        self.target = target
        self.pool = pool

    def start(self) -> list[threading.Thread]:
        thread = threading.Thread(target=self._loop, name=f"{self.target.rule}-{self.target.target_id}", daemon=True)
        thread.start()
        return [thread]

    def _loop(self) -> None:
        sqs = self.runner.client("sqs")
        spec = self.runner.state.functions[self.target.function]
        while not self.runner.stopping.is_set():
            try:
                response = sqs.receive_message(
                    QueueUrl=self.target.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=POLL_WAIT_SECONDS
                )
                for message in response.get("Messages", []):
                    invoke_async(self.runner, spec, json.loads(message["Body"]), self.pool.invoke)
                    sqs.delete_message(QueueUrl=self.target.queue_url, ReceiptHandle=message["ReceiptHandle"])
            except (ClientError, BotoCoreError) as exc:
                self.runner.log(f"{self.target.rule}: {exc}")
                time.sleep(0.5)
