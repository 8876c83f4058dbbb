"""Fixes to moto's per-request costs that grow with the amount of data, applied by the local AWS server.

Found by profiling the local stack under a 1,000-file drop (README, Performance): moto's server spent
its time not in DynamoDB but in work that is repeated on every request and grows with the queue or
the package:

* SQS ``ReceiveMessage`` checks each message it returns against the queue's retention period by
  computing *all* the queue's attributes (three passes over every message in the queue, to count
  visible, in-flight and delayed ones) just to read ``MessageRetentionPeriod``: a receive of 10
  costs 30 passes over the queue, so a drop of N files costs O(N²). The fix reads the one attribute.
* Every S3 event notification (``SendMessage``) reads ``ContentBasedDeduplication`` from the same
  attributes: three passes over the queue per file put, each reading the clock twice per message.
  The fix counts the three figures in one pass with one clock reading, then lets moto build the
  attributes as before (so every caller, ``GetQueueAttributes`` included, gets what it got).
* ``DeleteMessage`` (and each entry of ``DeleteMessageBatch``) looks for the message in two passes over
  the whole queue, building every message's list of receipt handles twice: at a backlog of 5,000 a
  delete cost milliseconds, two a file. The fix finds the message by its current handle in one pass
  (its older handles only if that fails) and removes it as moto does.
* ``ReceiveMessage`` and a long poll's wait list the queue's visible messages, reading the clock twice
  a message; the wait rebuilds the list each time a message arrives. The fix reads the clock once a
  list, and the wait only asks whether one visible message exists.
* Every request resolves its service through ``list_of_moto_modules()``, which lists moto's package
  directory and stats each entry, under the dispatcher's global lock. The directory does not change
  while the server runs: it is listed once.

DynamoDB's: ``moto_dynamodb_patches``.

Each replacement returns exactly what moto's own code returns (``tests/unit/local/test_local_moto_patches.py``).
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any

from local.aws import moto_dynamodb_patches

_originals: dict[str, Any] = {}
# The counts of the queue whose attributes are being built on this thread (None: count as moto does).
_counted: contextvars.ContextVar[tuple[Any, dict[str, int]] | None] = contextvars.ContextVar("counted", default=None)
COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)


def apply() -> None:
    """Install the fixes into the imported moto (idempotent; ``restore`` undoes them)."""
    if _originals:
        return
    from moto import backends
    from moto.sqs.models import Queue, SQSBackend

    moto_dynamodb_patches.apply()
    _originals["retention"] = SQSBackend.is_message_valid_based_on_retention_period
    _originals["modules"] = backends.list_of_moto_modules
    _originals["attributes"] = Queue.attributes
    _originals["delete"] = Queue.delete_message
    _originals["messages"] = Queue.messages
    _originals["wait"] = Queue.wait_for_messages
    Queue.delete_message = _delete_message  # type: ignore[method-assign, assignment]
    Queue.messages = property(_visible_messages)  # type: ignore[method-assign, assignment]
    Queue.wait_for_messages = _wait_for_messages  # type: ignore[method-assign, assignment]
    for name in COUNTS:
        _originals[name] = getattr(Queue, name)
        setattr(Queue, name, property(functools.partial(_count, name)))
    Queue.attributes = property(_attributes_counting_once)  # type: ignore[method-assign, assignment]
    SQSBackend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    listed = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.wraps(_originals["modules"])(lambda: iter(listed))


def restore() -> None:
    """moto as it was before ``apply``."""
    if not _originals:
        return
    from moto import backends
    from moto.sqs.models import Queue, SQSBackend

    moto_dynamodb_patches.restore()
    SQSBackend.is_message_valid_based_on_retention_period = _originals.pop("retention")  # type: ignore[method-assign]
    Queue.attributes = _originals.pop("attributes")  # type: ignore[method-assign]
    Queue.delete_message = _originals.pop("delete")  # type: ignore[method-assign]
    Queue.messages = _originals.pop("messages")  # type: ignore[method-assign]
    Queue.wait_for_messages = _originals.pop("wait")  # type: ignore[method-assign]
    for name in COUNTS:
        setattr(Queue, name, _originals.pop(name))
    backends.list_of_moto_modules = _originals.pop("modules")


def _is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    """moto's check, reading the queue's retention period directly instead of through
    ``get_queue_attributes`` (which computes the message counts of the whole queue)."""
    from moto.core.utils import unix_time

    retention_period = self.get_queue(queue_name).message_retention_period
    return bool(int(retention_period) + message.sent_timestamp / 1000 > unix_time())


def _delete_message(queue: Any, receipt_handle: str) -> None:
    """moto's ``Queue.delete_message``: a handle already deleted is ignored, one no message of the queue
    ever had is refused, and the message that had it leaves the queue with all its handles recorded as
    deleted. Handles are unique, so the first message that had it is the one."""
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    if receipt_handle in queue.deleted_messages:
        return
    messages = queue._messages
    holder = next((m for m in messages if m.receipt_handle == receipt_handle), None)
    if holder is None:  # an older handle of a message received again since
        holder = next((m for m in messages if receipt_handle in m._old_receipt_handles), None)
    if holder is None:
        raise ReceiptHandleIsInvalid()
    queue.pending_messages.discard(holder)
    queue.deleted_messages.update(holder.all_receipt_handles)
    queue._messages = [m for m in messages if m is not holder]  # a new list, as moto's: readers keep theirs


def _visible_messages(queue: Any) -> list[Any]:
    """moto's ``Queue.messages`` (visible and not delayed), the clock read once for the whole list."""
    now = _now_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _wait_for_messages(queue: Any, timeout: int) -> None:
    """moto's long-poll wait: until a message is visible and not delayed, or ``timeout`` seconds."""

    def any_visible() -> bool:
        now = _now_millis()
        return any(now > m.visible_at and not now < m.delayed_until for m in queue._messages)

    with queue._messages_lock:
        queue._messages_lock.wait_for(any_visible, timeout=timeout)


def _attributes_counting_once(queue: Any) -> dict[str, Any]:
    """moto's ``Queue.attributes``, its three message counts taken from one pass over the queue."""
    now = _now_millis()
    visible = not_visible = delayed = 0
    for message in queue._messages:
        is_visible = now > message.visible_at  # moto's Message.visible and Message.delayed, one clock
        is_delayed = now < message.delayed_until
        delayed += is_delayed
        not_visible += not is_visible
        visible += is_visible and not is_delayed
    token = _counted.set((queue, dict(zip(COUNTS, (visible, not_visible, delayed), strict=True))))
    try:
        return dict(_originals["attributes"].fget(queue))
    finally:
        _counted.reset(token)


def _count(name: str, queue: Any) -> int:
    held = _counted.get()
    if held is not None and held[0] is queue:
        return held[1][name]
    return int(_originals[name].fget(queue))


def _now_millis() -> float:
    from moto.core.utils import unix_time_millis

    return unix_time_millis()
