"""The producer's hand-off state machine, run as synthesized (cdk.out) on moto across three accounts.

GIVEN objects an AppFlow run left in the landing bucket (producer 111111111111) and the consumer stacks
deployed (sales 222222222222, partners 333333333333), WHEN the "AppFlow End Flow Run Report" event is
put on the producer's default bus, THEN its trigger rule delivers it and the execution copies every
object to every consumer inbox, moves it to archive/ and announces the run on each consumer's bus.
Events are observed through a rule on each consumer bus that targets an SQS queue in that account.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

import moto_patches
from fakes import marketo_run_prefix
from leadbridge import (CONSUMER_STACKS, MARKETO_FLOW, Consumer, Producer, appflow_deactivated_event,
                        appflow_end_event, assert_counted, assert_failed_at, assert_handed_off, hand_off_meanwhile,
                        handoffs)


def test_trigger_rule_delivers_only_successful_runs_of_the_marketo_flow(pipeline):
    producer, _, _ = pipeline
    assert producer.appflow_reports("r-failed", status="Execution Failed") == []
    assert producer.appflow_reports("r-other", flow="some-other-flow") == []
    [event] = producer.appflow_reports("r-ok")
    assert event["detail"]["execution-id"] == "r-ok"


def test_marketo_runs_that_did_not_succeed_reach_the_alarm_topic(pipeline):
    """Leads stop coming without a hand-off to notice: a failed run of the Marketo flow goes to the alarm
    topic; a successful one, and failed runs of other flows, do not."""
    producer, _, _ = pipeline
    for status in ("Execution Failed", "Execution Canceled"):
        producer.appflow_puts(appflow_end_event(f"r-{status}", status=status, records=0, account=producer.account))
    producer.appflow_puts(appflow_end_event("r-ok", account=producer.account))
    producer.appflow_puts(appflow_end_event("r-other", status="Execution Failed", flow="some-other-flow",
                                            account=producer.account))

    alarmed = producer.world.delivered(producer.alarm_topic)

    assert sorted(e["detail"]["status"] for e in alarmed) == ["Execution Canceled", "Execution Failed"]
    assert {e["detail"]["flow-name"] for e in alarmed} == {MARKETO_FLOW}


def test_deactivated_marketo_flow_reaches_the_alarm_topic(pipeline):
    producer, _, _ = pipeline
    producer.appflow_puts(appflow_deactivated_event(account=producer.account))
    producer.appflow_puts(appflow_deactivated_event(flow="some-other-flow", account=producer.account))

    [alarm] = producer.world.delivered(producer.alarm_topic)

    assert alarm["detail-type"] == "AppFlow Scheduled Flow Deactivated"
    assert alarm["detail"]["flow-name"] == MARKETO_FLOW
    assert producer.world.delivered(producer.machine.arn) == [], "a deactivation starts no hand-off"


def test_run_that_wrote_no_files_succeeds_without_copying_or_announcing(pipeline):
    producer, consumers, observers = pipeline
    [event] = producer.appflow_reports("run-empty", records=0)

    ex = producer.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert ex.entered[-1] == "RunWroteNoFiles"
    assert all(c.keys() == [] for c in consumers.values())
    assert all(handoffs(o) == [] for o in observers.values())


def test_one_object_reaches_both_consumers_is_archived_and_announced(pipeline):
    producer, consumers, observers = pipeline
    producer.land("run-1", ["part-00000.parquet"])
    [event] = producer.appflow_reports("run-1")

    ex = producer.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert ex.entered[-1] == "HandedOff"
    assert_handed_off(producer, consumers, observers, "run-1", ["part-00000.parquet"])


def test_run_that_reported_records_but_left_no_files_fails_loudly(pipeline):
    """AppFlow said it wrote records, yet nothing is under the run's folder in landing/ or archive/:
    the leads are lost between AppFlow and the hand-off, so the execution fails (its failed-execution
    alarm fires) instead of ending in a success state."""
    producer, consumers, observers = pipeline
    producer.land("run-elsewhere", ["part-00000.parquet"])      # another run's files do not count
    [event] = producer.appflow_reports("run-lost", records=7)

    ex = producer.run(event)

    assert ex.status == "FAILED", ex
    assert ex.error == "RunFilesMissing"
    assert ex.entered[-1] == "RunFilesMissing"
    assert all(c.keys() == [] for c in consumers.values())
    assert all(handoffs(o) == [] for o in observers.values())


def test_hand_off_started_by_hand_without_a_count_and_no_files_fails(pipeline):
    """An event without num-of-records-processed (a hand-off started by hand with a wrong run id) cannot
    show that the run had nothing: it fails rather than succeeding quietly."""
    producer, _, _ = pipeline

    ex = producer.run({"detail": {"execution-id": "run-typo"}})

    assert ex.status == "FAILED", ex
    assert ex.error == "RunFilesMissing"


def _largest_payload(ex) -> int:
    """Bytes of the largest state input or output in an execution's history."""
    return max(len(v) for e in ex.history for k, d in e.items() if k.endswith("EventDetails") and isinstance(d, dict)
               for f, v in d.items() if f in ("input", "output") and isinstance(v, str))


