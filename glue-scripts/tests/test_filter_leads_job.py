"""run()/main() end to end on local folders: Parquet in, CSV/Parquet/JSON out."""

import csv
import glob
import json
import os

import pytest
from pyspark.sql import Row

import filter_leads as fl
from leads_testkit import DEFAULT_LEAD_RULES_JSON, LEADS_DDL, assertDataFrameEqual, lead, rules

GLUE_EXTRAS = ["--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1", "--job-bookmark-option",
               "job-bookmark-disable", "--TempDir", "s3://tmp/", "--enable-metrics", "true",
               "--enable-glue-datacatalog"]


def job_args(root, run_id="run-1", input_dir=None, **extra):
    """Glue-style argv with every output under `root`."""
    argv = [
        "--run_id", run_id,
        "--input_path", str(input_dir or root / "inbox"),
        "--curated_csv_path", str(root / "curated" / "csv"),
        "--curated_parquet_path", str(root / "curated" / "parquet"),
        "--rejected_path", str(root / "rejected"),
        "--report_path", str(root / "reports" / f"{run_id}.json"),
        "--lead_rules", DEFAULT_LEAD_RULES_JSON,
    ]
    for key, value in extra.items():
        argv += [f"--{key}", str(value)]
    return argv


def write_input(spark, folder, rows, schema=LEADS_DDL, files=1):
    spark.createDataFrame(rows, schema).repartition(files).write.mode("overwrite").parquet(
        str(folder))


def csv_files(folder):
    return sorted(glob.glob(os.path.join(str(folder), "part-*.csv")))


def csv_rows(folder):
    """(header, rows) of every CSV part file, read with Python's csv module as AppFlow would."""
    header, rows = None, []
    for path in csv_files(folder):
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            file_header = next(reader)
            assert header in (None, file_header)
            header = file_header
            rows.extend(reader)
    return header, rows


def read_report(root, run_id="run-1"):
    with open(root / "reports" / f"{run_id}.json", encoding="utf-8") as handle:
        return json.load(handle)


MIXED_LEADS = [
    lead(id="1", firstName="Ada", lastName="Lovelace", company='Engines "AE", Ltd'),
    lead(id="2", firstName="Grace", lastName="Hopper", company="Navy", email=None),
    lead(id="2", lastName="Hopper-Old", updatedAt="2024-04-01T00:00:00Z"),
    lead(id="3", doNotCall="TRUE"),
    lead(id="4", doNotCall=None),
    lead(id="5", lastName=" "),
]


@pytest.fixture(scope="module")
def finished_job(spark, tmp_path_factory):
    """main() once on a mixed input, with Glue's own arguments mixed in."""
    root = tmp_path_factory.mktemp("job")
    write_input(spark, root / "inbox", MIXED_LEADS, files=2)
    report = fl.main(GLUE_EXTRAS + job_args(root))
    return root, report


def test_job_csv_header_equals_curated_columns(finished_job):
    # GIVEN a finished job WHEN its CSV is read THEN the header is CURATED_COLUMNS
    root, _ = finished_job
    header, _ = csv_rows(root / "curated" / "csv")
    assert header == fl.CURATED_COLUMNS


def test_job_csv_holds_the_kept_leads(finished_job, spark):
    # GIVEN a finished job WHEN its CSV folder is read back
    root, _ = finished_job
    back = spark.read.option("header", "true").option("escape", '"').csv(
        str(root / "curated" / "csv"))
    # THEN it holds exactly the kept leads, newest versions, embedded quotes intact
    assertDataFrameEqual(back, [
        Row(MarketoId="1", FirstName="Ada", LastName="Lovelace", Email="ada@example.com",
            Company='Engines "AE", Ltd', DoNotCall="false"),
        Row(MarketoId="2", FirstName="Grace", LastName="Hopper", Email=None, Company="Navy",
            DoNotCall="false"),
    ])


def test_job_csv_quotes_the_rfc4180_way(finished_job):
    # GIVEN a company name with a quote and a comma
    root, _ = finished_job
    # WHEN the CSV is parsed by a standard CSV reader (AppFlow is one)
    _, rows = csv_rows(root / "curated" / "csv")
    # THEN the value survives: quotes doubled, not backslash-escaped
    assert ['1', 'Ada', 'Lovelace', 'ada@example.com', 'Engines "AE", Ltd', 'false'] in rows


