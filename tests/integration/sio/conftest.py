"""What sio's integration tests share: a tracker table on moto, and the AWS calls sio's own clients make."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sio_moto import sio_calls, tracker_table


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    yield from tracker_table()


@pytest.fixture
def calls() -> Iterator[list[str]]:
    """Every AWS call sio's clients make (the tier's own ``calls`` counts the functions')."""
    with sio_calls() as made:
        yield made
