"""One daily run of the whole pipeline, counted in the units AWS bills (see usage.py).

`measure_run` lands a Marketo run of `files` objects in the producer, runs the hand-off as its
completion event starts it, then each consumer's orchestration with the event its rule delivered (the
filter job double keeps every lead; the Salesforce load ends after `load_polls` polls, the crawl after
`crawl_polls`). `measure_stale_check` runs one scheduled stale-object check. Both return what the
executions used, per state machine: transitions (children and retries included), Distributed Map child
executions, and the AWS requests their Tasks made.

Transitions grow in three ways only, and `PerRun` names each: per run (fixed), per file (the
Distributed Map children that copy, archive and move each object), per poll of a wait loop (the
Salesforce load is polled every 60 s, the crawler every 30 s: how long AppFlow and Glue take, not how
much data). test_sfn_run_cost.py pins them; the README's cost section is computed from them.
"""
from __future__ import annotations

from dataclasses import dataclass

from fakes import filter_job
from harness import World
from leadbridge import Consumer, Producer, StaleObjectsCheck
from usage import MachineUsage

LEADS_PER_FILE = 500       # the stated daily volume: 10,000 leads in 20 files


@dataclass(frozen=True)
class RunMeasure:
    files: int
    handoff: MachineUsage
    orchestrations: dict[str, MachineUsage]       # consumer name -> its orchestration's usage
    appflow_runs: int                              # the Marketo pull and one Salesforce load per consumer
    job_runs: int
    crawls: int


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
    for c in consumers.values():
        [delivered] = world.delivered(c.machine.arn)
        run = c.run(delivered, timeout=timeout)
        assert run.status == "SUCCEEDED", (c.name, run)
        assert sum(world.appflow.loaded(c.account, c.flow).values()) >= files, f"{c.name}: leads not loaded"
    used = world.usage.since(before)

    orchestrations = {name: used.of(c.machine.arn) for name, c in consumers.items()}
    for name, u in orchestrations.items():
        assert u.calls("appflow", "DescribeFlowExecutionRecords") == load_polls, (name, u.requests)
        assert u.calls("glue", "GetCrawler") == crawl_polls, (name, u.requests)
    loads = len(world.appflow.started()) - loads_before
    return RunMeasure(files=files, handoff=used.of(producer.machine.arn), orchestrations=orchestrations,
                      appflow_runs=1 + loads,
                      job_runs=len(world.glue_jobs.runs) - jobs_before, crawls=len(consumers))


def measure_stale_check(world: World, check: StaleObjectsCheck) -> MachineUsage:
    """One scheduled run of a stale-object check over an empty prefix (the usual case)."""
    before = world.usage.snapshot()
    ex = check.run()
    assert ex.status == "SUCCEEDED", ex
    return world.usage.since(before).of(check.machine.arn)


@dataclass(frozen=True)
class PerRun:
    """A count of one execution (its transitions, or requests of one kind) as a function of the run:
    fixed + per_file * files (+ per_load_poll * polls + per_crawl_poll * polls for an orchestration)."""
    fixed: int
    per_file: int
    per_load_poll: int = 0
    per_crawl_poll: int = 0

    def at(self, files: int, load_polls: int = 1, crawl_polls: int = 1) -> int:
        return (self.fixed + self.per_file * files + self.per_load_poll * (load_polls - 1)
                + self.per_crawl_poll * (crawl_polls - 1))


# The pins, measured on the example app (two consumers; test_sfn_run_cost.py proves them).
# Hand-off: 11 states per run; per object 3 child states copying it to both consumers and 3 archiving
# it, plus 1 for each of those two children.
HANDOFF = PerRun(fixed=11, per_file=8)
# Orchestration: 34 states per run (with the 3 of the child moving the one curated CSV) plus that child's
# start; per object 3 child states archiving it plus its start; 5 states per extra load poll, 4 per
# extra crawler poll.
ORCHESTRATION = PerRun(fixed=35, per_file=4, per_load_poll=5, per_crawl_poll=4)
# A stale-object check over one listing page.
STALE_CHECK = 4

# Requests billed by the request, per run: the lock item is written twice per orchestration (PutItem to
# take it, DeleteItem to release it) and never read; S3 CopyObject once per object per copy.
LOCK_WRITES = 2
HANDOFF_COPIES_PER_FILE = 3        # one into each consumer's inbox, one into archive/
ORCHESTRATION_COPIES = PerRun(fixed=1, per_file=1)   # the curated CSV, and each object into archive/
