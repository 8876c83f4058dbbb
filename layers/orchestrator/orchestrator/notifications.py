"""SNS adapter: results go to the success or the error topic, in the one message shape."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.errors import RetryableError


class Publisher:
    def __init__(self, client: Any, *, success_topic_arn: str, error_topic_arn: str) -> None:
        self._client = client
        self.success_topic_arn = success_topic_arn
        self.error_topic_arn = error_topic_arn

    def publish(self, message: dict[str, Any], *, success: bool) -> None:
        topic = self.success_topic_arn if success else self.error_topic_arn
        try:
            self._client.publish(TopicArn=topic, Message=json.dumps(message, separators=(",", ":")))
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"publish to {topic} failed: {exc}", {"topic": topic}) from exc
