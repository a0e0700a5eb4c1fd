"""Benchmark filter_leads against Spark's own floor on synthetic Marketo leads. Not a test.

    .venv/bin/python glue-scripts/bench_filter_leads.py [--rows N] [--files F] [--rounds R]
        [--cores C] [--driver-memory M] [--data-dir DIR] [--keep-data] [--as-job]
        [--reference SCRIPT]

Generates the leads with Spark itself (spark.range + hashes, so the same data every time) as
F Parquet files under DIR/input, reusing them when DIR holds a marker from the same generator.
Then, in one Spark session (local[C]), it times R rounds of two things, alternating which goes
first so that neither always runs on a colder JVM:

  floor  what any job on this input must do: read it, write it once as CSV and once as Parquet,
         nothing else;
  job    the job's own run() with the arguments the orchestration passes (read, dedupe, label,
         count, write curated CSV + Parquet, rejected, retry and quarantine, the report).

It prints each timing with rows per second per core and the job/floor ratio, then, from Spark's
event log, the peak memory of each (JVM heap, Spark's execution + storage memory, resident set;
in local mode driver and executor are one JVM) and where the job's time goes per step of run()
(filter_leads.step). The load average is printed with the figures: on a shared machine, compare
ratios, not seconds.
With --as-job it also times the job as Glue starts it: a new process running filter_leads.py
with the same arguments (Python, JVM and Spark start included), the figure the README's cost
section turns into DPU-minutes.
With --reference SCRIPT (another version of filter_leads.py, e.g. from
`git show main:glue-scripts/filter_leads.py`) it times that version's run() too, in the same
rounds, and then compares every output of the two runs: the report, the curated CSV line by
line, each Parquet output row by row. It exits 1 when one differs: the proof that a change
made the job faster without changing what it writes (`make bench-filter-compare`).
The data folder is deleted at the end unless --keep-data (10 M leads take about 2 GB).
"""

import argparse
import glob
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import filter_leads as fl  # noqa: E402

# The --lead_rules of the default configuration (kept equal to the Go defaults by a Go test).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "testdata",
                       "default_lead_rules.json"), encoding="utf-8") as _rules:
    DEFAULT_LEAD_RULES = _rules.read().strip()

GENERATOR_VERSION = 3
MARKER = "_BENCH_MARKER"

TRUE_ENCODINGS = ["true", "TRUE", " 1", "Yes"]
FALSE_ENCODINGS = ["false", "False ", "0", "no"]