def test_job_writes_report_with_counts(finished_job):
    # GIVEN a finished job WHEN its report is read
    root, returned = finished_job
    report = read_report(root)
    # THEN it has the counts the orchestrator reads, and main() returned the same
    assert report == {
        "runId": "run-1", "read": 6, "retried": 0, "quarantined": 0, "kept": 2,
        "rejected": {"do_not_call": 1, "do_not_call_unknown": 1, "missing_last_name": 1,
                     "superseded_duplicate": 1},
        "repaired": {},
        "curatedColumns": fl.CURATED_COLUMNS,
    }
    assert returned == report


def test_job_writes_curated_parquet_under_the_run_partition(finished_job, spark):
    # GIVEN a finished job WHEN its analytics Parquet is read
    root, _ = finished_job
    parquet = spark.read.parquet(str(root / "curated" / "parquet"))
    # THEN it holds the kept leads plus UpdatedAt, partitioned by run_id
    assert parquet.columns == fl.CURATED_COLUMNS + ["UpdatedAt", "run_id"]
    assert sorted((r["MarketoId"], r["run_id"]) for r in parquet.collect()) == [
        ("1", "run-1"), ("2", "run-1")]


def test_job_writes_rejected_rows_with_reason_but_not_superseded(finished_job, spark):
    # GIVEN a finished job WHEN its rejected Parquet is read
    root, _ = finished_job
    rejected = spark.read.parquet(str(root / "rejected" / "run_id=run-1"))
    # THEN each bad row is there once with its reason; superseded versions are not
    assert rejected.columns == fl.REJECTED_COLUMNS
    assert sorted((r["MarketoId"], r["reason"], r["DoNotCallRaw"]) for r in rejected.collect()) == [
        ("3", "do_not_call", "TRUE"), ("4", "do_not_call_unknown", None),
        ("5", "missing_last_name", "false")]


def test_job_leaves_no_success_marker_for_appflow(finished_job):
    # GIVEN a finished job WHEN its CSV folder is listed
    root, _ = finished_job
    visible = [f for f in os.listdir(root / "curated" / "csv") if not f.startswith(".")]
    # THEN it holds only CSV part files (AppFlow reads every object in its source folder)
    assert visible and all(f.startswith("part-") and f.endswith(".csv") for f in visible)


def test_job_splits_csv_by_max_rows_per_file(spark, tmp_path):
    # GIVEN five keepable leads in one partition and a limit of two rows per file
    write_input(spark, tmp_path / "inbox", [lead(id=str(i)) for i in range(5)])
    # WHEN the job runs
    fl.main(job_args(tmp_path, max_rows_per_file=2))
    # THEN the CSV is split into 3 files, each with the header
    files = csv_files(tmp_path / "curated" / "csv")
    assert len(files) == 3
    assert all(open(f).readline().strip() == ",".join(fl.CURATED_COLUMNS) for f in files)
    assert len(csv_rows(tmp_path / "curated" / "csv")[1]) == 5


def test_job_logs_counts_in_one_line(spark, tmp_path, capsys):
    # GIVEN a small input
    write_input(spark, tmp_path / "inbox", [lead(id="1"), lead(id="2", doNotCall="true")])
    # WHEN the job runs
    fl.run(spark, fl.parse_args(job_args(tmp_path)))
    # THEN one line carries every count
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("filter_leads ")]
    assert lines == ["filter_leads run=run-1 read=2 retried=0 quarantined=0 kept=1 rejected=do_not_call:1 repaired=none"]


# --- Empty input is a success with kept=0 -----------------------------------------------------


def assert_empty_run(root, report):
    assert report == {"runId": "run-1", "read": 0, "retried": 0, "quarantined": 0, "kept": 0, "rejected": {},
                      "repaired": {}, "curatedColumns": fl.CURATED_COLUMNS}
    assert read_report(root) == report
    header, rows = csv_rows(root / "curated" / "csv")
    assert (header, rows) == (fl.CURATED_COLUMNS, [])


def test_job_treats_missing_input_folder_as_empty(spark, tmp_path):
    # GIVEN an input folder that does not exist
    # WHEN the job runs
    report = fl.main(job_args(tmp_path, input_dir=tmp_path / "no-such-folder"))
    # THEN it succeeds with kept=0, a report and a header-only CSV
    assert_empty_run(tmp_path, report)


def test_job_treats_empty_input_folder_as_empty(spark, tmp_path):
    # GIVEN an input folder with no files
    (tmp_path / "inbox").mkdir()
    # WHEN the job runs
    report = fl.main(job_args(tmp_path))
    # THEN it succeeds with kept=0
    assert_empty_run(tmp_path, report)