def _largest_map_result(ex) -> int:
    return max(size for arn, _, size in moto_patches.MAP_RESULTS if arn == ex.arn)


# A child's summary in the copy Map's result, {"copied":100,"skipped":0}, with its comma.
SUMMARY_BYTES = 32


def test_state_stays_bounded_for_any_number_of_objects(pipeline):
    """A run of 5,000 objects crosses five listing pages and is handed off whole, while the parent's
    history does not grow with the object count (compared with a run of 50), and its state grows only by
    one summary of a few bytes per 100 objects (a child of the copy Map): the other Maps write their
    results to S3 and the count comes from the children's summaries or the Map Run."""
    producer, consumers, observers = pipeline
    runs = {"run-50": [f"part-{i:05d}.parquet" for i in range(50)],
            "run-5k": [f"part-{i:05d}.parquet" for i in range(5000)]}
    executions = {}
    for run_id, names in runs.items():
        producer.land(run_id, names)
        [event] = producer.appflow_reports(run_id)
        t0 = time.monotonic()
        executions[run_id] = ex = producer.run(event, timeout=1200)  # a bound on a hang, not on speed: 2 shared cores
        assert ex.status == "SUCCEEDED", ex
        print(f"{len(names):,} objects handed off in {time.monotonic() - t0:.1f}s: history {len(ex.history)} "
              f"events, largest payload {_largest_payload(ex):,} B, largest Map result {_largest_map_result(ex):,} B")
    assert_handed_off(producer, consumers, observers, "run-5k", runs["run-5k"])

    small, big = executions["run-50"], executions["run-5k"]
    assert len(big.history) == len(small.history)
    extra_children = 5000 // 100 - 1
    assert _largest_payload(big) - _largest_payload(small) <= 16 + SUMMARY_BYTES * extra_children
    assert _largest_map_result(big) - _largest_map_result(small) <= 16 + SUMMARY_BYTES * extra_children
    assert _largest_payload(big) < 4096


def test_keys_that_need_url_encoding_copy_under_their_own_names(pipeline):
    """S3 reads CopySource URL-decoded; the interpreter's clients send it verbatim, as Step Functions
    does (moto_patches._copy_source_verbatim), so these copy only because the definition encodes it:
    unencoded, `%41` would be read as `A`, `+` may be read as a space, and non-ASCII letters cannot
    travel in the header at all."""
    producer, consumers, observers = pipeline
    names = ["leads export 2026 (1).parquet", "a+b=c&d.parquet", "50% off=yes.parquet", "x%41y.parquet",
             "Kundenübersicht – März.parquet", "見込み客.parquet", "Ελληνικά.parquet"]
    producer.land("run-names", names)
    [event] = producer.appflow_reports("run-names")

    ex = producer.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert_handed_off(producer, consumers, observers, "run-names", names)
    for n in names:
        assert producer.world.body(consumers["sales"].inbox, consumers["sales"].account,
                                   f"inbox/run-names/{n}") == f"parquet bytes of {n}".encode()


def test_missing_consumer_bucket_fails_the_run_archives_nothing_and_a_rerun_completes(aws):
    producer = Producer.deploy(aws)
    sales = Consumer.deploy(aws, "sales")
    partners = Consumer.deploy(aws, "partners", skip_types=("AWS::S3::Bucket",))  # bucket not there yet
    observers = {c.name: aws.observe_bus(c.account, c.bus) for c in (sales, partners)}
    names = ["part-00000.parquet", "part-00001.parquet"]
    producer.land("run-2", names)
    [event] = producer.appflow_reports("run-2")

    first = producer.run(event)

    assert first.status == "FAILED", first
    assert first.error == "HandoffFailed"
    assert sorted(producer.landed("run-2")) == sorted(marketo_run_prefix(MARKETO_FLOW, "run-2") + n for n in names)
    assert producer.archived("run-2") == []
    assert all(handoffs(o) == [] for o in observers.values()), "announced a run a consumer does not have"

    aws.create_bucket(partners.inbox, partners.account)
    second = producer.run(event)  # the same event, redelivered (e.g. redriven from the DLQ)

    assert second.status == "SUCCEEDED", second
    assert_handed_off(producer, {"sales": sales, "partners": partners}, observers, "run-2", names)


def test_same_event_delivered_twice_in_sequence_copies_once_and_announces_again(pipeline):
    """The second execution finds the run only in archive/: nothing is copied or archived again, and
    the consumers are told again (the first announcement may have failed); a consumer run for a run it
    already archived does nothing (see the consumer's duplicate hand-off test)."""
    producer, consumers, observers = pipeline
    names = ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    producer.land("run-3", names)
    [event] = producer.appflow_reports("run-3")

    first = producer.run(event)
    second = producer.run(event)

    assert first.status == second.status == "SUCCEEDED", (first, second)
    assert "CountArchivedRun" in second.entered and "CopyToConsumers" not in second.entered, second.entered
    assert_handed_off(producer, consumers, observers, "run-3", names, events_per_consumer=2)


