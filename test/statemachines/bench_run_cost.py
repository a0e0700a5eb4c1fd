"""Benchmark, not a test (`make bench`): the pinned transitions hold at 10,000 objects per run.

test_sfn_run_cost.py pins transitions per run at 1 and 100 objects. This runs the whole pipeline
(hand-off, then both consumers' orchestrations) at 1, 100 and 10,000 objects on the emulation, checks
that each run made exactly the pinned transitions, and prints them with the time each run took.
It takes several minutes: every object is a Distributed Map child in three Maps.
"""
from __future__ import annotations

import time

import pytest

from run_cost import HANDOFF, ORCHESTRATION, measure_run


@pytest.mark.parametrize("files", [1, 100, 10_000])
def test_transitions_at_scale(pipeline, files):
    producer, consumers, _ = pipeline
    started = time.monotonic()

    m = measure_run(producer.world, producer, consumers, f"run-{files}", files, timeout=3600)

    orchestrations = [u.transitions for u in m.orchestrations.values()]
    print(f"\n{files:>6,} objects: hand-off {m.handoff.transitions:,} transitions "
          f"(pinned {HANDOFF.at(files):,}), each orchestration {orchestrations} "
          f"(pinned {ORCHESTRATION.at(files):,}); emulated in {time.monotonic() - started:.0f}s")
    assert m.handoff.transitions == HANDOFF.at(files)
    assert set(orchestrations) == {ORCHESTRATION.at(files)}
