"""The functions' metrics decorator prints each invocation's per-dimension metric sets once, at the end,
also when the handler raises, and nothing of one invocation is printed by the next."""

from __future__ import annotations

import pytest
from orchestrator.observability import MetricsEmitter, log_metrics

from tests.support import emf


class Boom(Exception):
    pass


def test_sets_are_printed_once_at_the_end_of_the_invocation_even_when_it_raises(capsys):
    emitter = MetricsEmitter()

    @log_metrics
    def handler(event, context):
        emitter.count("RequestsFailed", "realtime")
        emitter.timing("ProcessingTime", 12.5, "realtime")
        emitter.level("InFlight", 3, status="RECEIVED")
        assert emf.metrics(capsys.readouterr().out) == []  # nothing printed before the end
        raise Boom

    with pytest.raises(Boom):
        handler({}, None)
    documents = [d for d in emf.documents(capsys.readouterr().out) if "_aws" in d]
    assert [(d.get("Mode"), d.get("Status")) for d in documents] == [("realtime", None), (None, "RECEIVED")]
    assert documents[0]["RequestsFailed"] == [1.0] and documents[0]["ProcessingTime"] == [12.5]

    @log_metrics
    def quiet(event, context):
        return "done"

    assert quiet({}, None) == "done"
    assert emf.metrics(capsys.readouterr().out) == []  # the last invocation's sets were not kept


def test_a_hundred_values_of_one_metric_are_split_as_emf_allows(capsys):
    emitter = MetricsEmitter()

    @log_metrics
    def handler(event, context):
        for _ in range(150):
            emitter.count("RequestsRouted", "async")

    handler({}, None)
    values = [d["RequestsRouted"] for d in emf.documents(capsys.readouterr().out) if "_aws" in d]
    assert sorted(len(v) for v in values) == [50, 100]
