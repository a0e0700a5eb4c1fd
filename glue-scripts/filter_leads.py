"""Curate one AppFlow pull of Marketo leads for the AppFlow S3 -> Salesforce Lead flow.

Glue 5.0 (Spark 3.5.4, Python 3.11) job. The transform functions at the top are pure
DataFrame -> DataFrame code so they run unchanged on a laptop's local Spark; all I/O
(Parquet in, CSV/Parquet/JSON out, local or s3:// paths) lives in `run()` and `main()`.
No `awsglue` import: a plain SparkSession works on Glue 5.0 and keeps the job testable.

What happens to every row read (exactly one outcome per row, so
`read == kept + sum(rejected.values())` in the report):

1. `missing_id`            the lead has no id (null/blank): it cannot be de-duplicated or upserted.
2. `superseded_duplicate`  an older version of a lead id also present in this pull (incremental
                           pulls repeat leads); only the newest `updatedAt` is judged. Counted in
                           the report, NOT written to the rejected output (it is not bad data).
3. `do_not_call`           the newest version says Do-Not-Call.
4. `do_not_call_unknown`   the flag is null, unrecognised ("maybe") or the column is absent:
                           only an explicit "false" may reach Salesforce.
5. `missing_last_name`     Salesforce Lead requires LastName.
6. `missing_company`       Salesforce Lead requires Company.
   kept                    everything else.

Precedence is the order above: identity first, then compliance (a Do-Not-Call lead is reported
as such even when it also lacks a name), then Salesforce's required fields.
"""

import json
import os
import re
import sys

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

# The curated CSV header, in this order. A Go construct maps these names to Salesforce Lead
# fields (and a test compares the two), so rename only together with that mapping.
CURATED_COLUMNS = ["MarketoId", "FirstName", "LastName", "Email", "Company", "DoNotCall"]

# The analytics Parquet adds UpdatedAt, so consumers can tell how fresh each lead is.
CURATED_PARQUET_COLUMNS = CURATED_COLUMNS + ["UpdatedAt"]

# Rejected rows keep the normalised fields plus the raw flag, so a person can see why.
REJECTED_COLUMNS = CURATED_COLUMNS + ["DoNotCallRaw", "UpdatedAt", "reason"]

# Marketo REST field names. Without these the job cannot dedupe (id, updatedAt) or produce a
# valid Salesforce Lead (lastName, company), so their absence is an error, not a rejection.
REQUIRED_COLUMNS = ["id", "lastName", "company", "updatedAt"]
OPTIONAL_COLUMNS = ["email", "firstName"]
# Matched case-insensitively, so both `doNotCall` (Marketo) and `DoNotCall` are accepted.
DO_NOT_CALL_COLUMN = "doNotCall"

TRUE_STRINGS = ["true", "1", "yes"]
FALSE_STRINGS = ["false", "0", "no"]

REASON_MISSING_ID = "missing_id"
REASON_SUPERSEDED = "superseded_duplicate"
REASON_DO_NOT_CALL = "do_not_call"
REASON_DO_NOT_CALL_UNKNOWN = "do_not_call_unknown"
REASON_MISSING_LAST_NAME = "missing_last_name"
REASON_MISSING_COMPANY = "missing_company"

DEFAULT_MAX_ROWS_PER_FILE = 500_000

_REASON = "reason"
_SUPERSEDED = "_superseded"


class InputSchemaError(ValueError):
    """The input lacks a column the job cannot do without, or has one of an unusable type."""


# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


def _find_column(df: DataFrame, name: str):
    """The input column matching `name` case-insensitively, or None.

    Exports differ in case (`doNotCall` vs `DoNotCall`); resolving by hand keeps the job
    correct even if spark.sql.caseSensitive is switched on.
    """
    matches = [c for c in df.columns if c.lower() == name.lower()]
    if len(matches) > 1:
        raise InputSchemaError(f'input has ambiguous columns for "{name}": {matches}')
    return matches[0] if matches else None


def missing_required_columns(df: DataFrame) -> list:
    return [name for name in REQUIRED_COLUMNS if _find_column(df, name) is None]


def _clean_string(column) -> F.Column:
    """Trimmed string; blank becomes null so one null check covers both."""
    trimmed = F.trim(column.cast("string"))
    return F.when(trimmed != "", trimmed)


