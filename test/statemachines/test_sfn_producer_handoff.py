"""The producer's hand-off state machine, run as synthesized (cdk.out) on moto across three accounts.

GIVEN objects an AppFlow run left in the landing bucket (producer 111111111111) and the consumer stacks
deployed (sales 222222222222, partners 333333333333), WHEN the "AppFlow End Flow Run Report" event is
put on the producer's default bus, THEN its trigger rule delivers it and the execution copies every
object to every consumer inbox, moves it to archive/ and announces the run on each consumer's bus.
Events are observed through a rule on each consumer bus that targets an SQS queue in that account.
"""
from __future__ import annotations

import time

from fakes import marketo_run_prefix
from leadbridge import MARKETO_FLOW, Consumer, Producer, assert_handed_off, handoffs


def test_trigger_rule_delivers_only_successful_runs_of_the_marketo_flow(pipeline):
    producer, _, _ = pipeline
    assert producer.appflow_reports("r-failed", status="Execution Failed") == []
    assert producer.appflow_reports("r-other", flow="some-other-flow") == []
    [event] = producer.appflow_reports("r-ok")
    assert event["detail"]["execution-id"] == "r-ok"


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


def test_2500_objects_cross_listing_pages_and_all_are_handed_off(pipeline):
    producer, consumers, observers = pipeline
    names = [f"part-{i:05d}.parquet" for i in range(2500)]
    producer.land("run-big", names)
    [event] = producer.appflow_reports("run-big")

    t0 = time.monotonic()
    ex = producer.run(event, timeout=180)

    assert ex.status == "SUCCEEDED", ex
    assert_handed_off(producer, consumers, observers, "run-big", names)
    print(f"2,500 objects handed off in {time.monotonic() - t0:.1f}s")


def test_keys_with_spaces_and_unicode_keep_their_names(pipeline):
    # moto (through botocore) URL-encodes CopySource for us; real S3 requires the caller to do it.
    # See the report: these names pass here but are not proven for AWS.
    producer, consumers, observers = pipeline
    names = ["leads export 2026 (1).parquet", "Kundenübersicht – März.parquet", "见客户.parquet", "a+b=c&d.parquet"]
    producer.land("run-names", names)
    [event] = producer.appflow_reports("run-names")

    ex = producer.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert_handed_off(producer, consumers, observers, "run-names", names)


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


def test_consumer_that_missed_the_announcement_is_told_on_redelivery(aws):
    """archive/ is written before the consumers are told: if an announcement fails after archiving,
    the redelivered event must still reach that consumer."""
    producer = Producer.deploy(aws)
    sales = Consumer.deploy(aws, "sales")
    partners = Consumer.deploy(aws, "partners", skip_types=("AWS::Events::EventBus", "AWS::Events::Rule"))
    producer.land("run-5", ["part-00000.parquet"])
    [event] = producer.appflow_reports("run-5")

    first = producer.run(event)
    assert first.status == "FAILED", first            # Notify_partners failed after archiving

    aws.client("events", partners.account).create_event_bus(Name=partners.bus)
    observer = aws.observe_bus(partners.account, partners.bus)
    second = producer.run(event)

    assert second.status == "SUCCEEDED", second
    assert len(handoffs(observer)) == 1, f"partners never told about run-5 (second run: {second.entered[-1]})"
