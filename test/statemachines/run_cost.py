"""One daily run of the whole pipeline, counted in the units AWS bills (see usage.py).

`measure_run` lands a Marketo run of `files` objects in the producer, runs the hand-off as its
completion event starts it, then each consumer's orchestration with the event its rule delivered (the
filter job double keeps every lead; the Salesforce load ends after `load_polls` polls, the crawl after
`crawl_polls`). `measure_stale_check` runs one scheduled stale-object check. Both return what the
executions used, per state machine: transitions (children and retries included), Distributed Map child
executions (Express ones apart), and the AWS requests their Tasks made (those of Express children apart).

What a run uses grows in four ways only, and `PerRun` names each: per run (fixed), per file (a request
per object, such as its copies), per child (each Distributed Map over the run's files starts one Express
child per OBJECTS_PER_CHILD objects, s3steps.ObjectsPerChild), per poll of a wait loop (the Salesforce
load is polled every 60 s, the crawler every 30 s: how long AppFlow and Glue take, not how much data).
test_sfn_run_cost.py pins them; the README's cost section is computed from them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from fakes import filter_job
from harness import Execution, World
from leadbridge import Consumer, Producer, StaleObjectsCheck
from usage import MachineUsage

LEADS_PER_FILE = 500       # the stated daily volume: 10,000 leads in 20 files
OBJECTS_PER_CHILD = 100    # s3steps.ObjectsPerChild: MaxItemsPerBatch of every Distributed Map (a test checks)
OBJECTS_AT_ONCE_IN_CHILD = 10   # s3steps.objectsAtOnce: MaxConcurrency of the inline Map in each child


def children(files: int) -> int:
    """Express children of one Distributed Map over `files` objects."""
    return -(-files // OBJECTS_PER_CHILD)


@dataclass(frozen=True)
class RunMeasure:
    files: int
    handoff: MachineUsage
    orchestrations: dict[str, MachineUsage]       # consumer name -> its orchestration's usage
    appflow_runs: int                              # the Marketo pull and one Salesforce load per consumer
    job_runs: int
    crawls: int
    handoff_execution: Execution
    executions: dict[str, Execution]               # consumer name -> its orchestration's execution
    copied: int                                    # objects the hand-off says it copied
    skipped: int                                   # and skipped
    archived: dict[str, int]                       # consumer name -> objects under archive/<run>/
    loaded: dict[str, int]                         # consumer name -> records its Salesforce flow loaded


def measure_run(world: World, producer: Producer, consumers: dict[str, Consumer], run_id: str, files: int,
                load_polls: int = 1, crawl_polls: int = 1, timeout: float = 120) -> RunMeasure:
    """One run end to end; each execution must succeed and each consumer must load every file's lead."""
    names = [f"part-{i:05d}.parquet" for i in range(files)]
    producer.land(run_id, names)
    [event] = producer.appflow_reports(run_id, records=files * LEADS_PER_FILE)
    world.appflow.statuses = ["InProgress"] * (load_polls - 1) + ["Successful"]
    world.glue_jobs.crawls_stay_running_for(crawl_polls - 1)
    world.glue_jobs.on_run = filter_job()
    loads_before, jobs_before = len(world.appflow.started()), len(world.glue_jobs.runs)

    before = world.usage.snapshot()
    handoff = producer.run(event, timeout=timeout)
    assert handoff.status == "SUCCEEDED", handoff
    executions, loaded = {}, {}
    for c in consumers.values():
        [delivered] = world.delivered(c.machine.arn)
        executions[c.name] = run = c.run(delivered, timeout=timeout)
        assert run.status == "SUCCEEDED", (c.name, run)
        loaded[c.name] = sum(world.appflow.loaded(c.account, c.flow).values())
        assert loaded[c.name] >= files, f"{c.name}: leads not loaded"
    used = world.usage.since(before)

    orchestrations = {name: used.of(c.machine.arn) for name, c in consumers.items()}
    for name, u in orchestrations.items():
        assert u.calls("appflow", "DescribeFlowExecutionRecords") == load_polls, (name, u.requests)
        assert u.calls("glue", "GetCrawler") == crawl_polls, (name, u.requests)
    loads = len(world.appflow.started()) - loads_before
    return RunMeasure(files=files, handoff=used.of(producer.machine.arn), orchestrations=orchestrations,
                      appflow_runs=1 + loads,
                      job_runs=len(world.glue_jobs.runs) - jobs_before, crawls=len(consumers),
                      handoff_execution=handoff, executions=executions,
                      copied=handoff.output["copied"]["objectCount"], skipped=handoff.output["copied"]["skippedCount"],
                      archived={c.name: len(c.keys(f"archive/{run_id}/")) for c in consumers.values()}, loaded=loaded)


def measure_stale_check(world: World, check: StaleObjectsCheck) -> MachineUsage:
    """One scheduled run of a stale-object check over an empty prefix (the usual case)."""
    before = world.usage.snapshot()
    ex = check.run()
    assert ex.status == "SUCCEEDED", ex
    return world.usage.since(before).of(check.machine.arn)