def test_same_event_delivered_twice_concurrently_loses_nothing(pipeline):
    """Both executions race through copy/archive. Objects are never lost, and every object ends in
    every inbox and in archive/. Consumers may get the announcement twice (the producer has no lock);
    the second one can carry a smaller objectCount, so consumers must not trust objectCount."""
    producer, consumers, observers = pipeline
    names = [f"part-{i:05d}.parquet" for i in range(50)]
    producer.land("run-4", names)
    [event] = producer.appflow_reports("run-4")

    a = producer.world.start(producer.machine.arn, event)
    b = producer.world.start(producer.machine.arn, event)
    ex_a, ex_b = producer.world.wait(a), producer.world.wait(b)

    assert ex_a.status == ex_b.status == "SUCCEEDED", (ex_a, ex_b)
    for c in consumers.values():
        assert sorted(c.keys("inbox/run-4/")) == sorted(f"inbox/run-4/{n}" for n in names)
    assert producer.landed("run-4") == []
    assert len(producer.archived("run-4")) == len(names)
    for name, obs in observers.items():
        events = handoffs(obs)
        assert 1 <= len(events) <= 2, f"{name}: {len(events)} events"
        assert max(e["detail"]["objectCount"] for e in events) == len(names)
        print(f"{name}: {len(events)} hand-off events, objectCount {[e['detail']['objectCount'] for e in events]}; "
              f"executions ended {ex_a.entered[-1]}, {ex_b.entered[-1]}")


@pytest.mark.parametrize("missing", list(CONSUMER_STACKS))
def test_consumer_that_missed_the_announcement_is_told_on_redelivery(aws, missing):
    """archive/ is written before the consumers are told: if the announcement to any consumer fails after
    archiving (first, last or between), the execution fails instead of passing it by, and the redelivered
    event still reaches that consumer."""
    producer = Producer.deploy(aws)
    consumers = {name: Consumer.deploy(aws, name, skip_types=("AWS::Events::EventBus", "AWS::Events::Rule")
                                       if name == missing else ()) for name in CONSUMER_STACKS}
    producer.land("run-5", ["part-00000.parquet"])
    [event] = producer.appflow_reports("run-5")

    first = producer.run(event)

    assert_failed_at(first, f"Notify_{missing}")      # after archiving
    c = consumers[missing]
    aws.client("events", c.account).create_event_bus(Name=c.bus)
    observer = aws.observe_bus(c.account, c.bus)
    second = producer.run(event)

    assert second.status == "SUCCEEDED", second
    assert len(handoffs(observer)) == 1, f"{missing} never told about run-5 (second run: {second.entered[-1]})"


def test_objects_another_execution_archived_are_skipped_and_not_counted(pipeline):
    """An object whose source is gone when the copy reaches it was copied to every consumer and archived
    by another execution for the same run (a duplicate event): this one skips it, and says so in its
    output, its event and its metrics, counting only the objects it copied itself."""
    producer, consumers, observers = pipeline
    names = ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    producer.land("run-6", names)
    hand_off_meanwhile(producer, consumers, "run-6", names[1])
    [event] = producer.appflow_reports("run-6")

    ex = producer.run(event)

    assert_counted(ex, copied=2, skipped=1)
    assert_handed_off(producer, consumers, observers, "run-6", names, first_copied=2)   # and skippedCount 1
    assert flow_counts(producer, "ObjectsHandedOff") == [2.0]
    assert flow_counts(producer, "ObjectsSkipped") == [1.0]


def flow_counts(producer, metric: str) -> list[float]:
    """The data points the hand-off put on one of the Marketo flow's metrics in the last hour."""
    now = datetime.now(timezone.utc)
    points = producer.world.client("cloudwatch", producer.account).get_metric_statistics(
        Namespace="leadbridge", MetricName=metric, Dimensions=[{"Name": "Flow", "Value": MARKETO_FLOW}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1), Period=3600, Statistics=["Sum"])
    return [p["Sum"] for p in points["Datapoints"]]


def test_backfill_window_moved_under_the_flow_is_handed_off(pipeline):
    """The README's backfill: an on-demand flow's run, moved (aws s3 mv) to the scheduled flow's run
    layout under its own execution id, and the hand-off started by hand with only that id and count."""
    producer, consumers, observers = pipeline
    names = ["part-00000.parquet", "part-00001.parquet"]
    s3 = producer.world.client("s3", producer.account)
    backfill = marketo_run_prefix("leadbridge-marketo-backfill", "bf-1")
    for n in names:   # what the backfill flow wrote, then `aws s3 mv --recursive` (copy, then delete)
        s3.put_object(Bucket=producer.landing, Key=backfill + n, Body=f"parquet bytes of {n}".encode())
        s3.copy_object(Bucket=producer.landing, Key=marketo_run_prefix(MARKETO_FLOW, "bf-1") + n,
                       CopySource={"Bucket": producer.landing, "Key": backfill + n})
        s3.delete_object(Bucket=producer.landing, Key=backfill + n)

    ex = producer.run({"detail": {"execution-id": "bf-1", "num-of-records-processed": "42"}})

    assert ex.status == "SUCCEEDED", ex
    assert_handed_off(producer, consumers, observers, "bf-1", names)
