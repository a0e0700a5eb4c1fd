"""The stale-object checks and the runbook for a run whose event was missed, run as synthesized on moto.

GIVEN a run's files left under landing/ (producer) or inbox/ (consumer), WHEN the scheduled check runs,
THEN it puts on its alarm's metric the number of objects older than the configured age (one day), counted
over the whole prefix (a Distributed Map lists it; Express children count up to 1,000 objects each); and WHEN an operator follows the README's runbook (start the hand-off or the
orchestration by hand with the minimal event it shows), THEN the run is handed off or processed and the
next check reports zero. The JSONata states run on moto with jsonata-python (moto_patches.jsonata_in_python).
"""
from __future__ import annotations

import pytest

from fakes import filter_job, marketo_run_prefix
from leadbridge import CONSUMER_STACKS, MARKETO_FLOW, PRODUCER_STACK, Consumer, StaleObjectsCheck, assert_handed_off, backdate

FILES = ["part-00000.parquet", "part-00001.parquet"]


def test_a_fresh_run_in_landing_is_not_stale(pipeline):
    producer, _, _ = pipeline
    producer.land("run-fresh", FILES)
    check = StaleObjectsCheck.of(producer.world, PRODUCER_STACK, producer.landing)

    ex = check.run()

    assert ex.status == "SUCCEEDED", ex
    assert ex.output == {"staleObjects": 0}
    assert check.reported() == [0]


def test_run_left_in_landing_is_reported_then_handed_off_by_hand_as_the_runbook_says(pipeline):
    producer, consumers, observers = pipeline
    producer.land("run-missed", FILES)
    backdate(producer.world, producer.landing, producer.account, marketo_run_prefix(MARKETO_FLOW, "run-missed"), hours=25)
    check = StaleObjectsCheck.of(producer.world, PRODUCER_STACK, producer.landing)

    assert check.run().output["staleObjects"] == len(FILES)
    assert check.reported() == [len(FILES)], "the alarm's metric (bucket and prefix dimensions)"

    # the runbook: the run id is the folder under landing/<flow>/; start the hand-off with this event
    ex = producer.run({"detail": {"execution-id": "run-missed"}})

    assert ex.status == "SUCCEEDED", ex
    assert_handed_off(producer, consumers, observers, "run-missed", FILES)
    assert check.run().output["staleObjects"] == 0


def test_check_counts_past_the_first_thousand_objects_and_finds_an_old_run_at_the_end(pipeline):
    """The old check read 40 pages of 250 keys at most and said nothing of the rest; now the stale run
    sorts after 1,000 fresh objects, so only the listing's second child of 1,000 sees it."""
    producer, _, _ = pipeline
    producer.land("run-busy", [f"part-{i:05d}.parquet" for i in range(1000)])
    producer.land("zz-run-missed", FILES)     # sorts after the busy run: in the second batch of 1,000
    backdate(producer.world, producer.landing, producer.account, marketo_run_prefix(MARKETO_FLOW, "zz-run-missed"), hours=30)
    check = StaleObjectsCheck.of(producer.world, PRODUCER_STACK, producer.landing)

    ex = check.run()

    assert ex.status == "SUCCEEDED", ex
    assert ex.output == {"staleObjects": len(FILES)}
    assert check.reported()[-1] == len(FILES)


def test_check_that_cannot_list_its_prefix_fails_and_reports_no_count(aws):
    """A check that cannot finish must not report a count it did not make: its execution fails (the
    failed-execution alarm) and the stale-objects alarm, which treats a missing report as breaching,
    hears nothing."""
    c = Consumer.deploy(aws, "sales", skip_types=("AWS::S3::Bucket",))   # the inbox cannot be listed
    check = StaleObjectsCheck.of(aws, CONSUMER_STACKS["sales"], c.inbox)

    ex = check.run()

    assert ex.status == "FAILED", ex
    assert "CountStaleObjects" in ex.entered and "PutStaleObjectCount" not in ex.entered, ex.entered
    assert check.reported() == []


@pytest.mark.parametrize("name", sorted(CONSUMER_STACKS))
def test_run_never_processed_in_inbox_is_reported_then_processed_by_hand_as_the_runbook_says(aws, name):
    c = Consumer.deploy(aws, name)
    aws.glue_jobs.on_run = filter_job()
    for f in FILES:
        c.put(f"inbox/run-lost/{f}", f"parquet {f}")
    c.put("inbox/run-today/part-00000.parquet")
    backdate(aws, c.inbox, c.account, "inbox/run-lost/", hours=48)
    check = StaleObjectsCheck.of(aws, CONSUMER_STACKS[name], c.inbox)

    assert check.run().output["staleObjects"] == len(FILES), "only the old run counts"

    # the runbook: start the orchestration with the run id, as the hand-off event would
    ex = c.run({"detail": {"runId": "run-lost"}})

    assert ex.status == "SUCCEEDED", ex
    assert c.keys("inbox/run-lost/") == [] and len(c.keys("archive/run-lost/")) == len(FILES)
    assert check.run().output["staleObjects"] == 0
