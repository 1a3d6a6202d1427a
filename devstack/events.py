"""`python -m devstack events`: prints the change events the running stack sends to its
EventBridge bus, as a consumer's rule would get them (one JSON line each).

It adds a rule on the stage's bus (moto's, with `make run`) that targets a queue of its
own, then reads that queue until Ctrl-C. Only events sent after it started are shown.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import boto3

from devstack.fire import connect_or_say

TAP = "devstack-event-tap"


def watch(
    port: int,
    state_directory: Optional[Path] = None,
    out: Callable[[str], None] = print,
    rounds: Optional[int] = None,
) -> int:
    """Prints each event's detail as it arrives; `rounds` bounds the polls (tests)."""
    stack = connect_or_say(port, state_directory)
    if stack is None:
        return 2
    bus = os.environ.get("EVENT_BUS_NAME", "default")
    source = f"metadata-manager.{stack.stage}"
    sqs = boto3.client("sqs", region_name=stack.region)
    events = boto3.client("events", region_name=stack.region)
    url = sqs.create_queue(QueueName=TAP)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=TAP, EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=TAP, EventBusName=bus, Targets=[{"Id": "devstack", "Arn": arn}])
    print(f"devstack: change events of {source} on bus '{bus}' (Ctrl-C stops)", file=sys.stderr)
    polls = 0
    try:
        while rounds is None or polls < rounds:
            polls += 1
            answer: Any = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                out(json.dumps(json.loads(message["Body"])["detail"], separators=(",", ":")))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    except KeyboardInterrupt:
        pass
    return 0
