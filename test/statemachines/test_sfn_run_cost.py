"""State transitions and Express usage per run, pinned: a change that multiplies what a run costs is
noticed here.

Step Functions bills every transition of a Standard workflow, and each Express child by request and
duration (usage.py says what counts). A run's transitions, Express children and the requests those
children make are measured on the emulated pipeline and must equal the pinned functions of the run
(run_cost.PerRun): per run, per file, per child of a Distributed Map, per poll. The README's cost section
is computed from the same pins (test_readme_cost_section). After a deliberate change: update the pins,
then the README (`make cost` rewrites the section).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

import cost_section
import moto_patches
from harness import find_machine
from leadbridge import CONSUMER_STACKS, PRODUCER_STACK, StaleObjectsCheck
from run_cost import (CURATED_CALLS, HANDOFF, HANDOFF_COPIES_PER_FILE, HANDOFF_EXPRESS, HANDOFF_EXPRESS_CALLS,
                      HANDOFF_MAP_CALLS, LOCK_WRITES, OBJECTS_PER_CHILD, ORCHESTRATION, ORCHESTRATION_COPIES,
                      ORCHESTRATION_EXPRESS, ORCHESTRATION_EXPRESS_CALLS, ORCHESTRATION_MAP_CALLS, STALE_CHECK,
                      children, measure_run, measure_stale_check, step_functions_run)

PIN_HINT = "a change altered the transitions of a run: if deliberate, update run_cost's pins and the README cost section"


@pytest.mark.parametrize("files", [1, 100, 101])
def test_transitions_per_run_are_pinned(pipeline, files):
    # GIVEN the producer and two consumers WHEN a run of `files` objects goes through, one poll per wait loop
    producer, consumers, _ = pipeline
    m = measure_run(producer.world, producer, consumers, f"run-{files}", files)

    # THEN each execution made exactly the pinned transitions, none of them a retry
    assert (m.handoff.transitions, m.handoff.retries) == (HANDOFF.at(files), 0), PIN_HINT
    for name, used in m.orchestrations.items():
        assert (used.transitions, used.retries) == (ORCHESTRATION.at(files), 0), (name, PIN_HINT)
    # and each Distributed Map started one Express child per 100 objects (hand-off: copy, archive; consumer:
    # archive, and one for the curated CSV), whose S3 requests are the pinned ones
    assert m.handoff.children == m.handoff.express_children == HANDOFF_EXPRESS.at(files) == 2 * children(files)
    assert m.handoff.express_calls == HANDOFF_EXPRESS_CALLS.at(files) == sum(HANDOFF_MAP_CALLS.values()) * files
    for name, used in m.orchestrations.items():
        assert used.children == used.express_children == ORCHESTRATION_EXPRESS.at(files) == children(files) + 1, name
        assert used.express_calls == ORCHESTRATION_EXPRESS_CALLS.at(files), name
        assert used.express_calls == sum(ORCHESTRATION_MAP_CALLS.values()) * files + CURATED_CALLS, name
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


def test_every_distributed_map_runs_express_children_of_the_pinned_batch(stacks):
    # GIVEN every state machine in cdk.out WHEN its Distributed Maps are read
    # THEN each runs Express children of a batch of objects, and the Maps over a run's files (hand-off,
    # orchestrations) batch OBJECTS_PER_CHILD objects, what the pins count per child
    runs = {find_machine(stacks, PRODUCER_STACK, "HandoffStateMachine").label,
            *(find_machine(stacks, s, "OrchestrationStateMachine").label for s in CONSUMER_STACKS.values())}
    maps = 0
    for stack in stacks.values():
        for machine in stack.state_machines():
            for name, state in _map_states(machine.definition):
                if state["ItemProcessor"].get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
                    continue
                maps += 1
                assert state["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "EXPRESS", (machine.label, name)
                assert state["ItemBatcher"]["MaxItemsPerBatch"] >= 1, (machine.label, name)
                if machine.label in runs:
                    assert state["ItemBatcher"]["MaxItemsPerBatch"] == OBJECTS_PER_CHILD, (machine.label, name)
    assert maps >= 3 + 2 * 2 + 3


def _map_states(definition: dict):
    for name, state in definition.get("States", {}).items():
        if state.get("Type") == "Map":
            yield name, state
            yield from _map_states(state["ItemProcessor"])


def test_an_express_child_is_billed_the_first_64_mb(pipeline):
    """Express memory is billed in 64 MB chunks: 50 MB + the definition + the input per Map step (Step
    Functions pricing page, Express example 3). The largest child of a 250-object run (its batches are
    full) stays within the first chunk, which the cost section assumes."""
    producer, consumers, _ = pipeline
    moto_patches.BATCHES.clear()
    measure_run(producer.world, producer, consumers, "run-memory", 250)
    largest_batch = max(size for _, _, size in moto_patches.BATCHES)
    definition = max(len(json.dumps(m.definition)) for m in [producer.machine, *(c.machine for c in consumers.values())])
    per_step = largest_batch                       # an upper bound: each Map step sees at most the whole batch
    mb = 50 + (definition + per_step * OBJECTS_PER_CHILD) / 2 ** 20
    print(f"largest batch {largest_batch:,} B, largest definition {definition:,} B: at most {mb:.1f} MB a child")
    assert mb <= 64


def test_step_functions_cost_of_a_large_run_is_cents():
    # GIVEN the pins and the list prices WHEN a run of 10,000 and of 100,000 objects is priced (2 consumers)
    # THEN Step Functions costs at most 5 cents and 50 cents a run (it was $4.00 and $40 with a child per object)
    for files, goal in ((10_000, 0.05), (100_000, 0.50)):
        usd = cost_section.step_functions_usd(step_functions_run(files))
        assert usd <= goal, f"{files:,} objects: ${usd:.4f} a run"


def test_readme_cost_section_is_computed_from_the_pins():
    # GIVEN the README WHEN its cost section is compared with what the pins and prices give
    # THEN they agree (`make cost` rewrites it)
    readme = cost_section.README.read_text(encoding="utf-8")
    assert cost_section.readme_section(readme) == cost_section.section(), "the README's cost section is stale: run make cost"
