"""Benchmark, not a test (`make bench`): a whole run at 1, 100, 10,000 and 100,000 objects.

test_sfn_run_cost.py pins transitions and Express usage per run at 1, 100 and 101 objects. This runs
the whole pipeline (hand-off, then both consumers' orchestrations) at up to 100,000 objects on the
emulation and checks, for each size, that:
- every execution made exactly the pinned transitions, Express children and requests in them;
- the counts balance: the hand-off copied every object and skipped none, each consumer archived every
  object and loaded every lead (the filter job double keeps them all);
- state stays bounded: the largest state payload and Map result of any execution, and the events in
  each parent's history, are printed beside the 256 KiB payload and 25,000-event history quotas.
The 100,000-object run takes hours on two shared cores (each object is a few emulated S3 requests in
each Map): run it in the background (README, Testing). The IAM check is off here (it records every
call); the scenarios in test_sfn_* hold it.
"""
from __future__ import annotations

import time

import pytest

import moto_patches
from run_cost import (HANDOFF, HANDOFF_EXPRESS, HANDOFF_EXPRESS_CALLS, ORCHESTRATION,
                      ORCHESTRATION_EXPRESS, ORCHESTRATION_EXPRESS_CALLS, measure_run)

PAYLOAD_QUOTA = 256 * 1024        # bytes of a state's input or output (Step Functions guide, quotas)
HISTORY_QUOTA = 25_000            # events in a Standard execution's history


def largest_payload(ex) -> int:
    """Bytes of the largest state input or output in an execution's history."""
    return max(len(v) for e in ex.history for k, d in e.items() if k.endswith("EventDetails") and isinstance(d, dict)
               for f, v in d.items() if f in ("input", "output") and isinstance(v, str))


@pytest.mark.parametrize("files", [1, 100, 10_000, 100_000])
def test_run_at_scale(pipeline, files):
    producer, consumers, _ = pipeline
    world = producer.world
    world.calls = None
    moto_patches.MAP_RESULTS.clear()
    started = time.monotonic()

    m = measure_run(world, producer, consumers, f"run-{files}", files, timeout=6 * 3600)

    executions = [m.handoff_execution, *m.executions.values()]
    payload = max(largest_payload(ex) for ex in executions)
    map_result = max(size for _, _, size in moto_patches.MAP_RESULTS)
    history = max(len(ex.history) for ex in executions)
    print(f"\n{files:>7,} objects in {time.monotonic() - started:,.0f}s: hand-off {m.handoff.transitions:,} "
          f"transitions, {m.handoff.express_children:,} Express children ({m.handoff.express_calls:,} requests in "
          f"them); each orchestration {sorted({u.transitions for u in m.orchestrations.values()})} transitions, "
          f"{sorted({u.express_children for u in m.orchestrations.values()})} Express children; largest payload "
          f"{payload:,} B and Map result {map_result:,} B (quota {PAYLOAD_QUOTA:,}), longest parent history "
          f"{history} events (quota {HISTORY_QUOTA:,}); copied {m.copied:,}, skipped {m.skipped:,}, "
          f"archived by each consumer {sorted(set(m.archived.values()))}, loaded {sorted(set(m.loaded.values()))}")
    assert (m.handoff.transitions, m.handoff.express_children, m.handoff.express_calls) == (
        HANDOFF.at(files), HANDOFF_EXPRESS.at(files), HANDOFF_EXPRESS_CALLS.at(files))
    for used in m.orchestrations.values():
        assert (used.transitions, used.express_children, used.express_calls) == (
            ORCHESTRATION.at(files), ORCHESTRATION_EXPRESS.at(files), ORCHESTRATION_EXPRESS_CALLS.at(files))
    assert (m.copied, m.skipped) == (files, 0)
    assert set(m.archived.values()) == {files}
    assert all(n >= files for n in m.loaded.values())
    assert payload < PAYLOAD_QUOTA and map_result < PAYLOAD_QUOTA and history < HISTORY_QUOTA
