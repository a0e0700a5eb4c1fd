"""Mutation checks: deliberately broken copies of the synthesized definitions must fail the scenarios.

Each test edits a scratch copy of a resolved definition (never the repo), creates it under another name
(not counted in state coverage), runs the same scenario and assertion helper the real tests use, and
expects the assertion to fail; the unmutated definition must pass the same check first, so a mutant
is never "caught" merely because the base definition is broken.
"""
from __future__ import annotations

import pytest

from fakes import filter_job
from harness import scratch_copy
from leadbridge import (CONSUMER_STACKS, Consumer, Producer, assert_counted, assert_failed_at, assert_handed_off,
                        hand_off_meanwhile)


def test_producer_mutant_that_archives_before_copying_fails_the_one_object_scenario(aws):
    producer = Producer.deploy(aws)
    consumers = {name: Consumer.deploy(aws, name) for name in CONSUMER_STACKS}
    observers = {name: aws.observe_bus(c.account, c.bus) for name, c in consumers.items()}
    mutant = scratch_copy(producer.machine.definition)
    states = mutant["States"]
    [choice] = [c for c in states["DidRunLandFiles"]["Choices"] if c["Next"] == "CopyToConsumers"]
    choice["Next"] = "ArchiveRun"                                 # landed -> archive first
    states["ArchiveRun"]["Next"], states["CopyToConsumers"]["Next"] = "CopyToConsumers", "Notify_sales"
    arn = aws.create_machine(producer.machine, definition=mutant, name=producer.machine.name + "-mutant")
    producer.land("run-base", ["part-00000.parquet"])
    assert producer.run(producer.appflow_reports("run-base")[0]).status == "SUCCEEDED"
    assert_handed_off(producer, consumers, observers, "run-base", ["part-00000.parquet"])
    producer.land("run-m", ["part-00000.parquet"])

    ex = aws.run(arn, producer.appflow_reports("run-m")[0])

    with pytest.raises(AssertionError) as caught:
        assert_handed_off(producer, consumers, observers, "run-m", ["part-00000.parquet"])
    print(f"mutant {ex.status}; scenario assertion failed as it should: {caught.value!s}")


def test_producer_mutant_that_counts_a_skipped_object_as_copied_fails_the_skip_scenario(pipeline):
    producer, consumers, _ = pipeline
    aws = producer.world
    mutant = scratch_copy(producer.machine.definition)
    child = mutant["States"]["CopyToConsumers"]["ItemProcessor"]["States"]["CopyToConsumersEachObject"]
    for name, state in child["ItemProcessor"]["States"].items():
        for catch in state.get("Catch", []):
            catch["Next"] = "ObjectCopied"                        # a source already gone counts as copied
    arn = aws.create_machine(producer.machine, definition=mutant, name=producer.machine.name + "-mutant")
    names = ["part-00000.parquet", "part-00001.parquet"]
    producer.land("run-base", names)
    hand_off_meanwhile(producer, consumers, "run-base", names[0])
    assert_counted(producer.run(producer.appflow_reports("run-base")[0]), copied=1, skipped=1)
    producer.land("run-m", names)
    hand_off_meanwhile(producer, consumers, "run-m", names[0])

    ex = aws.run(arn, producer.appflow_reports("run-m")[0])

    with pytest.raises(AssertionError) as caught:
        assert_counted(ex, copied=1, skipped=1)
    print(f"mutant {ex.status}; scenario assertion failed as it should: {caught.value!s}")


def test_producer_mutant_that_passes_a_failed_first_announcement_by_fails_the_redelivery_scenario(aws):
    producer = Producer.deploy(aws)
    Consumer.deploy(aws, "sales", skip_types=("AWS::Events::EventBus", "AWS::Events::Rule"))  # its bus missing
    Consumer.deploy(aws, "partners")
    mutant = scratch_copy(producer.machine.definition)
    for catch in mutant["States"]["Notify_sales"]["Catch"]:
        catch["Next"] = "Notify_partners"                         # a failed PutEvents swallowed
    arn = aws.create_machine(producer.machine, definition=mutant, name=producer.machine.name + "-mutant")
    producer.land("run-base", ["part-00000.parquet"])
    assert_failed_at(producer.run(producer.appflow_reports("run-base")[0]), "Notify_sales")
    producer.land("run-m", ["part-00000.parquet"])

    ex = aws.run(arn, producer.appflow_reports("run-m")[0])

    with pytest.raises(AssertionError) as caught:
        assert_failed_at(ex, "Notify_sales")
    print(f"mutant {ex.status}; scenario assertion failed as it should: {caught.value!s}")


def test_consumer_mutant_that_moves_files_while_the_load_runs_fails_the_error_scenario(aws):
    c = Consumer.deploy(aws, "sales")
    aws.glue_jobs.on_run = filter_job()
    aws.appflow.statuses = ["InProgress", "Error"]
    mutant = scratch_copy(c.machine.definition)
    choices = mutant["States"]["IsLoadDone"]["Choices"]
    [poll] = [ch for ch in choices if ch["Next"] == "WaitForSalesforceLoad"]
    poll["Next"] = "MoveCurated"                                  # "still running" treated as done
    arn = aws.create_machine(c.machine, definition=mutant, name=c.machine.name + "-mutant")
    c.put("inbox/run-base/part-00000.parquet", "x")
    base = c.run(c.handoff_event("run-base"))
    assert base.status == "FAILED" and c.keys("archive/") == [], base
    aws.appflow.statuses = ["InProgress", "Error"]
    c.put("inbox/run-m/part-00000.parquet", "x")

    ex = aws.run(arn, c.handoff_event("run-m"))

    with pytest.raises(AssertionError) as caught:
        assert ex.status == "FAILED", ex
        assert c.keys("archive/") == [], "moved files for a load that failed"
    print(f"mutant {ex.status}; scenario assertion failed as it should: {caught.value!s}")
