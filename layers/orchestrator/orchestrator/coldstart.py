"""The cold start of a function: Python's cyclic garbage collector waits until the workflow is built.

Everything a function makes while it loads (modules, classes, botocore's service models, clients, the
settings) lives as long as its execution environment, so a collection during the cold start walks
an ever larger heap and frees nothing: on the router, 20 to 25 ms of a 230 ms cold start
(``python -m tests.bench coldstart``). So in a Lambda execution environment (``AWS_LAMBDA_FUNCTION_NAME``
set, as Lambda and the local stack's function host set it) the package pauses the collector when it
is first imported (:func:`pause`), and the composition root resumes it once a workflow is built
(:func:`resume`), before any file is handled: the objects of the cold start are frozen out of later
collections (``gc.freeze``), which then walk only what the invocations make. Elsewhere (tests, the
``sio`` CLI) nothing changes.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping

_paused = False


def pause(environ: Mapping[str, str] = os.environ) -> bool:
    """Pause the collector for the cold start, in a Lambda execution environment only. True if paused."""
    global _paused
    if _paused or not environ.get("AWS_LAMBDA_FUNCTION_NAME") or not gc.isenabled():
        return False
    gc.disable()
    _paused = True
    return True


def resume() -> None:
    """The cold start is over: what it made is frozen out of later collections, and the collector runs
    again. Once per process; without a pause, nothing."""
    global _paused
    if not _paused:
        return
    _paused = False
    gc.freeze()
    gc.enable()