def normalize_do_not_call(df: DataFrame) -> DataFrame:
    """Add `DoNotCall` (boolean, null = unknown) and `DoNotCallRaw` (string), drop the source.

    Real exports carry the flag as boolean, number or string ("TRUE ", "0", "no"). Anything
    not recognisably true/false, and a missing column, is null: unknown is never "false".
    """
    source = _find_column(df, DO_NOT_CALL_COLUMN)
    if source is None:
        return df.withColumn("DoNotCall", F.lit(None).cast("boolean")).withColumn(
            "DoNotCallRaw", F.lit(None).cast("string")
        )

    column = F.col(f"`{source}`")
    data_type = df.schema[source].dataType
    if isinstance(data_type, T.BooleanType):
        flag = column
    elif isinstance(data_type, T.NumericType):
        flag = F.when(column == 1, True).when(column == 0, False)
    else:
        text = F.lower(F.trim(column.cast("string")))
        flag = F.when(text.isin(TRUE_STRINGS), True).when(text.isin(FALSE_STRINGS), False)

    raw = column.cast("string")
    # Build the new columns before dropping the source: `DoNotCall` may be the source itself.
    return (
        df.withColumn("_dnc_flag", flag.cast("boolean"))
        .withColumn("_dnc_raw", raw)
        .drop(source)
        .withColumnRenamed("_dnc_flag", "DoNotCall")
        .withColumnRenamed("_dnc_raw", "DoNotCallRaw")
    )


def _updated_at(df: DataFrame, source: str) -> F.Column:
    """updatedAt as a timestamp; ISO strings ("2024-01-15T10:20:30Z") parse, garbage is null."""
    data_type = df.schema[source].dataType
    if not isinstance(
        data_type, (T.StringType, T.TimestampType, T.TimestampNTZType, T.DateType)
    ):
        raise InputSchemaError(
            f'input column "{source}" must be a timestamp or an ISO-8601 string, '
            f"got {data_type.simpleString()}"
        )
    return F.col(f"`{source}`").cast("timestamp")


