"""Rows Salesforce refused are sent again by the next run, and quarantined after maxLoadAttempts
(default 3) refusals, run as synthesized on moto.

GIVEN a load in which Salesforce refused a row (AppFlow's error file at the flow's error location),
WHEN the run settles, THEN the orchestration leaves retry/pending.json naming that load; WHEN the next
run comes, THEN its filter job (the double, fakes.filter_job, as glue-scripts/filter_leads.py does it)
sends the row again and the run report counts it as retried, with read + retried = dropped + sent and
sent = loaded + rejected. A row refused three times is quarantined on the run after, with an alarm
metric. The merge itself (newer version wins, attempts) is tested on Spark in glue-scripts/tests.
"""
from __future__ import annotations

import json

import pytest

from fakes import filter_job, lead_key
from leadbridge import CONSUMER_STACKS, Consumer
from test_sfn_consumer_load import assert_balanced, flow_metric, rejected_rows_metric, run_report
from test_sfn_consumer_orchestration import FILES, hand_off


@pytest.fixture(params=sorted(CONSUMER_STACKS))
def consumer(aws, request) -> Consumer:
    c = Consumer.deploy(aws, request.param)
    aws.glue_jobs.on_run = filter_job()
    return c


def test_a_row_refused_on_run_1_is_loaded_on_run_2(aws, consumer):
    c = consumer
    refused = lead_key("run-1", FILES[1])
    aws.appflow.refused_keys = {refused}
    first = c.run(hand_off(c, "run-1"))
    assert first.status == "SUCCEEDED", first
    marker = json.loads(aws.body(c.inbox, c.account, "retry/pending.json"))
    assert (marker["runId"], marker["rejected"]) == ("run-1", 1)
    assert marker["rejectedRecordsAt"] == run_report(c, "run-1")["rejectedRecordsAt"]

    aws.appflow.refused_keys = set()                  # fixed in Salesforce
    second = c.run(hand_off(c, "run-2", ["b.parquet"]))

    assert second.status == "SUCCEEDED", second
    report = run_report(c, "run-2")
    assert (report["read"], report["retried"], report["sent"], report["loaded"]) == (1, 1, 2, 2)
    assert_balanced(report)
    loads = aws.appflow.loaded(c.account, c.flow)
    assert loads[refused] == 1 and all(n == 1 for n in loads.values()), loads
    assert len(loads) == len(FILES) + 1, "every lead of both runs loaded"
    assert c.keys("retry/pending.json") == [], "nothing left to retry"


def test_a_row_refused_three_times_lands_in_quarantine_with_an_alarm_metric(aws, consumer):
    c = consumer
    refused = lead_key("run-1", FILES[0])
    aws.appflow.refused_keys = {refused}              # Salesforce refuses it every time

    runs = ["run-1", "run-2", "run-3", "run-4"]
    for run_id in runs:
        ex = c.run(hand_off(c, run_id, [f"{run_id}.parquet"] if run_id != "run-1" else FILES))
        assert ex.status == "SUCCEEDED", (run_id, ex)
        assert_balanced(run_report(c, run_id))

    reports = [run_report(c, r) for r in runs]
    assert [r["retried"] for r in reports] == [0, 1, 1, 0]
    assert [r["rejected"] for r in reports] == [1, 1, 1, 0]
    assert [r["quarantined"] for r in reports] == [0, 0, 0, 1]
    assert reports[3]["read"] + reports[3]["retried"] == sum(reports[3]["dropped"].values()) + reports[3]["sent"]
    [(key, attempts, error)] = json.loads(aws.body(c.inbox, c.account, "quarantine/run_id=run-4/rows.json"))
    assert (key, attempts) == (refused, 3) and error.startswith("REQUIRED_FIELD_MISSING")
    assert flow_metric(c, "QuarantinedRows") == [1.0]
    assert rejected_rows_metric(c) == [3.0]
    assert aws.appflow.loaded(c.account, c.flow)[refused] == 0
    assert c.keys("retry/pending.json") == []