def test_job_treats_zero_row_parquet_as_empty(spark, tmp_path):
    # GIVEN Parquet files with a schema but no rows
    write_input(spark, tmp_path / "inbox", [])
    # WHEN the job runs
    report = fl.main(job_args(tmp_path))
    # THEN it succeeds with kept=0
    assert_empty_run(tmp_path, report)


def test_job_treats_zero_row_parquet_without_columns_as_empty(spark, tmp_path):
    # GIVEN a zero-row Parquet file whose schema lacks the Marketo columns
    write_input(spark, tmp_path / "inbox", [], schema="other string")
    # WHEN the job runs
    report = fl.main(job_args(tmp_path))
    # THEN no rows means nothing is missing: kept=0, not an error
    assert_empty_run(tmp_path, report)


def test_job_empty_rerun_replaces_previous_csv(spark, tmp_path):
    # GIVEN a curated CSV left by an earlier run
    write_input(spark, tmp_path / "inbox", [lead(id="1")])
    fl.main(job_args(tmp_path))
    # WHEN a run with no input follows
    fl.main(job_args(tmp_path, input_dir=tmp_path / "nothing"))
    # THEN AppFlow's folder holds no stale leads
    assert csv_rows(tmp_path / "curated" / "csv") == (fl.CURATED_COLUMNS, [])


# --- Failures ----------------------------------------------------------------------------------


def test_job_fails_naming_a_missing_required_column(spark, tmp_path):
    # GIVEN leads exported without the company column
    write_input(spark, tmp_path / "inbox", [lead()], schema=LEADS_DDL)
    spark.read.parquet(str(tmp_path / "inbox")).drop("company").write.parquet(
        str(tmp_path / "inbox-no-company"))
    # WHEN the job runs THEN it fails naming the column and writes no report
    with pytest.raises(ValueError, match='input is missing required column "company"'):
        fl.main(job_args(tmp_path, input_dir=tmp_path / "inbox-no-company"))
    assert not (tmp_path / "reports").exists()


def test_job_does_not_mistake_unreadable_input_for_empty(spark, tmp_path):
    # GIVEN an input folder holding a file that is not Parquet
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "part-0.parquet").write_text("not parquet")
    # WHEN the job runs THEN it fails instead of reporting kept=0
    with pytest.raises(Exception) as error:
        fl.main(job_args(tmp_path))
    assert not isinstance(error.value, ValueError) or "missing required" not in str(error.value)
    assert not (tmp_path / "reports").exists()


def test_read_leads_propagates_analysis_errors_other_than_no_input():
    # GIVEN a reader that fails for a reason other than a missing or empty folder
    from pyspark.errors import AnalysisException

    class FailingReader:
        def option(self, *_):
            return self

        def parquet(self, _path):
            raise AnalysisException(message="[INSUFFICIENT_PERMISSIONS] access denied")

    spark = type("FakeSpark", (), {"read": FailingReader()})()
    # WHEN the input is read THEN the error propagates instead of meaning "no leads"
    with pytest.raises(AnalysisException, match="access denied"):
        fl.read_leads(spark, "s3://bucket/inbox/run-1/")


# --- AppFlow reads each CSV file whole: files are bounded by bytes ---------------------------


def test_job_sizes_csv_files_by_bytes_with_wide_rows(spark, tmp_path):
    # GIVEN 40 leads at every field's length in 3-byte characters (~1.4 KB a row in UTF-8),
    # and a byte limit far below 40 such rows, with no row limit that would split them
    wide = [lead(id=str(i), firstName="名" * 40, lastName="姓" * 80, company="社" * 255,
                 email=f"{'a' * 60}{i:02d}@example.com") for i in range(40)]
    write_input(spark, tmp_path / "inbox", wide)
    limit = 8_000
    # WHEN the job runs
    report = fl.main(job_args(tmp_path, max_csv_file_bytes=limit))
    # THEN no CSV file exceeds the limit, and every kept row is in one of them exactly once
    files = csv_files(tmp_path / "curated" / "csv")
    sizes = [os.path.getsize(f) for f in files]
    assert report["kept"] == 40 and len(files) > 1
    assert max(sizes) <= limit, sizes
    assert sorted(int(r[0]) for r in csv_rows(tmp_path / "curated" / "csv")[1]) == list(range(40))


