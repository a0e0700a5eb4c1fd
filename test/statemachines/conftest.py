"""Fixtures and the session-wide gates of the state machine tests: state coverage and the IAM check.

Every state of every state machine in cdk.out (Map item processors included) must be entered by at
least one scenario. At the end of the session this prints `state coverage <machine>: N/M (P%)` and,
when the whole suite ran, fails the run (exit status 1) if any machine is below 100%, listing the
states no scenario entered. A partial run (-k, file::test, one file) prints the report without failing.

Every Task state of every definition is read against botocore's service models (api_model_check.py):
the session prints `API model check: N tasks, M mismatch` and fails when M > 0.
Every AWS call the executions make is checked against the synthesized policies (iam_check.py): the
session prints `IAM check: N calls, M denied` and fails when M > 0, naming each denied call; a whole run
also takes each allowed action out in turn and fails on one that no call needs and no reason explains.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

pytest.register_assert_rewrite("leadbridge", "harness")  # helpers' asserts explain themselves too

from moto import mock_aws  # noqa: E402
from moto.glue import models as glue_models

import moto_patches  # noqa: E402
from harness import COVERAGE, SynthMissing, World, load_app  # noqa: E402
from fakes import FakeAppFlow, GlueJobDouble  # noqa: E402
import affected  # noqa: E402
import api_model_check  # noqa: E402
import iam_check  # noqa: E402
from leadbridge import CONSUMER_STACKS, Consumer, Producer  # noqa: E402

HERE = Path(__file__).resolve().parent
_STATE = {"stacks": None, "load_error": None, "partial": False, "rows": None}

for noisy in ("moto", "moto.stepfunctions", "botocore", "werkzeug"):
    logging.getLogger(noisy).setLevel(logging.CRITICAL)


def _stacks():
    if _STATE["stacks"] is None and _STATE["load_error"] is None:
        try:
            _STATE["stacks"] = load_app()
        except SynthMissing as e:
            _STATE["load_error"] = str(e)
    return _STATE["stacks"]


def pytest_sessionstart(session):
    stacks = _stacks()
    for stack in (stacks or {}).values():
        for machine in stack.state_machines():
            COVERAGE.expect(machine)


def _ours(item) -> bool:
    return Path(str(item.fspath)).resolve().parent == HERE


def pytest_deselected(items):
    if any(_ours(i) for i in items):
        _STATE["partial"] = True


def pytest_addoption(parser):
    parser.addoption("--changed-definitions", action="store_true",
                     help="run only the state machine scenarios that a definition changed since the last whole "
                          "passing run affects (test/statemachines/affected.py; make test-quick)")


def _definitions() -> dict[str, str]:
    return affected.definition_hashes(m for s in _stacks().values() for m in s.state_machines())


def _recorded(config) -> dict | None:
    return config.cache.get(affected.CACHE_KEY, None) if getattr(config, "cache", None) else None


def pytest_report_header(config):
    if config.getoption("changed_definitions") and _stacks() is not None:
        return [f"--changed-definitions: {affected.select(_recorded(config), _definitions(), [])[1]}"]
    return []


def pytest_collection_modifyitems(config, items):
    if not config.getoption("changed_definitions") or _stacks() is None:
        return
    ours = [i for i in items if _ours(i)]
    keep = set(affected.select(_recorded(config), _definitions(), [i.nodeid for i in ours])[0])
    dropped = [i for i in ours if i.nodeid not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i.nodeid in keep or not _ours(i)]


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    ours = {Path(str(i.fspath)).name for i in session.items if _ours(i)}
    on_disk = {p.name for p in HERE.glob("test_*.py")}
    if ours != on_disk or any("::" in a for a in session.config.args):
        _STATE["partial"] = True
    _STATE["ran_any"] = bool(ours)
    _STATE["tests"] = [i.nodeid for i in session.items if _ours(i)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Which machines each test enters, for the record of affected.py."""
    COVERAGE.current_test = item.nodeid if _ours(item) else None
    try:
        return (yield)
    finally:
        COVERAGE.current_test = None


@pytest.fixture(scope="session")
def stacks():
    s = _stacks()
    if s is None:
        pytest.fail(_STATE["load_error"], pytrace=False)
    return s


