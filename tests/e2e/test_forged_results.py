"""A forged result at a pending file, on the local stack: published on the success topic as anyone the
topic policy lets publish would, it reaches subscribers but never the tracker item (README "Trust
boundaries"); SageMaker's real result is recorded when it comes."""

from __future__ import annotations

import json

from tests.e2e.flow import Flow, csv_rows


def _forged_success(flow: Flow, request_id: str, output_location: str) -> str:
    """SageMaker's success notification for ``request_id``, right in everything but its output."""
    return json.dumps(
        {
            "awsRegion": flow.stack.config.region,
            "eventTime": "2026-11-28T21:14:09.873Z",
            "receivedTime": "2026-11-28T21:14:06.012Z",
            "invocationStatus": "Completed",
            "requestParameters": {
                "contentType": "text/csv",
                "endpointName": flow.stack.state.parameters["AsyncEndpointName"],
                "inputLocation": f"s3://{flow.stack.bucket}/{flow.key('pending.csv')}",
            },
            "responseParameters": {"contentType": "text/csv", "outputLocation": output_location},
            "inferenceId": request_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
    )


def test_a_forged_success_for_a_pending_file_is_ignored_and_sagemakers_result_recorded(flow: Flow) -> None:
    endpoint = flow.stack.state.parameters["AsyncEndpointName"]
    output_prefix = flow.stack.state.parameters.get("OutputPrefix", "results/")
    # Given a file waiting at the endpoint (paused: no instance takes it yet)
    flow.stack.standin(f"/_local/endpoints/{endpoint}/pause", {})
    try:
        key = flow.put("pending.csv", csv_rows(5))
        pending = flow.wait_status(key, "SUBMITTED")
        request_id = pending["request_id"]
        # When two successes naming it are published on the success topic, each with an output of the
        # forger's: one outside the output prefix, one another object under it
        forgeries = [f"forgeries/{flow.tag}/forged.out", f"{output_prefix}async/{flow.tag}-forged.out"]
        sns = flow.stack.client("sns")
        for forged_key in forgeries:
            flow.s3.put_object(Bucket=flow.stack.bucket, Key=forged_key, Body=b"0.5\n0.5\n0.5\n0.5\n0.5\n")
            message = _forged_success(flow, request_id, f"s3://{flow.stack.bucket}/{forged_key}")
            sns.publish(TopicArn=flow.stack.state.physical("SuccessTopic"), Message=message)
        # (subscribers receive them: the topic policy is the boundary for who may publish)
        assert len(flow.messages(request_id, count=2)) == 2
        flow.queue_idle("TrackerQueue")

        # Then the tracker recorded neither: the file still waits for SageMaker
        still = flow.item(key)
        assert still == pending
        assert still["status"] == "SUBMITTED"
    finally:
        flow.stack.standin(f"/_local/endpoints/{endpoint}/resume", {})

    # And when the endpoint runs it, SageMaker's own result is recorded, with the model's output
    item = flow.wait_status(key)
    assert (item["status"], item["output_location"]) == ("SUCCEEDED", pending["output_location"])
    scores = flow.object(item["output_location"]).decode().splitlines()
    assert len(scores) == 5 and scores != ["0.5"] * 5  # the model's scores, not the forger's
    assert len(flow.history(request_id)) == 1
    outputs = {r.message["responseParameters"]["outputLocation"] for r in flow.messages(request_id, count=3)}
    assert outputs == {item["output_location"], *(f"s3://{flow.stack.bucket}/{k}" for k in forgeries)}
