"""What the emulated executions use, in the units AWS bills them by.

Step Functions bills a Standard workflow per state transition. It "counts a state transition each time
a step of your workflow is executed", "including retries" (AWS Step Functions pricing page). A Distributed
Map is charged "one state transition for each child workflow execution that the Distributed Map state
starts" (Step Functions guide, concepts-transitions). Both pages were read on 2026-12-01.

Express workflows are billed otherwise: "a request each time it starts executing a workflow" and its
duration, "rounded up to the nearest 100ms", times the memory it uses, "billed in 64-MB chunks" (pricing
page, Express Workflows). The Distributed Maps here run Express children (s3steps), so the states, retries
and requests inside a child are no transitions: they take time, which run_cost.py prices.

So the transitions of an execution here are:
- each state the interpreter evaluates in the parent (or in a Standard child);
- each retry the interpreter makes there;
- one for each child a Map Run starts, Standard or Express.
And its Express usage is: one request per Express child, and the states, retries and AWS requests made
inside Express children (their duration).

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
    states: Counter = field(default_factory=Counter)      # state machine ARN -> states evaluated (billed)
    retries: Counter = field(default_factory=Counter)     # state machine ARN -> retries (billed)
    children: Counter = field(default_factory=Counter)    # state machine ARN -> Distributed Map children started
    requests: Counter = field(default_factory=Counter)    # (state machine ARN, service, operation) -> calls
    express_children: Counter = field(default_factory=Counter)  # state machine ARN -> of those, Express ones
    express_states: Counter = field(default_factory=Counter)    # state machine ARN -> states in Express children
    express_calls: Counter = field(default_factory=Counter)     # state machine ARN -> AWS calls from Express children
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    _COUNTERS = ("states", "retries", "children", "requests", "express_children", "express_states", "express_calls")

    # -- fed by the interpreter's threads ----------------------------------------------------------
    def state_entered(self, machine_arn: str, express: bool = False) -> None:
        with self._lock:
            (self.express_states if express else self.states)[machine_arn] += 1

    def retried(self, machine_arn: str, express: bool = False) -> None:
        with self._lock:
            (self.express_states if express else self.retries)[machine_arn] += 1

    def children_started(self, machine_arn: str, count: int, express: bool = False) -> None:
        with self._lock:
            self.children[machine_arn] += count
            if express:
                self.express_children[machine_arn] += count

    def called(self, machine_arn: str, service: str, operation: str, express: bool = False) -> None:
        with self._lock:
            self.requests[(machine_arn, service, operation)] += 1
            if express:
                self.express_calls[machine_arn] += 1

    # -- read by tests -----------------------------------------------------------------------------
    def snapshot(self) -> "Usage":
        with self._lock:
            return Usage(*(Counter(getattr(self, name)) for name in self._COUNTERS))

    def since(self, before: "Usage") -> "Usage":
        now = self.snapshot()
        return Usage(*(getattr(now, name) - getattr(before, name) for name in self._COUNTERS))

    def of(self, machine_arn: str) -> "MachineUsage":
        """One state machine's share."""
        return MachineUsage(
            states=self.states[machine_arn], retries=self.retries[machine_arn], children=self.children[machine_arn],
            requests=Counter({(s, op): n for (m, s, op), n in self.requests.items() if m == machine_arn}),
            express_children=self.express_children[machine_arn], express_states=self.express_states[machine_arn],
            express_calls=self.express_calls[machine_arn])


@dataclass(frozen=True)
class MachineUsage:
    states: int
    retries: int
    children: int
    requests: Counter
    express_children: int = 0
    express_states: int = 0   # states and retries inside Express children
    express_calls: int = 0    # AWS calls made inside Express children

    @property
    def transitions(self) -> int:
        """Billed state transitions (see the module doc)."""
        return self.states + self.retries + self.children

    def calls(self, service: str, *operations: str) -> int:
        return sum(n for (s, op), n in self.requests.items() if s == service and (not operations or op in operations))
