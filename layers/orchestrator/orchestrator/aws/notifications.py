"""SNS adapter: results go to the success or the error topic, in the one message shape."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.errors import RetryableError

PUBLISH_BATCH_MAX = 10  # entries per SNS PublishBatch call


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

    def publish_batch(self, messages: Sequence[dict[str, Any]], *, success: bool) -> None:
        """Many results on one topic, ten per PublishBatch call (the SNS maximum). Any entry SNS
        did not accept fails the whole call: the caller retries the batch (at least once)."""
        topic = self.success_topic_arn if success else self.error_topic_arn
        for start in range(0, len(messages), PUBLISH_BATCH_MAX):
            entries = [
                {"Id": str(n), "Message": json.dumps(message, separators=(",", ":"))}
                for n, message in enumerate(messages[start : start + PUBLISH_BATCH_MAX])
            ]
            try:
                response = self._client.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise RetryableError(f"publish batch to {topic} failed: {exc}", {"topic": topic}) from exc
            if response.get("Failed"):
                codes = sorted({entry.get("Code", "") for entry in response["Failed"]})
                raise RetryableError(
                    f"SNS refused {len(response['Failed'])} of {len(entries)} messages: {', '.join(codes)}",
                    {"topic": topic},
                )
