"""Argument parsing and report writing: no Spark needed."""

import json
import sys
import types

import pytest

import filter_leads as fl
from leads_testkit import DEFAULT_LEAD_RULES_JSON

REQUIRED = [
    "--run_id", "run-1",
    "--input_path", "s3://b/inbox/run-1/",
    "--curated_csv_path", "s3://b/curated/csv/",
    "--curated_parquet_path", "s3://b/curated/parquet/",
    "--rejected_path", "s3://b/rejected/",
    "--report_path", "s3://b/reports/run-1.json",
    "--lead_rules", DEFAULT_LEAD_RULES_JSON,
]


def test_parse_args_reads_glue_style_arguments():
    # GIVEN Glue's --KEY value arguments
    # WHEN parsed
    args = fl.parse_args(REQUIRED + ["--max_rows_per_file", "1000"])
    # THEN every value is there, the number typed
    assert args == {
        "run_id": "run-1",
        "input_path": "s3://b/inbox/run-1/",
        "curated_csv_path": "s3://b/curated/csv/",
        "curated_parquet_path": "s3://b/curated/parquet/",
        "rejected_path": "s3://b/rejected/",
        "report_path": "s3://b/reports/run-1.json",
        "lead_rules": fl.parse_lead_rules(DEFAULT_LEAD_RULES_JSON),
        "max_rows_per_file": 1000,
        "max_csv_file_bytes": fl.APPFLOW_MAX_SOURCE_FILE_BYTES,
        "retry_path": None,
        "quarantine_path": None,
        "upsert_field": "Marketo_Id__c",
        "max_load_attempts": 3,
    }


def test_parse_args_reads_the_retry_arguments():
    args = fl.parse_args(REQUIRED + ["--retry_path", "s3://b/retry/", "--quarantine_path", "s3://b/quarantine/",
                                     "--upsert_field", "External__c", "--max_load_attempts", "5"])
    assert (args["retry_path"], args["quarantine_path"], args["upsert_field"], args["max_load_attempts"]) == (
        "s3://b/retry/", "s3://b/quarantine/", "External__c", 5)


def test_parse_args_refuses_a_retry_folder_without_a_quarantine_folder():
    with pytest.raises(ValueError, match="--retry_path and --quarantine_path go together"):
        fl.parse_args(REQUIRED + ["--retry_path", "s3://b/retry/"])


def test_parse_args_ignores_unknown_glue_arguments():
    # GIVEN the extra arguments Glue passes, some without a value
    glue_extras = [
        "--JOB_ID", "j_abc", "--JOB_RUN_ID", "jr_123", "--job-bookmark-option",
        "job-bookmark-disable", "--TempDir", "s3://tmp/", "--enable-metrics",
        "--enable-continuous-cloudwatch-log", "true", "--JOB_NAME", "filter-leads", "stray",
    ]
    # WHEN parsed
    args = fl.parse_args(glue_extras[:9] + REQUIRED + glue_extras[9:])
    # THEN they are ignored and ours are intact
    assert args["run_id"] == "run-1" and args["report_path"] == "s3://b/reports/run-1.json"
    assert "JOB_ID" not in args


def test_parse_args_accepts_key_equals_value():
    # GIVEN --KEY=value arguments
    argv = [f"{k}={v}" for k, v in zip(REQUIRED[::2], REQUIRED[1::2])]
    # WHEN parsed THEN they read like --KEY value
    assert fl.parse_args(argv)["input_path"] == "s3://b/inbox/run-1/"


def test_parse_args_defaults_max_rows_per_file():
    # GIVEN no --max_rows_per_file WHEN parsed THEN AppFlow-safe default applies
    assert fl.parse_args(REQUIRED)["max_rows_per_file"] == 500_000


def test_parse_args_fails_naming_every_missing_argument():
    # GIVEN arguments without --input_path and with a blank --report_path
    argv = REQUIRED[:2] + REQUIRED[4:10] + ["--report_path", " "]
    # WHEN parsed THEN the error names both
    with pytest.raises(ValueError, match="missing required arguments: --input_path, --report_path"):
        fl.parse_args(argv)


@pytest.mark.parametrize("bad", [["--run_id", "a/b"], ["--max_rows_per_file", "0"],
                                 ["--max_rows_per_file", "many"]])
def test_parse_args_rejects_unusable_values(bad):
    # GIVEN a run id that is not one path segment, or a non-positive row limit
    # WHEN parsed THEN it fails naming the argument
    with pytest.raises(ValueError, match=bad[0]):
        fl.parse_args(REQUIRED + bad)


def test_write_report_to_s3_puts_one_json_object(monkeypatch):
    # GIVEN a stand-in boto3 (no network) that records put_object calls
    calls = []
    client = types.SimpleNamespace(put_object=lambda **kw: calls.append(kw))
    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda name: client))
    report = {"runId": "r1", "read": 1, "kept": 1, "rejected": {}, "curatedColumns": ["A"]}
    # WHEN the report goes to an s3:// path
    fl.write_report(report, "s3://bucket/reports/r1.json")
    # THEN one object is written at that bucket and key with the report as JSON
    assert len(calls) == 1
    assert (calls[0]["Bucket"], calls[0]["Key"]) == ("bucket", "reports/r1.json")
    assert json.loads(calls[0]["Body"]) == report


def test_write_report_to_local_path_creates_parent_folders(tmp_path):
    # GIVEN a local path in a folder that does not exist yet
    path = tmp_path / "reports" / "r1.json"
    # WHEN written THEN the file holds the report
    fl.write_report({"runId": "r1", "kept": 0}, str(path))
    assert json.loads(path.read_text()) == {"runId": "r1", "kept": 0}