@pytest.mark.parametrize("row", [
    lead(company='"' * 100), lead(lastName="😀" * 20, company="Ł,\n" * 80),
    lead(email=None, firstName=None),
], ids=["quotes", "multibyte-and-newline", "nulls"])
def test_csv_row_bound_holds_for_quotes_and_multibyte_text(leads, tmp_path, row):
    # GIVEN one row whose values may need quoting, doubled quotes or multi-byte characters
    curated, _ = fl.curate(leads([row]), rules())
    # WHEN written as the job writes CSV
    curated.coalesce(1).write.option("header", "true").option("escape", '"').csv(str(tmp_path / "c"))
    (path,) = csv_files(tmp_path / "c")
    with open(path, "rb") as handle:
        header, line = handle.read().split(b"\n", 1)
    # THEN the bound taken in the report pass covers the line Spark wrote
    _, bound = fl.tally(fl.label_leads(leads([row]), rules()), "r")
    assert len(header) + 1 == fl.CSV_HEADER_BYTES
    assert 0 < len(line) <= bound


def test_rows_per_csv_file_fails_when_one_row_cannot_fit():
    # GIVEN a row bound larger than the file limit WHEN sized THEN a clear error, not a huge file
    with pytest.raises(ValueError, match="more than fits in a CSV file of 100 bytes"):
        fl.rows_per_csv_file(200, 100, 10)


# --- Schema drift inside one run --------------------------------------------------------------


def test_job_reads_files_of_one_run_that_disagree_on_column_types(spark, tmp_path):
    # GIVEN two Parquet files in one run: id as long and the flag as boolean in the first,
    # both as strings in the second (Spark's mergeSchema refuses this pair)
    inbox = tmp_path / "inbox"
    spark.createDataFrame(
        [(1, "Lovelace", "Acme", "2024-05-01T10:00:00Z", False),
         (2, "Hopper", "Navy", "2024-05-01T10:00:00Z", True)],
        "id long, lastName string, company string, updatedAt string, doNotCall boolean",
    ).coalesce(1).write.parquet(str(inbox / "execution-a"))
    spark.createDataFrame(
        [("3", "Turing", "NPL", "2024-05-01T10:00:00Z", "false", "alan@example.com"),
         ("1", "Lovelace-New", "Acme", "2024-06-01T10:00:00Z", "false", None)],
        "id string, lastName string, company string, updatedAt string, doNotCall string, "
        "email string",
    ).coalesce(1).write.parquet(str(inbox / "execution-b"))
    # WHEN the job runs
    report = fl.main(job_args(tmp_path))
    # THEN every row is read with one schema: id 1 from both files is one lead (the newer),
    # and each file's flag is judged by its value
    assert (report["read"], report["kept"]) == (4, 2)
    assert report["rejected"] == {"do_not_call": 1, "superseded_duplicate": 1}
    _, rows = csv_rows(tmp_path / "curated" / "csv")
    assert sorted((r[0], r[2]) for r in rows) == [("1", "Lovelace-New"), ("3", "Turing")]


def test_conform_schemas_casts_only_the_columns_that_disagree(spark):
    # GIVEN two frames that agree on lastName and disagree on id and doNotCall
    a = spark.createDataFrame([(1, "L", 1)], "id long, lastName string, doNotCall int")
    b = spark.createDataFrame([("x", "M", "no")], "id string, lastName string, doNotCall string")
    # WHEN conformed
    both = fl.conform_schemas([a, b])
    # THEN the disagreeing columns are strings (1 still reads as "1") and the rest keep their type
    assert both.schema.simpleString() == "struct<id:string,lastName:string,doNotCall:string>"
    assert sorted(tuple(r) for r in both.collect()) == [("1", "L", "1"), ("x", "M", "no")]


# --- The report accounts for every row --------------------------------------------------------


def test_job_report_balances_good_repaired_and_dropped_rows(spark, tmp_path):
    # GIVEN a run mixing good, repaired and dropped rows
    write_input(spark, tmp_path / "inbox", [
        lead(id="1"), lead(id="2", firstName="f" * 50), lead(id="3", email="nope"),
        lead(id="4", doNotCall="true"), lead(id=""), lead(id="5", lastName=None),
        lead(id="1", updatedAt="2023-01-01T00:00:00Z"),
    ], files=2)
    # WHEN the job runs
    fl.main(job_args(tmp_path))
    report = read_report(tmp_path)
    # THEN read = kept + every drop, repairs are counted, and the CSV holds exactly `kept` rows
    assert report["read"] == 7 == report["kept"] + sum(report["rejected"].values())
    assert report["repaired"] == {"first_name_too_long": 1, "invalid_email": 1}
    assert len(csv_rows(tmp_path / "curated" / "csv")[1]) == report["kept"] == 3
