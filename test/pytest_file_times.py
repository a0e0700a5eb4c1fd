"""pytest plugin of `make test`: the seconds each test file took, so that the next slowdown shows.

Loaded with `-p pytest_file_times` (the Makefile puts test/ on PYTHONPATH). Under pytest-xdist the
controller receives every worker's reports, so the table covers every file. A file's seconds are the
sum of its tests' setup, call and teardown, a module or session fixture counting where it is first set
up (the SparkSession in the first Spark test); on several workers they add up to more than the wall
time. The session-end checks of test/statemachines print their own seconds (IAM and API model check).
"""
from __future__ import annotations

from collections import defaultdict

SECONDS: dict[str, float] = defaultdict(float)
TESTS: dict[str, int] = defaultdict(int)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    SECONDS[path] += report.duration
    if report.when == "call":
        TESTS[path] += 1


def pytest_terminal_summary(terminalreporter):
    if not SECONDS:
        return
    tr = terminalreporter
    tr.section("seconds per test file (setup + call + teardown, summed over workers)")
    for path, seconds in sorted(SECONDS.items(), key=lambda item: -item[1]):
        tr.write_line(f"{seconds:8.1f} s {TESTS[path]:5d} tests  {path}")
    tr.write_line(f"{sum(SECONDS.values()):8.1f} s {sum(TESTS.values()):5d} tests  in all")
