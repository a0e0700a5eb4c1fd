"""What the emulated executions use, in the units AWS bills them by.

Step Functions bills a Standard workflow per state transition. It "counts a state transition each time
a step of your workflow is executed", "including retries" (AWS Step Functions pricing page). A Distributed
Map is charged "one state transition for each child workflow execution that the Distributed Map state
starts" (Step Functions guide, concepts-transitions). Its children here are Standard workflows
(`ProcessorConfig.ExecutionType` STANDARD), so their steps count as well: pricing charges transitions
"across all your state machines". Both pages were read on 2026-12-01.

So the transitions of an execution here are:
- each state the interpreter evaluates, in the parent or in a child;
- each retry the interpreter makes;
- one for each child a Map Run starts.

Requests are counted as each AWS call a Task state or a Map Run makes, by service and operation.

`World.usage` is fed by the interpreter hooks (moto_patches.apply_all). `Usage.since(before)` is what
happened between two snapshots, attributed to the (parent) state machine that did it.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Usage:
    states: Counter = field(default_factory=Counter)      # state machine ARN -> states evaluated
    retries: Counter = field(default_factory=Counter)     # state machine ARN -> retries
    children: Counter = field(default_factory=Counter)    # state machine ARN -> Distributed Map children started
    requests: Counter = field(default_factory=Counter)    # (state machine ARN, service, operation) -> calls
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- fed by the interpreter's threads ----------------------------------------------------------
    def state_entered(self, machine_arn: str) -> None:
        with self._lock:
            self.states[machine_arn] += 1

    def retried(self, machine_arn: str) -> None:
        with self._lock:
            self.retries[machine_arn] += 1

    def children_started(self, machine_arn: str, count: int) -> None:
        with self._lock:
            self.children[machine_arn] += count

    def called(self, machine_arn: str, service: str, operation: str) -> None:
        with self._lock:
            self.requests[(machine_arn, service, operation)] += 1

    # -- read by tests -----------------------------------------------------------------------------
    def snapshot(self) -> "Usage":
        with self._lock:
            return Usage(Counter(self.states), Counter(self.retries), Counter(self.children), Counter(self.requests))

    def since(self, before: "Usage") -> "Usage":
        now = self.snapshot()
        return Usage(now.states - before.states, now.retries - before.retries,
                     now.children - before.children, now.requests - before.requests)

    def of(self, machine_arn: str) -> "MachineUsage":
        """One state machine's share."""
        return MachineUsage(
            states=self.states[machine_arn], retries=self.retries[machine_arn], children=self.children[machine_arn],
            requests=Counter({(s, op): n for (m, s, op), n in self.requests.items() if m == machine_arn}))


@dataclass(frozen=True)
class MachineUsage:
    states: int
    retries: int
    children: int
    requests: Counter

    @property
    def transitions(self) -> int:
        """Billed state transitions (see the module doc)."""
        return self.states + self.retries + self.children

    def calls(self, service: str, *operations: str) -> int:
        return sum(n for (s, op), n in self.requests.items() if s == service and (not operations or op in operations))
