"""The README's recovery runbook, run on moto: after each failure it names, the documented recovery
(`make recover`, i.e. tools/recover.py: a new execution with the failed one's input) ends with every
lead loaded into Salesforce exactly once, counted per upsert key by the AppFlow fake.

GIVEN a failure (a hand-off whose copy stops half-way, a failed crawl, a failed Glue job run, a
Salesforce load that ends in Error), WHEN the operator fixes the cause and runs the recovery on the
failed execution, THEN the run completes and each lead was loaded once; a run that did not fail is not
"recovered". Rows Salesforce rejected are recovered by the next run (test_sfn_rejected_rows_retry.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fakes import filter_job, lead_key
from leadbridge import Consumer, Producer
from test_sfn_consumer_orchestration import FILES, hand_off

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from recover import recover  # noqa: E402


def run_recovery(world, failed_arn: str):
    """What `make recover EXECUTION=<failed_arn>` does, then waits for the new execution."""
    account, region = failed_arn.split(":")[4], failed_arn.split(":")[3]
    printed = []
    new_arn = recover(world.client("stepfunctions", account, region), failed_arn, out=printed.append)
    world.started.append(new_arn)
    return world.wait(new_arn), printed


def assert_each_lead_loaded_once(aws, c: Consumer, run_id: str, files=FILES):
    loads = aws.appflow.loaded(c.account, c.flow)
    want = {lead_key(run_id, f): 1 for f in files}
    assert dict(loads) == want, f"{c.name}: loads per lead {dict(loads)}"


@pytest.fixture
def sales(aws) -> Consumer:
    c = Consumer.deploy(aws, "sales")
    aws.glue_jobs.on_run = filter_job()
    return c


def test_handoff_whose_copy_stopped_half_way_is_recovered_and_every_lead_loads_once(aws):
    # GIVEN the partners inbox refuses copies (its bucket is not there yet) while sales receives them
    producer = Producer.deploy(aws)
    sales = Consumer.deploy(aws, "sales")
    partners = Consumer.deploy(aws, "partners", skip_types=("AWS::S3::Bucket",))
    aws.glue_jobs.on_run = filter_job()
    producer.land("run-h", FILES)
    [event] = producer.appflow_reports("run-h")
    failed = producer.run(event)
    assert failed.status == "FAILED", failed
    assert sales.keys("inbox/run-h/") and aws.delivered(sales.machine.arn) == [], "copied half-way, announced nowhere"

    # WHEN the cause is fixed and the failed hand-off is recovered
    aws.create_bucket(partners.inbox, partners.account)
    recovered, printed = run_recovery(aws, failed.arn)

    # THEN each consumer is told once, and its run loads every lead once
    assert recovered.status == "SUCCEEDED", recovered
    assert any("start-execution" in line and producer.machine.arn in line for line in printed), printed
    for c in (sales, partners):
        [announced] = aws.delivered(c.machine.arn)
        assert c.run(announced).status == "SUCCEEDED"
        assert_each_lead_loaded_once(aws, c, "run-h")


def test_failed_glue_job_is_recovered_and_every_lead_loads_once(aws, sales):
    aws.glue_jobs.on_run = filter_job(final_state="FAILED")
    failed = sales.run(hand_off(sales, "run-g"))
    assert failed.status == "FAILED", failed

    aws.glue_jobs.on_run = filter_job()                 # the job's cause fixed and deployed
    recovered, _ = run_recovery(aws, failed.arn)

    assert recovered.status == "SUCCEEDED", recovered
    assert_each_lead_loaded_once(aws, sales, "run-g")
    assert sales.keys("inbox/") == [] and sales.lock() is None


def test_load_that_ended_in_error_is_recovered_and_every_lead_loads_once(aws, sales):
    aws.appflow.statuses = ["InProgress", "Error"]
    failed = sales.run(hand_off(sales, "run-l"))
    assert failed.status == "FAILED" and "LoadFailed" in failed.entered, failed

    aws.appflow.statuses = ["InProgress", "Successful"]   # Salesforce side fixed
    recovered, _ = run_recovery(aws, failed.arn)

    assert recovered.status == "SUCCEEDED", recovered
    assert len({p["clientToken"] for p in aws.appflow.started()}) == 2, "the recovery must start a new flow run"
    assert_each_lead_loaded_once(aws, sales, "run-l")
    assert sales.keys("inbox/") == [] and len(sales.keys("archive/run-l/")) == len(FILES)


def test_failed_crawl_needs_no_recovery_and_a_recovery_is_refused(aws, sales):
    aws.glue_jobs.crawl_outcome = "FAILED"
    ex = sales.run(hand_off(sales, "run-k"))
    assert ex.status == "SUCCEEDED" and "CrawlFailed" in ex.entered, ex

    with pytest.raises(ValueError, match="SUCCEEDED"):
        recover(aws.client("stepfunctions", sales.account), ex.arn, out=lambda line: None)
    assert_each_lead_loaded_once(aws, sales, "run-k")


def test_dry_run_prints_the_command_and_starts_nothing(aws, sales):
    aws.glue_jobs.on_run = filter_job(final_state="FAILED")
    failed = sales.run(hand_off(sales, "run-d"))
    printed = []
    sfn = aws.client("stepfunctions", sales.account)

    assert recover(sfn, failed.arn, start=False, out=printed.append) is None

    assert len(sfn.list_executions(stateMachineArn=sales.machine.arn)["executions"]) == 1
    assert printed[1].startswith(f"aws stepfunctions start-execution --state-machine-arn {sales.machine.arn} --name recover-")
    assert printed[1].endswith(f"--input '{sfn.describe_execution(executionArn=failed.arn)['input']}'")
