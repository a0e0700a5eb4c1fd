"""The scenarios a change to the state machine definitions affects: what `make test-quick` runs here.

A whole run of test/statemachines that passes (as `make test` makes it) records in pytest's cache the
hash of every definition in cdk.out and, per test, the state machines whose states it entered (a
Distributed Map's children count for their parent). `pytest --changed-definitions` then keeps only
the tests that entered a machine whose definition changed since that record, the tests that entered no
machine (they read the templates: IAM, API model, cost section) and tests the record does not know. It
keeps every test when there is no record. A change to anything but a definition (a policy, a rule,
a bucket, the Glue script, the tests) is not looked at: that needs the whole run.
"""
from __future__ import annotations

import hashlib
import json

CACHE_KEY = "leadbridge/statemachine-scenarios"


def definition_hashes(machines) -> dict[str, str]:
    """sha256 of each machine's resolved definition, by machine label."""
    return {m.label: hashlib.sha256(json.dumps(m.definition, sort_keys=True).encode()).hexdigest()
            for m in machines}


def record(definitions: dict[str, str], by_test: dict[str, set[str]], tests: list[str]) -> dict:
    """What a whole passing run leaves for the next selection: every test it ran, with the machines
    each one entered."""
    return {"definitions": definitions, "tests": {t: sorted(by_test.get(t, ())) for t in tests}}


def changed(recorded: dict, definitions: dict[str, str]) -> set[str]:
    """Labels of the machines whose definition is new or differs from the record."""
    return {label for label, digest in definitions.items() if recorded["definitions"].get(label) != digest}


def select(recorded: dict | None, definitions: dict[str, str], tests: list[str]) -> tuple[list[str], str]:
    """(the tests to run, why): those the changed definitions affect, as the module docstring says."""
    if not recorded:
        return tests, "no record of a whole passing run yet: every scenario runs"
    changes = changed(recorded, definitions)
    known = recorded["tests"]
    keep = [t for t in tests if t not in known or not known[t] or changes & set(known[t])]
    names = ", ".join(sorted(changes)) or "none"
    return keep, f"definitions changed since the last whole run: {names}"
