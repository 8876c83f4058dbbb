"""A created endpoint's instances as the stand-in plays them: start-up delay, scale-in at once, billing."""

from __future__ import annotations

import pytest

from local.scaling.endpoint_capacity import Capacity


def capacity(instances: int = 0, startup: float = 4.0) -> Capacity:
    return Capacity("AllTraffic", instances, per_instance=4, startup_seconds=startup, max_capacity=2, since=0.0)


def test_an_instance_serves_only_after_its_start_up_delay():
    """Given an endpoint at zero, when one instance is desired at t=10, then no request slot exists
    before t=14 and four (MaxConcurrentInvocationsPerInstance) from t=14."""
    endpoint = capacity()
    endpoint.set_desired(1, now=10.0)

    assert endpoint.slots(13.9) == 0
    assert endpoint.describe(13.9)["CurrentInstanceCount"] == 0
    assert endpoint.describe(13.9)["DesiredInstanceCount"] == 1
    assert endpoint.slots(14.0) == 4
    assert [e["event"] for e in endpoint.events] == ["desired 1", "instance in service"]
    assert endpoint.events[-1]["at"] == 14.0


def test_scale_in_stops_instances_at_once_and_cancels_starting_ones_first():
    """Given one serving and one starting instance, when the desired count drops to 1 then 0, then the
    starting one is cancelled first and the serving one stops at once."""
    endpoint = capacity(instances=1)
    endpoint.set_desired(2, now=0.0)
    endpoint.set_desired(1, now=1.0)
    assert (endpoint.instances, endpoint.starting) == (1, [])

    endpoint.set_desired(0, now=2.0)
    assert endpoint.slots(2.0) == 0
    assert endpoint.events[-1]["event"] == "instance stopped"


def test_billing_counts_starting_and_serving_instances():
    """Given 0 instances, one desired at t=0 (start-up 4 s) and none at t=10, then 10 instance-seconds are
    billed, and nothing more afterwards."""
    endpoint = capacity()
    endpoint.set_desired(1, now=0.0)
    endpoint.set_desired(0, now=10.0)

    assert endpoint.instance_seconds(10.0) == pytest.approx(10.0)
    assert endpoint.instance_seconds(100.0) == pytest.approx(10.0)


def test_a_negative_desired_count_is_refused():
    """Given any endpoint, when -1 instances are desired, then ValueError names DesiredInstanceCount."""
    with pytest.raises(ValueError, match="DesiredInstanceCount"):
        capacity().set_desired(-1, now=0.0)
