"""Benchmark filter_leads on 1,000,000 synthetic Marketo leads (local[2]). Not a test.

    .venv/bin/python glue-scripts/bench_filter_leads.py [--data-dir DIR] [--rows N] [--files F]

Generates the leads with Spark itself (spark.range + hashes, so the same data every time) as
F Parquet files under DIR/input, reusing them when DIR holds a marker from the same generator, then runs
the job's own run() (read, curate, write CSV + Parquet + rejected + report) into DIR/out and
prints one summary: rows read, rows/s for transform + write, and the shuffles (Exchange nodes)
in the curated output's physical plan. With --as-job it also times the job as Glue starts it: a
new process running filter_leads.py with the same arguments (Python, JVM and Spark start included),
the figure the README's cost section turns into DPU-minutes.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import filter_leads as fl  # noqa: E402

# The --lead_rules of the default configuration (kept equal to the Go defaults by a Go test).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "testdata",
                       "default_lead_rules.json"), encoding="utf-8") as _rules:
    DEFAULT_LEAD_RULES = _rules.read().strip()

GENERATOR_VERSION = 2
MARKER = "_BENCH_MARKER"

TRUE_ENCODINGS = ["true", "TRUE", " 1", "Yes"]
FALSE_ENCODINGS = ["false", "False ", "0", "no"]


def generate(spark, rows, files, folder):
    """Deterministic leads: ~5% older duplicates, ~10% DNC true, ~2% null flag, mixed encodings.

    Row n is lead n, except every 20th row, which repeats lead n-1 with an older updatedAt.
    The flag is a string column (one Parquet file has one type), so encodings can mix.
    """
    n = F.col("id")
    is_dup = (n % 20) == 0
    lead_id = F.when(is_dup, n - 1).otherwise(n)
    bucket = lambda salt: F.pmod(F.xxhash64(n, F.lit(salt)), F.lit(1000))  # noqa: E731
    flag_bucket, name_bucket, company_bucket = bucket(1), bucket(2), bucket(3)
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
    company = F.when(company_bucket < 3, F.lit(None)).otherwise(
        F.concat(F.lit("Company "), (lead_id % 5000).cast("string"))
    )

    leads = spark.range(1, rows + 1, 1, numPartitions=files).select(
        lead_id.cast("string").alias("id"),
        F.concat(F.lit("lead"), lead_id.cast("string"), F.lit("@example.com")).alias("email"),
        F.concat(F.lit("First"), (lead_id % 997).cast("string")).alias("firstName"),
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", default=os.path.join(tempfile.gettempdir(), "filter_leads_bench")
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8, help="Parquet files the leads arrive in")
    parser.add_argument("--as-job", action="store_true", help="also time filter_leads.py in a new process")
    options = parser.parse_args()

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("filter_leads-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    data_dir = os.path.abspath(options.data_dir)
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
    argv = [
        "--run_id", "bench",
        "--input_path", input_dir,
        "--curated_csv_path", os.path.join(out, "curated_csv"),
        "--curated_parquet_path", os.path.join(out, "curated_parquet"),
        "--rejected_path", os.path.join(out, "rejected"),
        "--report_path", os.path.join(out, "report.json"),
        "--lead_rules", DEFAULT_LEAD_RULES,
    ]
    args = fl.parse_args(argv)

    # The plans the job executes, built the same way run() builds them.
    labeled = fl.label_leads(fl.read_leads(spark, input_dir), args["lead_rules"])
    curated, _, _ = fl.split_labeled(labeled)
    curated_shuffles = count_shuffles(curated)
    # run() caches the labelled rows, so the report's count adds only its own small Exchange.
    report_shuffles = count_shuffles(labeled.groupBy("reason").count()) - count_shuffles(labeled)

    started = time.perf_counter()
    report = fl.run(spark, args)  # prints the job's own log line
    elapsed = time.perf_counter() - started

    csv_files = [f for f in os.listdir(args["curated_csv_path"]) if f.endswith(".csv")]
    print(
        f"bench filter_leads: input {generated} ({data_dir}); read={report['read']} "
        f"kept={report['kept']} in {elapsed:.1f}s = {report['read'] / elapsed:,.0f} rows/s "
        f"(read + curate + write CSV/Parquet/rejected + report); "
        f"shuffles (Exchange): curated plan={curated_shuffles}, report count +{report_shuffles}; "
        f"csv files={len(csv_files)}"
    )
    spark.stop()
    if options.as_job:
        started = time.perf_counter()
        subprocess.run([sys.executable, fl.__file__, *argv], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYSPARK_SUBMIT_ARGS": "--master local[2] --conf spark.ui.showConsoleProgress=false pyspark-shell"})
        print(f"bench filter_leads as a job: {options.rows:,} leads in {options.files} files, "
              f"{time.perf_counter() - started:.1f}s from process start to exit (local[2])")


if __name__ == "__main__":
    main()
