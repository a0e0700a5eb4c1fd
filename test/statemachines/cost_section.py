"""The README's cost section, computed from the pinned transitions (run_cost.py) and list prices.

    .venv/bin/python test/statemachines/cost_section.py            # print the section
    .venv/bin/python test/statemachines/cost_section.py --write    # replace it in README.md (make cost)

Every figure comes from a pin that test_sfn_run_cost.py measures on the emulated pipeline, from a figure
measured by `make bench` (`MEASURED`), or from a price below with its source. test_sfn_run_cost.py
fails when the README's section differs from what this prints.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from run_cost import (EXPRESS_BILLED_GB, HANDOFF, HANDOFF_COPIES_PER_FILE, HANDOFF_EXPRESS, LEADS_PER_FILE,
                      LOCK_WRITES, OBJECTS_AT_ONCE_IN_CHILD, OBJECTS_PER_CHILD, ORCHESTRATION, ORCHESTRATION_COPIES,
                      ORCHESTRATION_EXPRESS, S3_REQUEST_SECONDS, STALE_CHECK, StepFunctionsRun, step_functions_run)

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- cost section: make cost writes it -->", "<!-- end of cost section -->"
PRICES_READ_ON = "2026-12-01"


@dataclass(frozen=True)
class Price:
    amount: float       # USD per `per` units
    per: int
    unit: str
    source: str

    @property
    def usd(self) -> float:
        return self.amount / self.per

    def __str__(self) -> str:
        per = "" if self.per == 1 else f"{self.per:,} "
        return f"${self.amount:g} per {per}{self.unit} ({self.source})"


# List prices in USD. Step Functions is Europe (Ireland); the rest are US East (N. Virginia) figures,
# the region the stored pricing pages show. [secondary]: the AWS page's table did not render, so the
# figure is from other pages quoting it.
PRICES = {
    "transition": Price(0.025, 1000, "state transitions", "aws.amazon.com/step-functions/pricing, Europe (Ireland); 4,000 a month free"),
    "express_request": Price(1.00, 1_000_000, "Express workflow requests", "aws.amazon.com/step-functions/pricing, its Express example"),
    "express_gb_hour": Price(0.06, 1, "GB-hour of Express duration", "aws.amazon.com/step-functions/pricing, its Express example: the first 1,000 GB-hours a month; billed per 100 ms and 64 MB"),
    "dpu_hour": Price(0.44, 1, "DPU-hour", "aws.amazon.com/glue/pricing; billed per second, at least 1 minute: Glue guide, migrating-version-40"),
    "crawler_dpu_hour": Price(0.44, 1, "crawler DPU-hour", "aws.amazon.com/glue/pricing [secondary], at least 10 minutes a crawl"),
    "flow_run": Price(0.001, 1, "AppFlow flow run", "aws.amazon.com/appflow/pricing [secondary]"),
    "appflow_gb": Price(0.02, 1, "GB AppFlow processes", "aws.amazon.com/appflow/pricing [secondary; other pages differ]"),
    "write_unit": Price(0.625, 1_000_000, "DynamoDB on-demand write request units", "aws.amazon.com/dynamodb/pricing/on-demand [secondary, after the 2024-11-01 reduction]"),
    "s3_write": Price(0.005, 1000, "S3 PUT, COPY, POST or LIST requests", "aws.amazon.com/s3/pricing [secondary]"),
}
CRAWL_MINUTES, CRAWLER_DPUS = 10, 1   # billed minimum; AWS documents no DPU count for a crawl: 1 assumed

# Measured by `make bench` (glue-scripts/bench_filter_leads.py --rows 10000 --files 20 --as-job):
# the filter job from process start to exit on local[2], and the sizes of its input and output.
MEASURED = {"job_seconds": 17.1, "parquet_mb": 0.39, "csv_mb": 0.52}


@dataclass(frozen=True)
class Volume:
    """The stated daily volume the monthly figure is for."""
    leads: int = 10_000
    files: int = 20
    consumers: int = 2
    runs_per_month: int = 30
    load_polls: int = 5        # a 5-minute Salesforce load, polled every 60 s
    crawl_polls: int = 4       # a 2-minute crawl, polled every 30 s
    glue_workers: int = 2      # G.1X = 1 DPU each (the FilterJob default)
    stacks: int = 3            # producer + one per consumer, each with a stale-object check
    checks_per_day: int = 48   # every 30 minutes


def step_functions_usd(run: StepFunctionsRun) -> float:
    """What Step Functions bills for a run: its transitions, Express requests and Express duration."""
    return (run.transitions * PRICES["transition"].usd + run.express_requests * PRICES["express_request"].usd
            + run.express_gb_seconds / 3600 * PRICES["express_gb_hour"].usd)


def step_functions_table() -> list[str]:
    rows = ["| objects in the run | transitions | Express requests | Express GB-seconds (estimated) "
            "| transitions USD | Express USD | Step Functions per run |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for files in (1, 100, 10_000, 100_000):
        run = step_functions_run(files)
        transitions_usd = run.transitions * PRICES["transition"].usd
        rows.append(f"| {files:,} | {run.transitions:,} | {run.express_requests:,} | {run.express_gb_seconds:,.1f} "
                    f"| ${transitions_usd:.4f} | ${step_functions_usd(run) - transitions_usd:.4f} "
                    f"| ${step_functions_usd(run):.4f} |")
    return rows


def run_items(v: Volume) -> list[tuple[str, str, float]]:
    """(item, quantity, USD) for one daily run of the volume."""
    sfn_run = step_functions_run(v.files, v.consumers, v.load_polls, v.crawl_polls)
    billed_minutes = max(1.0, MEASURED["job_seconds"] / 60)
    dpu_minutes = v.consumers * v.glue_workers * billed_minutes
    crawler_dpu_minutes = v.consumers * CRAWLER_DPUS * CRAWL_MINUTES
    flow_runs = 1 + v.consumers
    gb = (MEASURED["parquet_mb"] + v.consumers * MEASURED["csv_mb"]) / 1000
    write_units = v.consumers * LOCK_WRITES                       # each lock item is under 1 KB
    copies = HANDOFF_COPIES_PER_FILE * v.files + v.consumers * ORCHESTRATION_COPIES.at(v.files)
    return [
        (f"Step Functions: {sfn_run.transitions:,} transitions, {sfn_run.express_requests} Express requests, "
         f"{sfn_run.express_gb_seconds:.1f} Express GB-seconds", "", step_functions_usd(sfn_run)),
        ("Glue job, DPU-minutes", f"{dpu_minutes:g}", dpu_minutes / 60 * PRICES["dpu_hour"].usd),
        ("Glue crawls, DPU-minutes", f"{crawler_dpu_minutes:g}", crawler_dpu_minutes / 60 * PRICES["crawler_dpu_hour"].usd),
        (f"AppFlow flow runs (at most {v.leads * flow_runs:,} records)", f"{flow_runs}", flow_runs * PRICES["flow_run"].usd),
        ("AppFlow data processed, GB", f"{gb:.4f}", gb * PRICES["appflow_gb"].usd),
        ("DynamoDB write request units", f"{write_units}", write_units * PRICES["write_unit"].usd),
        ("S3 CopyObject requests of the state machines", f"{copies:,}", copies * PRICES["s3_write"].usd),
    ]


def section(v: Volume = Volume()) -> str:
    items = run_items(v)
    per_run = sum(usd for _, _, usd in items)
    checks = v.stacks * v.checks_per_day * v.runs_per_month
    check_usd = checks * STALE_CHECK * PRICES["transition"].usd
    monthly = per_run * v.runs_per_month + check_usd
    lines = [
        BEGIN,
        "State transitions and Express children are counted on the emulated pipeline, not estimated. Step",
        "Functions charges every state a Standard execution runs, every retry, and one transition per child a",
        f"Distributed Map starts. Each Distributed Map here gives up to {OBJECTS_PER_CHILD} objects to one child and runs its",
        "children as Express workflows, billed per request and per 100 ms of duration at 64 MB, not per state.",
        "`test/statemachines/test_sfn_run_cost.py` pins the counts per run; `make bench` checks them again at",
        "10,000 and 100,000 objects. They grow with the children of a run (one per 100 objects and Map) and",
        "with the polls of its wait loops, not with its leads:",
        "",
        f"- **Hand-off:** {HANDOFF.fixed} transitions + {HANDOFF.per_child} per 100 objects (2 consumers); "
        f"{HANDOFF_EXPRESS.per_child} Express requests per 100 objects.",
        f"- **Each orchestration:** {ORCHESTRATION.fixed} transitions + {ORCHESTRATION.per_child} per 100 objects, "
        f"+ {ORCHESTRATION.per_load_poll} per minute the Salesforce load takes beyond the first, "
        f"+ {ORCHESTRATION.per_crawl_poll} per 30 s of crawling beyond the first; "
        f"{ORCHESTRATION_EXPRESS.fixed} Express request + {ORCHESTRATION_EXPRESS.per_child} per 100 objects.",
        f"- **Each stale-object check:** {STALE_CHECK} transitions over an empty prefix (48 a day per stack).",
        "",
        "Express duration is estimated, not measured: each object's S3 requests one after another,",
        f"{OBJECTS_AT_ONCE_IN_CHILD} objects at once in a child, {S3_REQUEST_SECONDS:g} s a request (S3 performance guidelines: a small",
        "request's median latency is tens of milliseconds), each child rounded up to 100 ms, at",
        f"{EXPRESS_BILLED_GB * 1024:.0f} MB (a test computes a child's memory with the pricing page's formula). A run with 2",
        "consumers, one poll per wait loop:",
        "",
        *step_functions_table(),
        "",
        f"**A stated volume:** {v.leads:,} leads a day in {v.files} files ({LEADS_PER_FILE} each), {v.consumers} consumers.",
        f"It assumes a {v.load_polls}-minute Salesforce load and a {v.crawl_polls // 2}-minute crawl.",
        "",
        "| per daily run | quantity | USD |",
        "| --- | ---: | ---: |",
        *[f"| {item} | {qty} | {usd:.4f} |" for item, qty, usd in items],
        f"| **per run** | | **{per_run:.4f}** |",
        f"| stale-object checks a month ({checks:,} executions) | {checks * STALE_CHECK:,} transitions | {check_usd:.4f} |",
        f"| **per month** ({v.runs_per_month} runs and the checks) | | **{monthly:.2f}** |",
        "",
        "Where the figures come from:",
        "",
        f"- **The Glue job:** a run is billed at least one minute. `make bench` times the job on {v.leads:,} leads in "
        f"{v.files} files at {MEASURED['job_seconds']:g} s, from process start to exit on 2 local cores.",
        f"- **AppFlow's data:** the same run reads {MEASURED['parquet_mb']:g} MB of Parquet and writes "
        f"{MEASURED['csv_mb']:g} MB of curated CSV per consumer.",
        "",
        "Not in the table:",
        "",
        "- the Step Functions free tier of 4,000 transitions a month per account;",
        "- storage;",
        "- the other S3 requests (listings, the run report, metric and event calls: a few per run) and the S3",
        "  requests of the job and of AppFlow;",
        "- the fixed monthly items: a KMS key per data bucket, the landing key and each inbox key ($1 a month each; S3 Bucket Keys keep the requests to KMS few), CloudWatch alarms ($0.10 per alarm metric a",
        "  month), a dashboard per stack (3 per account are free, then $3), and custom metrics ($0.30 each a month).",
        "",
        "With one Standard child per object, a run of 10,000 objects cost 160,081 transitions, about $4.00. Now",
        f"Step Functions costs ${step_functions_usd(step_functions_run(10_000)):.4f} for it, and "
        f"${step_functions_usd(step_functions_run(100_000)):.4f} for 100,000 objects. The lever left is",
        "still how many objects a run writes. The Marketo flow writes its records unaggregated",
        "(`AggregationConfig` `None`). `SingleFile` with a `targetFileSize` in MB asks AppFlow for fewer, larger",
        "files (AppFlow API reference, AggregationConfig). The filter job reads any number of files in one run.",
        "",
        f"Prices were read on {PRICES_READ_ON}, in USD. Step Functions is priced for Europe (Ireland). The other",
        "stored pricing pages show US East (N. Virginia) only. [secondary] marks a price quoted by other pages",
        "because the AWS page's table did not render:",
        "",
        *[f"- {p}" for p in PRICES.values()],
        END,
    ]
    return "\n".join(lines)


def readme_section(text: str) -> str:
    match = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, re.S)
    return match.group(0) if match else ""


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    if "--write" not in argv:
        print(section())
        return 0
    if not readme_section(text):
        print(f"README.md has no cost section between {BEGIN!r} and {END!r}", file=sys.stderr)
        return 1
    README.write_text(text.replace(readme_section(text), section()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