def standardize(df: DataFrame) -> DataFrame:
    """Map Marketo fields to the curated names with clean types; fail on a missing column."""
    missing = missing_required_columns(df)
    if missing:
        names = ", ".join(f'"{name}"' for name in missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise InputSchemaError(f"input is missing required {noun} {names}")

    df = normalize_do_not_call(df)

    def text(name):
        source = _find_column(df, name)
        if source is None:  # optional field absent in this export
            return F.lit(None).cast("string")
        return _clean_string(F.col(f"`{source}`"))

    return df.select(
        text("id").alias("MarketoId"),
        text("firstName").alias("FirstName"),
        text("lastName").alias("LastName"),
        text("email").alias("Email"),
        text("company").alias("Company"),
        F.col("DoNotCall"),
        F.col("DoNotCallRaw"),
        _updated_at(df, _find_column(df, "updatedAt")).alias("UpdatedAt"),
    )


def mark_superseded(df: DataFrame) -> DataFrame:
    """Add `_superseded`: true for every version of a lead but its newest.

    One window (one shuffle) on the standardised frame. Newest `UpdatedAt` wins; unparseable
    timestamps lose. Ties are broken on content so reruns pick the same row: a Do-Not-Call
    version first (the safe choice), then unknown, then the remaining fields.
    """
    flag_rank = (
        F.when(F.col("DoNotCall"), 0).when(F.col("DoNotCall").isNull(), 1).otherwise(2)
    )
    newest_first = Window.partitionBy("MarketoId").orderBy(
        F.col("UpdatedAt").desc_nulls_last(),
        flag_rank.asc(),
        *[
            F.col(c).asc_nulls_last()
            for c in ("LastName", "Company", "Email", "FirstName", "DoNotCallRaw")
        ],
    )
    return df.withColumn(_SUPERSEDED, F.row_number().over(newest_first) > 1)


def deduplicate_latest(df: DataFrame) -> DataFrame:
    """Only the newest version of each lead id (input: `standardize()`d leads)."""
    return mark_superseded(df).filter(~F.col(_SUPERSEDED)).drop(_SUPERSEDED)


def label_leads(leads_df: DataFrame) -> DataFrame:
    """Standardise, dedupe and give every row its one `reason` (null = kept).

    Keeping all rows in one labelled frame lets the caller cache it once and derive the
    curated output, the rejected output and all counts from it without recomputing.
    """
    marked = mark_superseded(standardize(leads_df))
    reason = (
        F.when(F.col("MarketoId").isNull(), REASON_MISSING_ID)
        .when(F.col(_SUPERSEDED), REASON_SUPERSEDED)
        .when(F.col("DoNotCall"), REASON_DO_NOT_CALL)
        .when(F.col("DoNotCall").isNull(), REASON_DO_NOT_CALL_UNKNOWN)
        .when(F.col("LastName").isNull(), REASON_MISSING_LAST_NAME)
        .when(F.col("Company").isNull(), REASON_MISSING_COMPANY)
    )
    return marked.withColumn(_REASON, reason).drop(_SUPERSEDED)


def split_labeled(labeled: DataFrame):
    """(curated, curated_parquet, rejected) frames from `label_leads()` output."""
    kept = labeled.filter(F.col(_REASON).isNull())
    curated_parquet = kept.select(*CURATED_PARQUET_COLUMNS)
    curated = curated_parquet.select(*CURATED_COLUMNS)
    rejected = labeled.filter(
        F.col(_REASON).isNotNull() & (F.col(_REASON) != REASON_SUPERSEDED)
    ).select(*REJECTED_COLUMNS)
    return curated, curated_parquet, rejected


def curate(leads_df: DataFrame):
    """(curated_df, rejected_df) for raw Marketo leads: the whole transform, no I/O."""
    curated, _, rejected = split_labeled(label_leads(leads_df))
    return curated, rejected


def count_report(labeled: DataFrame, run_id: str) -> dict:
    """The run report from one aggregation over the labelled rows (one Spark job)."""
    rows = labeled.groupBy(_REASON).agg(F.count("*").alias("n")).collect()
    counts = {row[_REASON]: row["n"] for row in rows}
    kept = counts.pop(None, 0)
    return {
        "runId": run_id,
        "read": kept + sum(counts.values()),
        "kept": kept,
        "rejected": dict(sorted(counts.items())),
        "curatedColumns": list(CURATED_COLUMNS),
    }


def format_log_line(report: dict) -> str:
    rejected = ",".join(f"{k}:{v}" for k, v in report["rejected"].items()) or "none"
    return (
        f"filter_leads run={report['runId']} read={report['read']} "
        f"kept={report['kept']} rejected={rejected}"
    )


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

REQUIRED_ARGS = [
    "run_id",
    "input_path",
    "curated_csv_path",
    "curated_parquet_path",
    "rejected_path",
    "report_path",
]
_RUN_ID = re.compile(r"^[A-Za-z0-9._-]+$")


def parse_args(argv: list) -> dict:
    """Glue-style `--KEY value` (or `--KEY=value`) arguments, without the program name.

    Glue adds its own (`--JOB_ID`, `--JOB_RUN_ID`, `--job-bookmark-option`, `--TempDir`,
    `--enable-metrics`, ...), some without a value: unknown keys are ignored, not fatal.
    """
    raw = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not token.startswith("--"):
            continue
        key, eq, value = token[2:].partition("=")
        if not eq:
            if i < len(argv) and not argv[i].startswith("--"):
                value = argv[i]
                i += 1
            else:
                value = ""
        raw[key] = value

    missing = [f"--{k}" for k in REQUIRED_ARGS if not raw.get(k, "").strip()]
    if missing:
        raise ValueError(f"missing required arguments: {', '.join(missing)}")

    args = {k: raw[k].strip() for k in REQUIRED_ARGS}
    if not _RUN_ID.match(args["run_id"]):
        # It names a Parquet partition folder: keep it a safe single path segment.
        raise ValueError(
            f'--run_id must match {_RUN_ID.pattern}, got "{args["run_id"]}"'
        )
    max_rows = raw.get("max_rows_per_file", "").strip() or str(DEFAULT_MAX_ROWS_PER_FILE)
    if not max_rows.isdigit() or int(max_rows) < 1:
        raise ValueError(f'--max_rows_per_file must be a positive integer, got "{max_rows}"')
    args["max_rows_per_file"] = int(max_rows)
    return args


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------

# Empty input reads as this schema, so an empty run follows the same code path.
_EMPTY_LEADS_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    + [T.StructField(DO_NOT_CALL_COLUMN, T.BooleanType())]
)

# AnalysisException error classes that mean "nothing to read", not "broken".
_EMPTY_INPUT_ERRORS = {"PATH_NOT_FOUND", "UNABLE_TO_INFER_SCHEMA"}


