"""The orchestration's load phase and its accounting, run as synthesized on moto.

GIVEN a hand-off whose leads the filter job kept, WHEN the Salesforce flow runs, THEN the orchestration
finds its own flow run among the flow's records whatever their order and page, waits for it, counts the
records Salesforce refused (kept at the flow's error location, published on the flow's RejectedRows
metric), writes reports/<run>-run.json whose sums balance (read = dropped + sent, sent = loaded +
rejected), and only then moves the files. A run that outlives its bound is cancelled, and the lock is
held until AppFlow says the cancelled run has stopped. A job report that does not balance stops the run
before anything is loaded.
"""
from __future__ import annotations

import json

import pytest

from fakes import filter_job, rejected_records_key
from leadbridge import CONSUMER_STACKS, Consumer
from test_sfn_consumer_orchestration import FILES, assert_nothing_moved, hand_off


@pytest.fixture(params=sorted(CONSUMER_STACKS))
def consumer(aws, request) -> Consumer:
    c = Consumer.deploy(aws, request.param)
    aws.glue_jobs.on_run = filter_job()
    return c


def run_report(c: Consumer, run_id: str) -> dict:
    return json.loads(c.world.body(c.inbox, c.account, f"reports/{run_id}-run.json"))


def assert_balanced(report: dict) -> None:
    assert report["read"] + report["retried"] == sum(report["dropped"].values()) + report["sent"], report
    assert report["sent"] == report["loaded"] + report["rejected"], report


def rejected_rows_metric(c: Consumer) -> list[float]:
    return flow_metric(c, "RejectedRows")


def flow_metric(c: Consumer, metric: str) -> list[float]:
    """The sums put on one of the flow's metrics (leadbridge namespace, dimension Flow)."""
    cw = c.world.client("cloudwatch", c.account)
    stats = cw.get_metric_statistics(Namespace="leadbridge", MetricName=metric,
                                     Dimensions=[{"Name": "Flow", "Value": c.flow}],
                                     StartTime="2000-01-01T00:00:00Z", EndTime="2100-01-01T00:00:00Z",
                                     Period=86400, Statistics=["Sum"])
    return [p["Sum"] for p in stats["Datapoints"]]


def test_load_finds_its_own_run_among_other_runs_on_a_later_page(aws, consumer):
    # GIVEN the flow has five earlier runs, and AppFlow lists two records per page, in no time order
    c = consumer
    aws.appflow.add_finished_runs(c.flow, c.account, 5, status="Error")
    aws.appflow.page_size = 2
    event = hand_off(c, "run-p")

    ex = c.run(event)

    # THEN the execution pages until it meets its own run, and goes by that run's status only
    assert ex.status == "SUCCEEDED", ex
    assert "DescribeNextLoadRecords" in ex.entered
    assert "LoadFailed" not in ex.entered
    assert c.keys("inbox/") == [] and len(c.keys("archive/run-p/")) == len(FILES)


def test_rows_salesforce_rejected_are_counted_kept_and_published(aws, consumer):
    c = consumer
    aws.appflow.rejected_records = 2
    event = hand_off(c, "run-r")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex            # the load is settled: files move, the alarm speaks
    report = run_report(c, "run-r")
    assert (report["sent"], report["loaded"], report["rejected"]) == (len(FILES), len(FILES) - 2, 2)
    assert_balanced(report)
    key = rejected_records_key("errors", c.flow, report["flowExecutionId"])
    assert report["rejectedRecordsAt"] == f"s3://{c.inbox}/{key.rsplit('/', 1)[0]}/"
    assert c.keys(key.rsplit("/", 1)[0]) == [key], "the refused records are where the report says"
    assert rejected_rows_metric(c) == [2.0]
    assert len(c.keys("processed/run-r/")) == 1


def test_a_clean_load_reports_every_lead_and_publishes_nothing(aws, consumer):
    c = consumer
    ex = c.run(hand_off(c, "run-c"))

    assert ex.status == "SUCCEEDED", ex
    report = run_report(c, "run-c")
    assert (report["read"], report["sent"], report["loaded"], report["rejected"]) == (3, 3, 3, 0)
    assert_balanced(report)
    assert "PublishRejectedRows" not in ex.entered and rejected_rows_metric(c) == []


def test_a_job_report_that_does_not_balance_stops_the_run_before_the_load(aws, consumer):
    c = consumer

    def lossy_job(job_name, args, world):
        filter_job()(job_name, args, world)
        bucket, _, key = args["--report_path"][5:].partition("/")
        report = json.loads(world.body(bucket, c.account, key))
        world.put(bucket, c.account, key, json.dumps({**report, "read": report["read"] + 1}))  # one lead lost
        return "SUCCEEDED"
    aws.glue_jobs.on_run = lossy_job

    ex = c.run(hand_off(c, "run-u"))

    assert ex.status == "FAILED", ex
    assert "LeadsUnaccounted" in ex.entered and "StartSalesforceLoad" not in ex.entered
    assert_nothing_moved(c, "run-u", curated_expected=True)
    assert c.lock() is None


def test_a_load_that_never_ends_is_cancelled_and_holds_the_lock_until_it_stops(aws, consumer):
    c = consumer
    aws.appflow.statuses = ["InProgress"]
    aws.appflow.cancel_steps = 3
    held_while_cancelling = []
    aws.when_entering("CountCancelPolls", lambda execution: held_while_cancelling.append(c.lock()))

    ex = c.run(hand_off(c, "run-9"))

    assert ex.status == "FAILED", ex
    assert ex.entered.count("CancelSalesforceLoad") == 1
    assert "LoadCancelled" in ex.entered
    assert [a for a, p in aws.appflow.calls if a == "cancel_flow_executions"] == ["cancel_flow_executions"]
    assert held_while_cancelling and all(lock and lock["owner"] == ex.arn for lock in held_while_cancelling)
    assert_nothing_moved(c, "run-9", curated_expected=True)
    assert c.lock() is None, "released once AppFlow reported the cancelled run stopped"


def test_a_cancelled_load_that_does_not_stop_keeps_the_lock(aws, consumer):
    c = consumer
    aws.appflow.statuses = ["InProgress"]
    aws.appflow.cancel_steps = 10_000

    ex = c.run(hand_off(c, "run-s"))

    assert ex.status == "FAILED", ex
    assert "LoadNotStopped" in ex.entered and "ReleaseLockAfterFailure" not in ex.entered
    assert c.lock()["owner"] == ex.arn
    assert_nothing_moved(c, "run-s", curated_expected=True)
