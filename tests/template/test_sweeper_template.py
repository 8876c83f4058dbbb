"""The sweeper in the template: its schedule, its dead-letter queue and exactly the permissions it uses."""

from __future__ import annotations

import json
from typing import Any

from tests.template.cfn import actions, references, role_statements, schedule_of, text

SWEEPER = "SweeperFunction"


def props(cfn: dict[str, Any], name: str) -> dict[str, Any]:
    return cfn["Resources"][name]["Properties"]


def test_sweeper_runs_on_its_schedule_parameter_and_dead_letters_what_fails(cfn):
    target = schedule_of(cfn, SWEEPER)["Properties"]
    assert target["ScheduleExpression"] == {"Ref": "SweeperScheduleExpression"}
    assert "Name" not in target, "a fixed schedule name would collide between stacks of one account"
    assert target["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["SweeperDLQ", "Arn"]}}
    assert json.loads(target["Target"]["Input"]) == {"scheduledTime": "<aws.scheduler.scheduled-time>"}
    [config] = [
        r["Properties"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig" and r["Properties"]["FunctionName"] == {"Ref": SWEEPER}
    ]
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["SweeperDLQ", "Arn"]}


def test_sweeper_stops_well_before_its_timeout(cfn):
    """An item starts only while its worst case is left (ITEM_BUDGET_MS): a run has room for items."""
    from orchestrator.workflows.sweeper import ITEM_BUDGET_MS, SAFETY_MARGIN_MS

    assert props(cfn, SWEEPER)["Timeout"] * 1000 > 2 * SAFETY_MARGIN_MS
    assert props(cfn, SWEEPER)["Timeout"] * 1000 >= 2 * ITEM_BUDGET_MS


def test_sweeper_may_do_exactly_what_it_does_and_nothing_more(cfn):
    """Query the in-flight index; update and batch-get items; read results under the output prefix
    (and list them, so a missing result is a 404, not a 403); describe this stack's jobs; publish;
    send a failed run to its dead-letter queue; hand a finished night to the batch-result function
    (one event, and when it did so next to the night's manifest). It starts no job itself."""
    role = props(cfn, SWEEPER)["Role"]["Fn::GetAtt"][0]
    statements = role_statements(cfn, role)
    publish = [s for s in statements if actions(s) == ["sns:Publish"]]
    assert sorted(name for s in publish for name in references(s["Resource"])) == ["ErrorTopic", "SuccessTopic"]
    granted = sorted((tuple(sorted(actions(s))), text(s["Resource"])) for s in statements if s not in publish)
    assert granted == sorted(
        [
            (("dynamodb:Query",), "${TrackerTable.Arn}/index/InFlight"),
            (("dynamodb:BatchGetItem", "dynamodb:UpdateItem"), "${TrackerTable.Arn}"),
            (("s3:GetObject",), "${InputBucket.Arn}/${OutputPrefix}*"),
            (("s3:ListBucket",), "${InputBucket.Arn}"),
            (
                ("sagemaker:DescribeTransformJob",),
                "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:transform-job/${TransformJobPrefix}-*",
            ),
            (("sqs:SendMessage",), "${SweeperDLQ.Arn}"),  # the on-failure destination (SAM adds it)
            # A finished night whose event was lost: handed over (orchestrator/aws/handoff.py), noted once.
            (("events:PutEvents",), "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"),
            (
                ("s3:PutObject",),
                "${InputBucket.Arn}/${OutputPrefix}batch/${TransformJobPrefix}-nightly-*/handoff.json",
            ),
        ]
    )


def test_a_silent_sweeper_pages_someone(monitored):
    """Given the sweeper is the deadline keeper, then its own silence is alarmed (in the Monitoring stack):
    fewer than one invocation in every minute of SweeperSilenceAlarmMinutes, missing data counting as silence."""
    cfn = monitored
    alarm = props(cfn, "SweeperSilentAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": SWEEPER}}]
    assert alarm["EvaluationPeriods"] == {"Ref": "SweeperSilenceAlarmMinutes"} and alarm["Period"] == 60
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"
    assert cfn["Parameters"]["SweeperSilenceAlarmMinutes"]["MaxValue"] * alarm["Period"] <= 86400  # CloudWatch's limit
