"""State transitions per run, pinned: a change that multiplies what a run costs is noticed here.

Step Functions bills every transition (usage.py says what counts). A run's transitions are measured on
the emulated pipeline and must equal the pinned function of the run (run_cost.PerRun): per run, per
file, per poll. The README's cost section is computed from the same pins (test_readme_cost_section).
After a deliberate change: update the pins, then the README (`make cost-table` prints the section).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import cost_section
from leadbridge import PRODUCER_STACK, StaleObjectsCheck
from run_cost import (HANDOFF, HANDOFF_COPIES_PER_FILE, LOCK_WRITES, ORCHESTRATION, ORCHESTRATION_COPIES,
                      STALE_CHECK, measure_run, measure_stale_check)

PIN_HINT = "a change altered the transitions of a run: if deliberate, update run_cost's pins and the README cost section"


@pytest.mark.parametrize("files", [1, 100])
def test_transitions_per_run_are_pinned(pipeline, files):
    # GIVEN the producer and two consumers WHEN a run of `files` objects goes through, one poll per wait loop
    producer, consumers, _ = pipeline
    m = measure_run(producer.world, producer, consumers, f"run-{files}", files)

    # THEN each execution made exactly the pinned transitions, none of them a retry
    assert (m.handoff.transitions, m.handoff.retries) == (HANDOFF.at(files), 0), PIN_HINT
    for name, used in m.orchestrations.items():
        assert (used.transitions, used.retries) == (ORCHESTRATION.at(files), 0), (name, PIN_HINT)
    # and a Distributed Map started one child per object (hand-off: copy, archive; consumer: archive, +1 curated CSV)
    assert m.handoff.children == 2 * files
    assert {u.children for u in m.orchestrations.values()} == {files + 1}
    assert (m.appflow_runs, m.job_runs, m.crawls) == (1 + len(consumers), len(consumers), len(consumers))
    # and the requests billed by the request are the pinned ones
    assert m.handoff.calls("s3", "CopyObject") == HANDOFF_COPIES_PER_FILE * files
    for name, used in m.orchestrations.items():
        assert used.calls("s3", "CopyObject") == ORCHESTRATION_COPIES.at(files), name
        assert used.calls("dynamodb") == used.calls("dynamodb", "PutItem", "DeleteItem") == LOCK_WRITES, name


def test_each_poll_adds_one_pass_of_its_loop(pipeline):
    # GIVEN a Salesforce load that is polled 3 times and a crawl polled 4 times
    producer, consumers, _ = pipeline
    m = measure_run(producer.world, producer, consumers, "run-slow", 1, load_polls=3, crawl_polls=4)

    # THEN each extra poll costs one pass of its wait loop
    for name, used in m.orchestrations.items():
        assert used.transitions == ORCHESTRATION.at(1, load_polls=3, crawl_polls=4), (name, PIN_HINT)
    # and the dashboard's crawl time is the 4 polls of 30 s
    for c in consumers.values():
        assert crawl_seconds(c) == [120.0], c.name


def crawl_seconds(c) -> list[float]:
    """The CrawlSeconds data points the consumer's orchestration put."""
    now = datetime.now(timezone.utc)
    points = c.world.client("cloudwatch", c.account).get_metric_statistics(
        Namespace="leadbridge", MetricName="CrawlSeconds", Dimensions=[{"Name": "Flow", "Value": c.flow}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1), Period=3600, Statistics=["Maximum"])
    return [p["Maximum"] for p in points["Datapoints"]]


def test_a_retry_is_billed_as_a_transition(pipeline):
    # GIVEN Glue refuses the first start of the filter job with a throttling error (retried)
    producer, consumers, _ = pipeline
    producer.world.glue_jobs.start_errors = ["ThrottlingException"]

    m = measure_run(producer.world, producer, consumers, "run-throttled", 1)

    # THEN the consumer that met it made one retry, one transition more than the pin
    by_retries = sorted((u.retries, u.transitions) for u in m.orchestrations.values())
    assert by_retries == [(0, ORCHESTRATION.at(1)), (1, ORCHESTRATION.at(1) + 1)]


def test_stale_object_check_transitions_are_pinned(pipeline):
    # GIVEN the producer's scheduled check WHEN it runs over an empty landing/ (one listing page)
    producer, _, _ = pipeline
    check = StaleObjectsCheck.of(producer.world, PRODUCER_STACK, producer.landing)

    used = measure_stale_check(producer.world, check)

    # THEN it made the pinned transitions (it runs 48 times a day per stack)
    assert used.transitions == STALE_CHECK, PIN_HINT


def test_readme_cost_section_is_computed_from_the_pins():
    # GIVEN the README WHEN its cost section is compared with what the pins and prices give
    # THEN they agree (`make cost` rewrites it)
    readme = cost_section.README.read_text(encoding="utf-8")
    assert cost_section.readme_section(readme) == cost_section.section(), "the README's cost section is stale: run make cost"