@dataclass(frozen=True)
class PerRun:
    """A count of one execution (its transitions, or requests of one kind) as a function of the run:
    fixed + per_file * files + per_child * children(files)
    (+ per_load_poll * polls + per_crawl_poll * polls for an orchestration)."""
    fixed: int
    per_file: int = 0
    per_child: int = 0
    per_load_poll: int = 0
    per_crawl_poll: int = 0

    def at(self, files: int, load_polls: int = 1, crawl_polls: int = 1) -> int:
        return (self.fixed + self.per_file * files + self.per_child * children(files)
                + self.per_load_poll * (load_polls - 1) + self.per_crawl_poll * (crawl_polls - 1))


# The pins, measured on the example app (two consumers; test_sfn_run_cost.py proves them).
# Hand-off: 11 states per run; per 100 objects one Express child copying them to both consumers and one
# archiving them (a transition each, for its start). Inside those children, per object: a CopyObject to
# each consumer, a CopyObject into archive/ and a DeleteObject.
HANDOFF = PerRun(fixed=11, per_child=2)
HANDOFF_EXPRESS = PerRun(fixed=0, per_child=2)
HANDOFF_EXPRESS_CALLS = PerRun(fixed=0, per_file=4)
# Orchestration: 31 states per run and the start of the child moving the one curated CSV; per 100
# objects the start of one child archiving them; 5 states per extra load poll, 4 per extra crawler poll.
# Inside the children: a CopyObject and a DeleteObject per object and for the curated CSV.
ORCHESTRATION = PerRun(fixed=32, per_child=1, per_load_poll=5, per_crawl_poll=4)
ORCHESTRATION_EXPRESS = PerRun(fixed=1, per_child=1)
ORCHESTRATION_EXPRESS_CALLS = PerRun(fixed=2, per_file=2)
# A stale-object check over an empty prefix: its Distributed Map starts no child.
STALE_CHECK = 3

# Requests billed by the request, per run: the lock item is written twice per orchestration (PutItem to
# take it, DeleteItem to release it) and never read; S3 CopyObject once per object per copy.
LOCK_WRITES = 2
HANDOFF_COPIES_PER_FILE = 3        # one into each consumer's inbox, one into archive/
ORCHESTRATION_COPIES = PerRun(fixed=1, per_file=1)   # the curated CSV, and each object into archive/

# Express duration is not measured (no real time passes in the emulation): it is estimated from the
# requests each child makes. An object's requests run one after another, OBJECTS_AT_ONCE_IN_CHILD objects
# at once, S3_REQUEST_SECONDS each: the median latency of a small S3 request is "in the tens of
# milliseconds" (S3 performance guidelines, timeouts and retries for latency-sensitive applications),
# rounded up to Express's billing step of 100 ms. Memory is billed in 64 MB chunks; a child's use is
# 50 MB + its definition + its input per Map step (pricing page, Express example 3), which
# test_sfn_run_cost.py computes from the measured batches: under 64 MB.
S3_REQUEST_SECONDS = 0.1
EXPRESS_BILLED_GB = 64 / 1024
# S3 requests per object in the children of each Distributed Map over a run's files (test_sfn_run_cost.py
# checks their sum against HANDOFF_EXPRESS_CALLS and ORCHESTRATION_EXPRESS_CALLS).
HANDOFF_MAP_CALLS = {"CopyToConsumers": 2, "ArchiveRun": 2}        # a copy per consumer; copy and delete
ORCHESTRATION_MAP_CALLS = {"ArchiveSource": 2}                     # copy and delete
CURATED_FILES, CURATED_CALLS = 1, 2                                # MoveCurated: the one curated CSV


def child_seconds(objects: int, calls_per_object: int) -> float:
    """Billed duration of one Express child working through `objects` objects."""
    rounds = math.ceil(objects / OBJECTS_AT_ONCE_IN_CHILD) * calls_per_object
    return max(1, math.ceil(round(rounds * S3_REQUEST_SECONDS * 10, 6))) / 10


def map_seconds(files: int, calls_per_object: int) -> float:
    """Billed duration of the children of one Distributed Map over `files` objects."""
    full, rest = divmod(files, OBJECTS_PER_CHILD)
    return full * child_seconds(OBJECTS_PER_CHILD, calls_per_object) + (child_seconds(rest, calls_per_object) if rest else 0)


@dataclass(frozen=True)
class StepFunctionsRun:
    """What Step Functions bills for one run of `files` objects with `consumers` consumers."""
    transitions: int
    express_requests: int
    express_gb_seconds: float


def step_functions_run(files: int, consumers: int = 2, load_polls: int = 1, crawl_polls: int = 1) -> StepFunctionsRun:
    handoff_seconds = sum(map_seconds(files, n) for n in HANDOFF_MAP_CALLS.values())
    orchestration_seconds = (sum(map_seconds(files, n) for n in ORCHESTRATION_MAP_CALLS.values())
                             + map_seconds(CURATED_FILES, CURATED_CALLS))
    return StepFunctionsRun(
        transitions=HANDOFF.at(files) + consumers * ORCHESTRATION.at(files, load_polls, crawl_polls),
        express_requests=HANDOFF_EXPRESS.at(files) + consumers * ORCHESTRATION_EXPRESS.at(files),
        express_gb_seconds=EXPRESS_BILLED_GB * (handoff_seconds + consumers * orchestration_seconds))