def read_leads(spark: SparkSession, path: str) -> DataFrame:
    """This run's Parquet files; an empty frame when the folder is missing or has no rows.

    Spark cannot infer a schema from nothing: a missing folder (or S3 prefix) raises
    PATH_NOT_FOUND, an empty one UNABLE_TO_INFER_SCHEMA. Both mean "no new leads"; any other
    error propagates. mergeSchema copes with files that omit an all-null column;
    recursiveFileLookup with AppFlow's nested <flow>/<execution>/ layout.
    """
    from pyspark.errors import AnalysisException

    try:
        df = (
            spark.read.option("mergeSchema", "true")
            .option("recursiveFileLookup", "true")
            .parquet(path)
        )
    except AnalysisException as error:
        if error.getErrorClass() not in _EMPTY_INPUT_ERRORS:
            raise
        return spark.createDataFrame([], _EMPTY_LEADS_SCHEMA)

    # Zero-row files may carry a bare schema; only data with a missing column is an error.
    if missing_required_columns(df) and df.isEmpty():
        return spark.createDataFrame([], _EMPTY_LEADS_SCHEMA)
    return df


def _partitions(rows: int, max_rows: int) -> int:
    return max(1, -(-rows // max_rows))


def _join(folder: str, child: str) -> str:
    return folder.rstrip("/") + "/" + child


def write_report(report: dict, path: str) -> None:
    """One JSON object at `path`: local file, or an S3 object for s3:// paths."""
    body = json.dumps(report, indent=None, separators=(",", ":"))
    if path.startswith("s3://"):
        import boto3  # on Glue; only needed for S3

        bucket, _, key = path[len("s3://"):].partition("/")
        if not bucket or not key:
            raise ValueError(f'--report_path must be s3://bucket/key, got "{path}"')
        boto3.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json"
        )
        return
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(body)


# No _SUCCESS marker: AppFlow would try to read the empty file in its source folder.
_NO_SUCCESS_FILE = {"mapreduce.fileoutputcommitter.marksuccessfuljobs": "false"}


def run(spark: SparkSession, args: dict) -> dict:
    """Read, curate, write every output and the report; return the report.

    Outputs, all overwritten so a rerun of the same event is idempotent:
      curated_csv_path/                        CSV with header (AppFlow's source)
      curated_parquet_path/run_id=<run_id>/    Parquet, CURATED_COLUMNS + UpdatedAt
      rejected_path/run_id=<run_id>/           Parquet, REJECTED_COLUMNS
      report_path                              JSON report, written last
    """
    run_id = args["run_id"]
    max_rows = args["max_rows_per_file"]
    # Cached once: the counts and all three writes read it instead of re-reading and re-sorting.
    labeled = label_leads(read_leads(spark, args["input_path"])).persist()
    try:
        report = count_report(labeled, run_id)
        curated, curated_parquet, rejected = split_labeled(labeled)
        # AQE does not coalesce the last shuffle of a cached plan (Spark 3.5 keeps its
        # spark.sql.shuffle.partitions), so size the writes from the counts just taken:
        # about one file of at most max_rows rows per task instead of 200 tiny files.
        kept_parts = _partitions(report["kept"], max_rows)
        curated = curated.coalesce(kept_parts)
        curated_parquet = curated_parquet.coalesce(kept_parts)
        rejected_rows = sum(report["rejected"].values()) - report["rejected"].get(
            REASON_SUPERSEDED, 0
        )
        rejected = rejected.coalesce(_partitions(rejected_rows, max_rows))

        (
            curated.write.mode("overwrite")
            .options(**_NO_SUCCESS_FILE)
            .option("header", "true")
            .option("escape", '"')  # RFC 4180 quoting ("" inside quotes), not Spark's \"
            .option("maxRecordsPerFile", max_rows)
            .csv(args["curated_csv_path"])
        )
        (
            curated_parquet.write.mode("overwrite")
            .options(**_NO_SUCCESS_FILE)
            .option("maxRecordsPerFile", max_rows)
            .parquet(_join(args["curated_parquet_path"], f"run_id={run_id}"))
        )
        (
            rejected.write.mode("overwrite")
            .options(**_NO_SUCCESS_FILE)
            .parquet(_join(args["rejected_path"], f"run_id={run_id}"))
        )
    finally:
        labeled.unpersist()

    write_report(report, args["report_path"])
    print(format_log_line(report), flush=True)
    return report


def main(argv=None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spark = SparkSession.builder.appName("filter_leads").getOrCreate()
    return run(spark, args)


if __name__ == "__main__":
    main()
