"""Request identity (docs/architecture.md §3): derived from the object version, never random."""

from __future__ import annotations

import pytest
from orchestrator.core import identity
from orchestrator.errors import BadEventError

BUCKET = "input-bucket"
KEY = "incoming/customers/2026-11-28.csv"


def test_same_object_version_gives_the_same_id():
    """Given one S3 object version delivered twice, the request id is the same both times."""
    first = identity.request_id(BUCKET, KEY, "v1", "0062E9")
    second = identity.request_id(BUCKET, KEY, "v1", "0062E9")
    assert first == second


def test_new_version_of_a_key_is_a_new_request():
    assert identity.request_id(BUCKET, KEY, "v1", None) != identity.request_id(BUCKET, KEY, "v2", None)


@pytest.mark.parametrize(("bucket", "key"), [("other-bucket", KEY), (BUCKET, KEY + ".bak")])
def test_bucket_and_key_are_part_of_the_identity(bucket, key):
    assert identity.request_id(bucket, key, "v1", None) != identity.request_id(BUCKET, KEY, "v1", None)


def test_version_wins_over_sequencer():
    """Given a versioned bucket, the sequencer (which differs per event) does not change the id."""
    assert identity.request_id(BUCKET, KEY, "v1", "seq-a") == identity.request_id(BUCKET, KEY, "v1", "seq-b")


def test_falls_back_to_the_sequencer_without_a_version():
    by_sequencer = identity.request_id(BUCKET, KEY, None, "0062E9A9B1D4E8E5C7")
    assert by_sequencer != identity.request_id(BUCKET, KEY, None, "0062E9A9B1D4E8E5C8")
    assert by_sequencer == identity.request_id(BUCKET, KEY, "", "0062E9A9B1D4E8E5C7")


def test_a_version_and_a_sequencer_with_the_same_text_are_different_revisions():
    assert identity.request_id(BUCKET, KEY, "abc", None) != identity.request_id(BUCKET, KEY, None, "abc")


def test_without_version_or_sequencer_it_refuses_with_the_object_named():
    with pytest.raises(BadEventError, match="neither versionId nor sequencer") as caught:
        identity.request_id(BUCKET, KEY, None, None)
    assert caught.value.details == {"bucket": BUCKET, "key": KEY}


def test_id_is_a_valid_inference_id():
    """InferenceId: 1-64 printable characters."""
    request_id = identity.request_id(BUCKET, "incoming/é ü/a+b=1 100%.csv", "v1", None)
    assert 1 <= len(request_id) <= 64
    assert request_id.isascii() and request_id.isalnum()


def test_job_name_matches_sagemakers_pattern_and_length():
    request_id = identity.request_id(BUCKET, KEY, "v1", None)
    name = identity.job_name("sio-batch", request_id)
    assert name.endswith(request_id)
    assert len(name) <= 63
    assert identity.JOB_NAME_PATTERN.match(name)


def test_job_name_is_deterministic():
    request_id = identity.request_id(BUCKET, KEY, "v1", None)
    assert identity.job_name("nightly", request_id) == identity.job_name("nightly", request_id)


@pytest.mark.parametrize("prefix", [pytest.param("bad_prefix", id="underscore"), pytest.param("-", id="leading-dash")])
def test_job_name_outside_the_pattern_is_refused(prefix):
    with pytest.raises(ValueError, match="does not match"):
        identity.job_name(prefix, "0123456789abcdef0123456789abcdef")


def test_job_name_longer_than_63_is_refused_even_though_the_pattern_admits_it():
    """The pattern does not count dashes: 'x'*31 + '-' + 32 chars matches it at 64 characters."""
    prefix, request_id = "x" * 31, "0123456789abcdef0123456789abcdef"
    assert identity.JOB_NAME_PATTERN.match(f"{prefix}-{request_id}")
    with pytest.raises(ValueError, match="longer than 63"):
        identity.job_name(prefix, request_id)


def test_longest_prefix_that_fits_is_accepted():
    assert len(identity.job_name("x" * 30, "0123456789abcdef0123456789abcdef")) == 63
