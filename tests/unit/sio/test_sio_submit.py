"""Where ``sio submit`` puts files so the router gives them the asked mode, within what the stack lets
uploaders ask for (RequestableModes)."""

from __future__ import annotations

import pytest
from sio.errors import SioError
from sio.stack import Stack
from sio.submit import METADATA_KEY, target


def _stack(**parameters: str) -> Stack:
    return Stack(
        "s", "environment", "us-east-1", {"InputPrefix": "incoming/"}, {"ReadObjectMetadata": "true", **parameters}
    )


@pytest.mark.parametrize(("mode", "base"), [("nightly", "incoming/nightly/"), ("batch", "incoming/batch/")])
def test_prefix_modes_go_under_their_prefix_without_asking_in_the_metadata(mode, base):
    """Given a stack that reads metadata and does not let uploaders ask for batch, then batch files still go
    under the batch prefix (the router would SKIP a request outside RequestableModes)."""
    chosen = target(_stack(), mode=mode)
    assert (chosen.base, chosen.metadata) == (base, {})


def test_a_requestable_mode_is_asked_for_in_the_metadata():
    chosen = target(_stack(RequestableModes="async,realtime"), mode="realtime")
    assert (chosen.base, chosen.metadata) == ("incoming/", {METADATA_KEY: "realtime"})


@pytest.mark.parametrize(("requestable", "shown"), [("async,nightly", "async,nightly"), ("", "empty")])
def test_a_mode_outside_requestable_modes_is_refused_before_upload_naming_the_parameter(requestable, shown):
    with pytest.raises(SioError, match=rf"ask for mode 'realtime': RequestableModes is {shown} \(add realtime"):
        target(_stack(RequestableModes=requestable), mode="realtime")


def test_requestable_modes_defaults_to_the_templates_default():
    assert target(_stack(), mode="async").metadata == {METADATA_KEY: "async"}
    with pytest.raises(SioError, match="RequestableModes is async,nightly"):
        target(_stack(), mode="serverless")
