"""Rows Salesforce refused: merged into the next run by upsert key (newer wins), attempts counted,
quarantined after --max_load_attempts. The transform on inline frames, then run() over several runs
on local folders, with AppFlow's error files written in the format the job assumes."""

import json

import pytest

import filter_leads as fl
from leads_testkit import lead, rules
from test_filter_leads_job import job_args, read_report, write_input


def sent_row(spark, key="2", updated="2024-05-01 10:00:00", last="Hopper"):
    return spark.createDataFrame(
        [(key, "Grace", last, "grace@example.com", "Navy", False, updated)],
        "MarketoId string, FirstName string, LastName string, Email string, Company string, "
        "DoNotCall boolean, UpdatedAt string",
    ).withColumn("UpdatedAt", fl.F.col("UpdatedAt").cast("timestamp"))


def errors_for(spark, *keys, message="FIELD_CUSTOM_VALIDATION_EXCEPTION: no"):
    rows = [json.dumps(fl.appflow_error_record({"Marketo_Id__c": k, "LastName": "x"}, message)) for k in keys]
    return fl.error_records(spark.read.json(spark.sparkContext.parallelize(rows)), "Marketo_Id__c", "MarketoId")


# --- the transform ------------------------------------------------------------------------------

def test_a_first_refusal_counts_one_attempt_and_keeps_the_error(spark):
    refused = fl.refused_rows(sent_row(spark), errors_for(spark, "2"), "MarketoId", "run-1")
    [row] = refused.collect()
    assert (row["MarketoId"], row["Attempts"], row["RefusedInRun"]) == ("2", 1, "run-1")
    assert row["LastError"].startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION")


def test_a_row_sent_again_and_refused_adds_to_its_attempts(spark):
    attempts = spark.createDataFrame([("2", 2)], "MarketoId string, Attempts int")
    [row] = fl.refused_rows(sent_row(spark), errors_for(spark, "2"), "MarketoId", "run-3", attempts).collect()
    assert row["Attempts"] == 3


def test_rows_refused_max_attempts_times_go_to_quarantine(spark):
    attempts = spark.createDataFrame([("2", 2), ("7", 1)], "MarketoId string, Attempts int")
    sent = sent_row(spark, "2").unionByName(sent_row(spark, "7"))
    refused = fl.refused_rows(sent, errors_for(spark, "2", "7"), "MarketoId", "run-3", attempts)

    retry, quarantine = fl.split_refused(refused, 3)

    assert [(r["MarketoId"], r["Attempts"]) for r in retry.collect()] == [("7", 2)]
    assert [(r["MarketoId"], r["Attempts"]) for r in quarantine.collect()] == [("2", 3)]
    assert quarantine.columns == fl.QUARANTINE_COLUMNS


def test_a_newer_version_in_the_run_replaces_the_retry(spark, leads):
    retry = fl.refused_rows(sent_row(spark, updated="2024-05-01 10:00:00", last="Old"),
                            errors_for(spark, "2"), "MarketoId", "run-1")
    run = leads([lead(id="2", lastName="New", updatedAt="2024-06-01T00:00:00Z")])

    labeled = fl.label_leads(run, rules(), retry)

    curated, _, _ = fl.split_labeled(labeled)
    assert [(r["MarketoId"], r["LastName"]) for r in curated.collect()] == [("2", "New")]
    assert fl.sent_again(labeled, "MarketoId").count() == 0, "the new version starts with no attempts"
    report = fl.count_report(labeled, "run-2")
    assert (report["read"], report["retried"], report["rejected"]) == (1, 1, {"superseded_duplicate": 1})


def test_an_older_version_in_the_run_loses_to_the_retry(spark, leads):
    retry = fl.refused_rows(sent_row(spark, updated="2024-05-01 10:00:00", last="Newer"),
                            errors_for(spark, "2"), "MarketoId", "run-1")
    run = leads([lead(id="2", lastName="Older", updatedAt="2024-04-01T00:00:00Z")])

    labeled = fl.label_leads(run, rules(), fl.split_refused(retry, 3)[0])

    curated, _, _ = fl.split_labeled(labeled)
    assert [(r["MarketoId"], r["LastName"]) for r in curated.collect()] == [("2", "Newer")]
    assert [(r["MarketoId"], r["Attempts"]) for r in fl.sent_again(labeled, "MarketoId").collect()] == [("2", 1)]


# --- run() over several runs --------------------------------------------------------------------