def generate(spark, rows, files, folder):
    """Deterministic leads: ~5% older duplicates, ~10% DNC true, ~2% null flag, mixed encodings,
    and rows for each field rule: ~1% invalid e-mails, ~0.5% first names and ~0.5% companies
    too long (accented letters, emoji cut on a surrogate pair), ~0.1% upsert keys too long.

    Row n is lead n, except every 20th row, which repeats lead n-1 with an older updatedAt.
    The flag is a string column (one Parquet file has one type), so encodings can mix.
    """
    n = F.col("id")
    is_dup = (n % 20) == 0
    lead_id = F.when(is_dup, n - 1).otherwise(n)
    bucket = lambda salt: F.pmod(F.xxhash64(n, F.lit(salt)), F.lit(1000))  # noqa: E731
    flag_bucket, name_bucket, company_bucket = bucket(1), bucket(2), bucket(3)
    email_bucket, first_bucket = bucket(4), bucket(5)
    encoding = (n % 4).cast("int")

    base = F.lit("2024-01-01 00:00:00").cast("timestamp")
    seconds = (lead_id * 7919) % (180 * 86400) - F.when(is_dup, 86400 * (1 + n % 30)).otherwise(0)
    updated = F.timestamp_seconds(F.unix_timestamp(base) + seconds)

    flag = (
        F.when(flag_bucket < 100, F.element_at(F.array(*map(F.lit, TRUE_ENCODINGS)), encoding + 1))
        .when(flag_bucket < 120, F.lit(None))
        .when(flag_bucket < 121, F.lit("maybe"))
        .otherwise(F.element_at(F.array(*map(F.lit, FALSE_ENCODINGS)), encoding + 1))
    )
    last_name = (
        F.when(name_bucket < 3, F.lit(None))
        .when(name_bucket < 5, F.lit("  "))
        .otherwise(F.concat(F.lit("Last"), lead_id.cast("string")))
    )
    company = (
        F.when(company_bucket < 3, F.lit(None))
        .when(company_bucket < 8, F.concat(F.lit("Company "), F.repeat(F.lit("\U0001F600"), 130)))
        .otherwise(F.concat(F.lit("Company "), (lead_id % 5000).cast("string")))
    )
    first_name = F.when(first_bucket < 5, F.concat(F.lit("Zoë"), F.repeat(F.lit("é"), 40))).otherwise(
        F.concat(F.lit("First"), (lead_id % 997).cast("string")))
    email = F.concat(F.lit("lead"), lead_id.cast("string"),
                     F.when(email_bucket < 10, F.lit("@example")).otherwise(F.lit("@example.com")))
    key = F.when(lead_id % 1000 == 7, F.concat(F.repeat(F.lit("9"), 80), lead_id.cast("string"))).otherwise(
        lead_id.cast("string"))

    leads = spark.range(1, rows + 1, 1, numPartitions=files).select(
        key.alias("id"),
        email.alias("email"),
        first_name.alias("firstName"),
        last_name.alias("lastName"),
        company.alias("company"),
        F.date_format(base, "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("createdAt"),
        F.date_format(updated, "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("updatedAt"),
        flag.alias("doNotCall"),
        F.lit(None).cast("string").alias("doNotCallReason"),
    )
    leads.write.mode("overwrite").parquet(folder)


def count_shuffles(df):
    """Exchange nodes (shuffles) in the physical plan; ReusedExchange does not shuffle again."""
    plan = df._jdf.queryExecution().executedPlan().toString()
    return len(re.findall(r"\bExchange\b", plan))


def floor(spark, input_dir, out):
    """Spark's floor on this input: read it, write it as CSV, read it, write it as Parquet."""
    spark.sparkContext.setJobDescription("floor: read, write CSV")
    spark.read.parquet(input_dir).write.mode("overwrite").option("header", "true").csv(
        os.path.join(out, "floor_csv"))
    spark.sparkContext.setJobDescription("floor: read, write Parquet")
    spark.read.parquet(input_dir).write.mode("overwrite").parquet(os.path.join(out, "floor_parquet"))
    spark.sparkContext.setJobDescription(None)


class EventLog:
    """What Spark's event log (JSON lines) says about each stage: the job description it ran
    under (filter_leads.step), when it started, executor CPU and GC time, tasks, shuffle and
    spill bytes, and the peak memory its executors reported (spark.eventLog.logStageExecutorMetrics;
    in local mode the only executor is the driver JVM)."""

    def __init__(self, path):
        description_of_stage, self.jobs, self.stages, peaks = {}, [], [], {}
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                event = json.loads(line)
                kind = event["Event"]
                if kind == "SparkListenerJobStart":
                    description = (event.get("Properties") or {}).get("spark.job.description") or "other"
                    description_of_stage.update(dict.fromkeys(event["Stage IDs"], description))
                    self.jobs.append({"id": event["Job ID"], "description": description,
                                      "start": event["Submission Time"] / 1000})
                elif kind == "SparkListenerJobEnd":
                    job = next(job for job in self.jobs if job["id"] == event["Job ID"])
                    job["end"] = event["Completion Time"] / 1000
                elif kind == "SparkListenerStageExecutorMetrics":
                    stage_peaks = peaks.setdefault(event["Stage ID"], {})
                    for name, value in event["Executor Metrics"].items():
                        stage_peaks[name] = max(stage_peaks.get(name, 0), value)
                elif kind == "SparkListenerStageCompleted":
                    info = event["Stage Info"]
                    metrics = {a["Name"]: a.get("Value") or 0 for a in info.get("Accumulables", [])}
                    self.stages.append({
                        "id": info["Stage ID"], "start": info["Submission Time"] / 1000,
                        "description": description_of_stage.get(info["Stage ID"], "other"),
                        "cpu": metrics.get("internal.metrics.executorCpuTime", 0) / 1e9,
                        "gc": metrics.get("internal.metrics.jvmGCTime", 0) / 1e3,
                        "tasks": info["Number of Tasks"],
                        "shuffle": metrics.get("internal.metrics.shuffle.write.bytesWritten", 0),
                        "spill": metrics.get("internal.metrics.diskBytesSpilled", 0),
                    })
        for stage in self.stages:
            stage["peaks"] = peaks.get(stage["id"], {})

    def within(self, window):
        start, end = window
        return [stage for stage in self.stages if start <= stage["start"] <= end]

    def peak_mib(self, window, *names):
        """The largest sum of the named executor metrics any stage in `window` reported, in MiB."""
        return max((sum(stage["peaks"].get(name, 0) for name in names) for stage in self.within(window)),
                   default=0) / 2**20

    def print_profile(self, window):
        """Where the time went in `window`: wall seconds of the Spark jobs and their executor
        CPU per job description; the rest is the driver (planning, listing files, Python)."""
        start, end = window
        walls = {}
        for job in self.jobs:
            if start <= job["start"] <= end and "end" in job:
                walls[job["description"]] = walls.get(job["description"], 0.0) + job["end"] - job["start"]
        print(f"  {'step':42} {'wall s':>7} {'cpu s':>7} {'gc s':>6} {'tasks':>6} "
              f"{'shuffle MiB':>11} {'spill MiB':>9}")
        for description, wall in walls.items():
            stages = [stage for stage in self.within(window) if stage["description"] == description]
            total = {key: sum(stage[key] for stage in stages) for key in ("cpu", "gc", "tasks", "shuffle", "spill")}
            print(f"  {description:42} {wall:7.1f} {total['cpu']:7.1f} {total['gc']:6.1f} {total['tasks']:6} "
                  f"{total['shuffle'] / 2**20:11.1f} {total['spill'] / 2**20:9.1f}")
        print(f"  {'driver, outside Spark jobs':42} {end - start - sum(walls.values()):7.1f}")


def load_average():
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def load_job(path):
    """filter_leads.py from `path` (e.g. an earlier version, `git show REV:glue-scripts/filter_leads.py`)
    as a module of its own."""
    spec = importlib.util.spec_from_file_location("filter_leads_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def job_argv(input_dir, out):
    """The arguments the orchestration passes (retry and quarantine included; no refusals pending)."""
    return [
        "--run_id", "bench",
        "--input_path", input_dir,
        "--curated_csv_path", os.path.join(out, "curated_csv"),
        "--curated_parquet_path", os.path.join(out, "curated_parquet"),
        "--rejected_path", os.path.join(out, "rejected"),
        "--retry_path", os.path.join(out, "retry"),
        "--quarantine_path", os.path.join(out, "quarantine"),
        "--report_path", os.path.join(out, "report.json"),
        "--lead_rules", DEFAULT_LEAD_RULES,
    ]


@contextmanager
def job_conf(spark, job):
    """The job's own SPARK_CONF (main() starts its session with it), set for one run of it."""
    conf = getattr(job, "SPARK_CONF", {})
    before = {key: spark.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


# Every output the job writes, under its output folder, and how to read it for a comparison.
PARQUET_OUTPUTS = ["curated_parquet/run_id=bench", "rejected/run_id=bench", "retry/run_id=bench",
                   "quarantine/run_id=bench"]


def differences(spark, out, reference_out):
    """What differs between the outputs of two runs on the same input: the report, the curated
    CSV line by line (as AppFlow reads the bytes; one header per file), each Parquet output row
    by row with its schema. Rows are compared as multisets: which file or which position a row
    lands in may differ, and so may the number of files (the tests check each file's bounds)."""
    found = []
    with open(os.path.join(out, "report.json")) as mine, open(os.path.join(reference_out, "report.json")) as theirs:
        report, reference_report = json.load(mine), json.load(theirs)
    if report != reference_report:
        found.append(f"report: {report} != {reference_report}")

    def compare(name, frame, reference_frame):
        if frame.schema != reference_frame.schema:
            found.append(f"{name}: schema {frame.schema.simpleString()} != {reference_frame.schema.simpleString()}")
            return
        extra, missing = frame.exceptAll(reference_frame).count(), reference_frame.exceptAll(frame).count()
        if extra or missing:
            found.append(f"{name}: {extra} rows only in this run, {missing} only in the reference")

    header = ",".join(fl.CURATED_COLUMNS)

    def csv_lines(folder):
        """The data lines of the curated CSV; every file must start with the header."""
        files = sorted(glob.glob(os.path.join(folder, "curated_csv", "part-*")))
        for path in files:
            with open(path, encoding="utf-8") as handle:
                if handle.readline().rstrip("\n") != header:
                    found.append(f"{path}: the first line is not the header")
        return spark.read.text(files).filter(F.col("value") != header)

    compare("curated CSV lines", csv_lines(out), csv_lines(reference_out))
    for name in PARQUET_OUTPUTS:
        compare(name, spark.read.parquet(os.path.join(out, name)),
                spark.read.parquet(os.path.join(reference_out, name)))
    return found


def file_counts(out):
    return ", ".join(f"{name.split('/')[0]} {len(glob.glob(os.path.join(out, name, 'part-*')))}"
                     for name in ["curated_csv"] + PARQUET_OUTPUTS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="default: <tmp>/filter_leads_bench_<rows>")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8, help="Parquet files the leads arrive in")
    parser.add_argument("--rounds", type=int, default=2, help="floor and job, timed R times each")
    parser.add_argument("--cores", type=int, default=2, help="local[C]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--as-job", action="store_true", help="also time filter_leads.py in a new process")
    parser.add_argument("--reference", metavar="SCRIPT",
                        help="another filter_leads.py (an earlier version): timed beside the job, and "
                             "every output of the two compared; exits 1 when one differs")
    parser.add_argument("--keep-data", action="store_true", help="keep the data folder (default: delete it)")
    options = parser.parse_args()

    data_dir = os.path.abspath(
        options.data_dir or os.path.join(tempfile.gettempdir(), f"filter_leads_bench_{options.rows}"))
    event_dir = os.path.join(data_dir, "events")
    shutil.rmtree(event_dir, ignore_errors=True)
    os.makedirs(event_dir)
    spark = (
        SparkSession.builder.master(f"local[{options.cores}]")
        .appName("filter_leads-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", options.driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", event_dir)
        .config("spark.eventLog.logStageExecutorMetrics", "true")
        .config("spark.executor.processTreeMetrics.enabled", "true")
        .config("spark.executor.metrics.pollingInterval", "100ms")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    input_dir = os.path.join(data_dir, "input")
    marker = os.path.join(data_dir, MARKER)
    wanted = f"version={GENERATOR_VERSION} rows={options.rows} files={options.files}\n"
    generated = "reused"
    if not os.path.exists(marker) or open(marker).read() != wanted:
        started = time.perf_counter()
        generate(spark, options.rows, options.files, input_dir)
        os.makedirs(data_dir, exist_ok=True)
        with open(marker, "w") as handle:
            handle.write(wanted)
        generated = f"generated in {time.perf_counter() - started:.1f}s"

    out = os.path.join(data_dir, "out")
    argv = job_argv(input_dir, out)
    args = fl.parse_args(argv)
    labeled = fl.label_leads(fl.read_leads(spark, input_dir), args["lead_rules"],
                             partitions=fl.shuffle_partitions(options.rows, options.cores))
    curated_shuffles = count_shuffles(fl.split_labeled(labeled)[0])
    print(f"bench filter_leads: {options.rows:,} leads in {options.files} files, input {generated} "
          f"({data_dir}); local[{options.cores}], driver memory {options.driver_memory}; "
          f"shuffles (Exchange) in the curated output's plan: {curated_shuffles}", flush=True)

    def timed(name, action):
        load = load_average()
        started = time.time()
        action()
        seconds = time.time() - started
        print(f"  {name:9} {seconds:7.1f}s {options.rows / seconds / options.cores:10,.0f} rows/s/core"
              f"   (load average before: {load})", flush=True)
        return seconds, (started, started + seconds)

    def run_job(job, job_args):
        with job_conf(spark, job):
            job.run(spark, job_args)

    actions = {"floor": lambda: floor(spark, input_dir, out), "job": lambda: run_job(fl, args)}
    if options.reference:
        reference = load_job(options.reference)
        reference_out = os.path.join(data_dir, "reference_out")
        reference_args = reference.parse_args(job_argv(input_dir, reference_out))
        actions["reference"] = lambda: run_job(reference, reference_args)
    runs = {name: [] for name in actions}
    for round_number in range(options.rounds):
        print(f" round {round_number + 1}", flush=True)
        names = list(actions)
        order = names[round_number % len(names):] + names[:round_number % len(names)]
        for name in order:
            runs[name].append(timed(name, actions[name]))
        print("  " + "; ".join(f"{name} / floor = {runs[name][-1][0] / runs['floor'][-1][0]:.2f}"
                               for name in names if name != "floor"), flush=True)

    found = differences(spark, out, reference_out) if options.reference else []
    app_id = spark.sparkContext.applicationId
    spark.stop()

    (path,) = glob.glob(os.path.join(event_dir, f"{app_id}*"))
    events = EventLog(path)
    medians = {name: statistics.median(seconds for seconds, _ in timings) for name, timings in runs.items()}

    def describe(name):
        windows = [window for _, window in runs[name]]

        def peak(*metrics):
            return max(events.peak_mib(window, *metrics) for window in windows)

        return (f"{name} {medians[name]:.1f}s ({options.rows / medians[name] / options.cores:,.0f} "
                f"rows/s/core; peak JVM heap {peak('JVMHeapMemory'):,.0f} MiB, Spark execution+storage "
                f"{peak('OnHeapExecutionMemory', 'OnHeapStorageMemory'):,.0f} MiB, "
                f"RSS {peak('ProcessTreeJVMRSSMemory'):,.0f} MiB)")

    print(f"bench filter_leads summary, {options.rows:,} leads, median of {options.rounds}: "
          + "; ".join(describe(name) for name in runs)
          + "; " + "; ".join(f"{name} / floor = {medians[name] / medians['floor']:.2f}"
                             for name in runs if name != "floor")
          + f"; load average now {load_average()}")
    for name in runs:
        if name != "floor":
            print(f"where the {name}'s time went, last round:")
            events.print_profile(runs[name][-1][1])
    if options.reference:
        print(f"files written: job {file_counts(out)}; reference {file_counts(reference_out)}")
        print("outputs compared with the reference (report, curated CSV lines, Parquet rows): "
              + ("identical" if not found else "DIFFERENT\n  " + "\n  ".join(found)), flush=True)

    if options.as_job:
        started = time.perf_counter()
        subprocess.run([sys.executable, fl.__file__, *argv], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYSPARK_SUBMIT_ARGS": f"--master local[{options.cores}] --conf spark.ui.showConsoleProgress=false pyspark-shell"})
        print(f"bench filter_leads as a job: {options.rows:,} leads in {options.files} files, "
              f"{time.perf_counter() - started:.1f}s from process start to exit (local[{options.cores}])")
    if not options.keep_data:
        shutil.rmtree(data_dir)
    if found:
        sys.exit(1)


if __name__ == "__main__":
    main()
