"""One-off, after upgrading a stack to the version with the ``ByOutcome`` index: give the outcomes the
table recorded before the upgrade their index key, so `sio status --status FAILED --since T` lists
them too (without it, it lists the outcomes written after the upgrade only).

    PYTHONPATH=layers/orchestrator python scripts/backfill_outcomes.py --table <TrackerTableName> \\
        [--region R] [--dry-run]

It reads the table once (a Scan, about one read unit per 8 KB of table: the one time the table is
read whole) and, for each FAILED, EXPIRED, STOPPED or SKIPPED item without the key, writes the key
the tracker would have written (``orchestrator.core.deadlines.outcome_key``) in a conditional write: only
while the item is still in the status read and still has no key, so a file reopened or re-closed
meanwhile is left as the product wrote it. Its ``status_since`` (when the outcome was written) is
the index's sort key already. Safe to run again: keyed items are skipped. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from orchestrator.core import deadlines
from orchestrator.core.status import Status


def backfill(client: Any, table: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Key every unsuccessful item of ``table`` that lacks its outcome key; the counts by status."""
    statuses = {f":s{n}": {"S": status.value} for n, status in enumerate(deadlines.UNSUCCESSFUL)}
    params: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "request_id, #status",
        "FilterExpression": f"#status IN ({', '.join(statuses)}) AND attribute_not_exists(#outcome)",
        "ExpressionAttributeNames": {"#status": "status", "#outcome": "outcome"},
        "ExpressionAttributeValues": statuses,
    }
    keyed: dict[str, int] = {}
    moved_on = 0
    while True:
        page = client.scan(**params)
        for item in page.get("Items", []):
            request_id, status = item["request_id"]["S"], Status(item["status"]["S"])
            key = deadlines.outcome_key(status, request_id)
            if dry_run:
                keyed[status.value] = keyed.get(status.value, 0) + 1
                continue
            try:
                client.update_item(
                    TableName=table,
                    Key={"request_id": {"S": request_id}},
                    UpdateExpression="SET #outcome = :key",
                    ConditionExpression="#status = :status AND attribute_not_exists(#outcome)",
                    ExpressionAttributeNames={"#status": "status", "#outcome": "outcome"},
                    ExpressionAttributeValues={":key": {"S": key}, ":status": {"S": status.value}},
                )
            except client.exceptions.ConditionalCheckFailedException:
                moved_on += 1  # reopened or re-closed since the scan read it: the product's write stands
                continue
            keyed[status.value] = keyed.get(status.value, 0) + 1
        if "LastEvaluatedKey" not in page:
            break
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {"table": table, "dry_run": dry_run, "keyed": keyed, "changed_since_read": moved_on}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, help="the stack's TrackerTableName output")
    parser.add_argument("--region", help="the stack's region (default: AWS_REGION or your profile's)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be keyed, write nothing")
    options = parser.parse_args(argv)
    import boto3

    client = boto3.client("dynamodb", region_name=options.region)
    print(json.dumps(backfill(client, options.table, dry_run=options.dry_run), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