class Runs:
    """Consecutive runs of the job in one folder, with the orchestration's marker and AppFlow's error
    files written between them as the orchestration and AppFlow would."""

    def __init__(self, spark, root, max_attempts=3):
        self.spark, self.root, self.max_attempts = spark, root, max_attempts

    def run(self, run_id, rows):
        write_input(self.spark, self.root / "inbox" / run_id, rows)
        argv = job_args(self.root, run_id=run_id, input_dir=self.root / "inbox" / run_id,
                        retry_path=self.root / "retry", quarantine_path=self.root / "quarantine",
                        upsert_field="Marketo_Id__c", max_load_attempts=self.max_attempts)
        return fl.main(argv)

    def salesforce_refuses(self, run_id, *keys, rejected=None):
        folder = self.root / "errors" / "flow" / f"exec-{run_id}"
        folder.mkdir(parents=True)
        (folder / "rejected-records").write_text("".join(
            json.dumps(fl.appflow_error_record({"Marketo_Id__c": k}, f"refused in {run_id}")) + "\n" for k in keys))
        (self.root / "retry").mkdir(exist_ok=True)
        (self.root / "retry" / fl.RETRY_MARKER).write_text(json.dumps(
            {"runId": run_id, "rejected": len(keys) if rejected is None else rejected, "rejectedRecordsAt": str(folder)}))

    def curated_keys(self):
        return sorted(r["MarketoId"] for r in self.spark.read.option("header", "true").csv(
            str(self.root / "curated" / "csv")).collect())


def assert_balanced(report):
    assert report["read"] + report["retried"] == report["kept"] + sum(report["rejected"].values()), report


def test_a_row_refused_on_run_1_is_sent_on_run_2(spark, tmp_path):
    runs = Runs(spark, tmp_path)
    runs.run("run-1", [lead(id="1"), lead(id="2")])
    runs.salesforce_refuses("run-1", "2")

    report = runs.run("run-2", [lead(id="3")])

    assert runs.curated_keys() == ["2", "3"]
    assert (report["read"], report["retried"], report["quarantined"], report["kept"]) == (1, 1, 0, 2)
    assert_balanced(report)
    assert read_report(tmp_path, "run-2") == report
    attempts = spark.read.parquet(str(tmp_path / "retry" / "run_id=run-2")).collect()
    assert [(r["MarketoId"], r["Attempts"]) for r in attempts] == [("2", 1)]


def test_a_row_refused_three_times_lands_in_quarantine_with_its_last_error(spark, tmp_path):
    runs = Runs(spark, tmp_path)
    runs.run("run-1", [lead(id="1"), lead(id="2")])
    for refused_in, next_run in (("run-1", "run-2"), ("run-2", "run-3"), ("run-3", "run-4")):
        runs.salesforce_refuses(refused_in, "2")
        report = runs.run(next_run, [lead(id=next_run)])
        assert_balanced(report)

    assert runs.curated_keys() == ["run-4"], "not sent a fourth time"
    assert (report["retried"], report["quarantined"]) == (0, 1)
    [row] = spark.read.parquet(str(tmp_path / "quarantine" / "run_id=run-4")).collect()
    assert (row["MarketoId"], row["Attempts"], row["LastError"], row["RefusedInRun"]) == ("2", 3, "refused in run-3", "run-3")
    assert spark.read.parquet(str(tmp_path / "quarantine" / "run_id=run-3")).count() == 0


def test_a_rerun_of_the_same_run_retries_the_same_rows(spark, tmp_path):
    runs = Runs(spark, tmp_path)
    runs.run("run-1", [lead(id="1"), lead(id="2")])
    runs.salesforce_refuses("run-1", "2")

    first = runs.run("run-2", [lead(id="3")])
    again = runs.run("run-2", [lead(id="3")])    # a recovered execution runs the job again

    assert first == again and runs.curated_keys() == ["2", "3"]


def test_refused_rows_that_cannot_all_be_found_fail_the_run(spark, tmp_path):
    runs = Runs(spark, tmp_path)
    runs.run("run-1", [lead(id="1"), lead(id="2")])
    runs.salesforce_refuses("run-1", "2", rejected=2)     # AppFlow counted two, its files name one

    with pytest.raises(ValueError, match="refused 2 rows, but 1 of them are found"):
        runs.run("run-2", [lead(id="3")])


def test_error_files_without_the_upsert_field_fail_the_run(spark):
    with pytest.raises(fl.InputSchemaError, match="no field \"Marketo_Id__c\""):
        fl.error_records(spark.read.json(spark.sparkContext.parallelize(['{"Id": "x", "error": "e"}'])),
                         "Marketo_Id__c", "MarketoId")