@pytest.fixture
def aws(stacks, monkeypatch):
    """A fresh emulated AWS (all accounts) with the moto gap patches and the service doubles."""
    for var, val in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(var, val)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        world = World(stacks, calls=iam_check.RECORDER)
        world.appflow = FakeAppFlow(world)
        world.glue_jobs = GlueJobDouble(world)
        world.glue_jobs.install(monkeypatch, glue_models)
        moto_patches.SLEEPS["retry"].clear()
        moto_patches.SLEEPS["wait"].clear()
        moto_patches.MAP_RESULTS.clear()
        moto_patches.apply_all(monkeypatch, sdk_stubs={"appflow": world.appflow.handle},
                               on_state_entered=world.on_state_entered, on_wait=world.on_wait,
                               on_retry=world.on_retry, on_children_started=world.on_children_started,
                               on_sdk_call=world.on_sdk_call)
        yield world
        # stop executions a test left running (e.g. one parked in a wait loop) before mock_aws exits
        world.stop_running_executions()
        world.glue_jobs.reset()


@pytest.fixture
def pipeline(aws):
    """The producer and every consumer deployed, with an observer of each consumer's hand-off bus."""
    producer = Producer.deploy(aws)
    consumers = {name: Consumer.deploy(aws, name) for name in CONSUMER_STACKS}
    observers = {name: aws.observe_bus(c.account, c.bus) for name, c in consumers.items()}
    return producer, consumers, observers


# With pytest-xdist each worker process runs some scenarios on an emulation of its own; the gates need
# every worker's states and calls, so a worker hands them over and the controller judges them all.
WORKER_OUTPUT = "leadbridge_statemachines"


def _worker(config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """On the pytest-xdist controller: a worker finished; take over what its scenarios saw."""
    data = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if not data:
        return
    data = json.loads(data)
    _STATE["ran_any"] = _STATE.get("ran_any", False) or data["ran_any"]
    _STATE["partial"] = _STATE["partial"] or data["partial"]
    _STATE["tests"] = list(dict.fromkeys(_STATE.get("tests", []) + data["tests"]))
    COVERAGE.merge(data["coverage"])
    iam_check.RECORDER.merge(data["recorded"])


def pytest_sessionfinish(session, exitstatus):
    if _worker(session.config):
        session.config.workeroutput[WORKER_OUTPUT] = json.dumps({
            "ran_any": _STATE.get("ran_any", False), "partial": _STATE["partial"], "tests": _STATE.get("tests", []),
            "coverage": COVERAGE.export(), "recorded": iam_check.RECORDER.export()})
        return
    if not _STATE.get("ran_any"):
        return
    rows = COVERAGE.report()
    _STATE["rows"] = rows
    below = [r for r in rows if r[1] < r[2]]
    if below and not _STATE["partial"] and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    iam = iam_check.check(iam_check.RECORDER.calls, iam_check.load_policies(_stacks()),
                          ablate=not _STATE["partial"])
    _STATE["iam"] = iam
    started = time.monotonic()
    _STATE["api"] = api_model_check.check_machines(m for s in _stacks().values() for m in s.state_machines())
    _STATE["api_seconds"] = time.monotonic() - started
    if (iam.failed() or _STATE["api"][1]) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not _STATE["partial"] and session.exitstatus == 0 and getattr(session.config, "cache", None):
        session.config.cache.set(affected.CACHE_KEY,
                                 affected.record(_definitions(), COVERAGE.by_test, _STATE.get("tests", [])))


def pytest_terminal_summary(terminalreporter):
    rows = _STATE.get("rows")
    if not rows:
        return
    tr = terminalreporter
    iam = _STATE["iam"]
    tr.section("IAM check (synthesized policies, @cloud-copilot/iam-simulate)")
    for line in iam.lines(partial=_STATE["partial"]):
        tr.write_line(line, red=line.startswith(("    denied", "    unused", "FAILED")))
    total, mismatches = _STATE["api"]
    tr.section("API model check (botocore service models)")
    tr.write_line(f"API model check: {total} tasks, {len(mismatches)} mismatch (checked in {_STATE['api_seconds']:.1f} s)")
    for m in mismatches:
        tr.write_line(f"    mismatch: {m}", red=True)
    tr.section("Step Functions state coverage")
    for label, hit, total, missed in rows:
        tr.write_line(f"state coverage {label}: {hit}/{total} ({100.0 * hit / total:.0f}%)")
        for path in missed:
            tr.write_line(f"    never entered: {path}")
    if any(r[1] < r[2] for r in rows):
        if _STATE["partial"]:
            tr.write_line("(partial run: coverage below 100% is reported, not enforced)")
        else:
            tr.write_line("FAILED: every state of every state machine must be entered by some scenario", red=True)
