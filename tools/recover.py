"""Recover a failed leadbridge execution: start a new execution of the same state machine with the
failed one's input (`make recover EXECUTION=<arn> PROFILE=<profile>`).

Why not redrive: Step Functions redrive "continues the failed execution from the unsuccessful step and
uses the same input" (Step Functions guide, redrive-executions), and both state machines catch their
errors into a Fail state, so a redriven execution re-enters that Fail state and fails again at once.
A new execution with the original input is safe instead: the orchestration takes the run lock (and
takes it over from a failed owner), skips a run already archived, overwrites what its Glue job wrote
and starts a new Salesforce load under a new client token (the execution name is part of it); the
hand-off overwrites copies with the same bytes, treats a source already archived as copied and
announces the run again. README, "Recovering a failed run", is the runbook; the moto suite runs this
function after each failure it knows (test/statemachines/test_sfn_recovery.py).

Needs AWS credentials only when run against AWS; the region is the execution ARN's.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

# Statuses a new execution may replace. RUNNING and PENDING_REDRIVE are still going; SUCCEEDED has
# nothing to recover (a failed crawl alarms without failing: start the crawler again instead).
RECOVERABLE = ("FAILED", "TIMED_OUT", "ABORTED")
# Step Functions execution names: 1-80 characters (StartExecution "name").
MAX_NAME = 80


def recovery_name(failed_name: str, now: datetime) -> str:
    """A new, unique name that says what it recovers: recover-<UTC time>-<failed name>, cut to 80."""
    return f"recover-{now.strftime('%Y%m%dT%H%M%S')}-{failed_name}"[:MAX_NAME]


def recover(sfn, execution_arn: str, start: bool = True, out=print, now=None) -> str | None:
    """Start a new execution with the input of `execution_arn` if it failed; return its ARN.

    With start=False only prints what it would do (the equivalent `aws` command) and returns None.
    Raises ValueError, naming the status, for an execution that is not failed, timed out or aborted.
    """
    failed = sfn.describe_execution(executionArn=execution_arn)
    status = failed["status"]
    if status not in RECOVERABLE:
        raise ValueError(f"execution {execution_arn} is {status}: only {', '.join(RECOVERABLE)} executions are recovered")
    name = recovery_name(failed["name"], now or datetime.now(timezone.utc))
    out(f"{execution_arn} ended {status}: {failed.get('error', '-')}: {failed.get('cause', '-')}")
    out(f"aws stepfunctions start-execution --state-machine-arn {failed['stateMachineArn']} "
        f"--name {name} --input '{failed['input']}'")
    if not start:
        return None
    started = sfn.start_execution(stateMachineArn=failed["stateMachineArn"], name=name, input=failed["input"])
    out(f"started {started['executionArn']}")
    out(f"follow it: aws stepfunctions describe-execution --execution-arn {started['executionArn']}")
    return started["executionArn"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("execution_arn", help="ARN of the failed execution (hand-off or orchestration)")
    parser.add_argument("--dry-run", action="store_true", help="print the command, start nothing")
    args = parser.parse_args(argv)
    parts = args.execution_arn.split(":")
    if len(parts) < 8 or parts[2] != "states" or parts[5] != "execution":
        print(f"not an execution ARN: {args.execution_arn}", file=sys.stderr)
        return 2
    import boto3  # only when run against AWS; the tests pass their own client

    try:
        recover(boto3.client("stepfunctions", region_name=parts[3]), args.execution_arn, start=not args.dry_run)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
