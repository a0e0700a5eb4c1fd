"""The pure transform: one rule per test, small inline DataFrames, no I/O."""

import datetime as dt
import re

import pytest
from pyspark.sql import Row

import filter_leads as fl
from leads_testkit import assertDataFrameEqual, lead, rules


def reasons_by_id(df):
    """{MarketoId: reason or None} for every row the transform labelled."""
    return {row["MarketoId"]: row["reason"] for row in fl.label_leads(df, rules()).collect()}


# --- Rule 1: only an explicit "false" Do-Not-Call flag is kept ------------------------------


def test_keeps_lead_whose_do_not_call_is_false(leads):
    # GIVEN a lead whose flag is explicitly false
    df = leads([lead(id="1", doNotCall="false")])
    # WHEN curated
    curated, rejected = fl.curate(df, rules())
    # THEN it is kept with DoNotCall false and nothing is rejected
    assertDataFrameEqual(
        curated,
        [Row(MarketoId="1", FirstName="Ada", LastName="Lovelace", Email="ada@example.com",
             Company="Analytical Engines", DoNotCall=False)],
    )
    assert rejected.count() == 0


def test_rejects_do_not_call_true_as_do_not_call(leads):
    # GIVEN a lead that must not be called
    df = leads([lead(id="1", doNotCall="true")])
    # WHEN curated
    curated, rejected = fl.curate(df, rules())
    # THEN it is rejected with reason do_not_call
    assert curated.count() == 0
    assert [r["reason"] for r in rejected.collect()] == ["do_not_call"]


def test_rejects_null_do_not_call_as_unknown(leads):
    # GIVEN a lead whose flag is null
    df = leads([lead(id="1", doNotCall=None)])
    # WHEN curated
    curated, rejected = fl.curate(df, rules())
    # THEN null is not false: rejected as do_not_call_unknown
    assert curated.count() == 0
    assert [r["reason"] for r in rejected.collect()] == ["do_not_call_unknown"]


def test_rejects_every_lead_as_unknown_when_flag_column_is_absent(leads):
    # GIVEN an export without any Do-Not-Call column
    df = leads([lead(id="1"), lead(id="2")]).drop("doNotCall")
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN no lead can be shown to be callable
    assert reasons == {"1": "do_not_call_unknown", "2": "do_not_call_unknown"}


# --- Rule 2: flag encodings and column name ------------------------------------------------


def test_accepts_string_flag_encodings_in_any_case_with_spaces(leads):
    # GIVEN the string encodings real exports carry
    encodings = {
        "t1": "true", "t2": " TRUE ", "t3": "1", "t4": "Yes",
        "f1": "false", "f2": "False ", "f3": " 0", "f4": "NO",
    }
    df = leads([lead(id=i, doNotCall=v) for i, v in encodings.items()])
    # WHEN normalised
    flags = {r["MarketoId"]: r["DoNotCall"] for r in fl.standardize(df).collect()}
    # THEN each maps to the boolean it means
    assert flags == {"t1": True, "t2": True, "t3": True, "t4": True,
                     "f1": False, "f2": False, "f3": False, "f4": False}


def test_accepts_boolean_flag(leads):
    # GIVEN a boolean-typed flag column
    schema = fl_schema_with_flag("boolean")
    df = leads([("1", "Lovelace", "Acme", "2024-05-01T10:00:00Z", False),
                ("2", "Hopper", "Navy", "2024-05-01T10:00:00Z", True),
                ("3", "Turing", "NPL", "2024-05-01T10:00:00Z", None)], schema)
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN false is kept, true and null are rejected
    assert reasons == {"1": None, "2": "do_not_call", "3": "do_not_call_unknown"}


def test_accepts_numeric_flag(leads):
    # GIVEN a numeric flag column (1/0), with an out-of-range value
    schema = fl_schema_with_flag("int")
    df = leads([("1", "Lovelace", "Acme", "2024-05-01T10:00:00Z", 0),
                ("2", "Hopper", "Navy", "2024-05-01T10:00:00Z", 1),
                ("3", "Turing", "NPL", "2024-05-01T10:00:00Z", 2)], schema)
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN 0 is false, 1 is true, anything else is unknown
    assert reasons == {"1": None, "2": "do_not_call", "3": "do_not_call_unknown"}


def test_accepts_flag_column_named_DoNotCall(leads):
    # GIVEN an export that spells the column DoNotCall
    df = leads([lead(id="1", doNotCall="false"), lead(id="2", doNotCall="true")])
    df = df.withColumnRenamed("doNotCall", "DoNotCall")
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN the flag is read from it, not treated as absent
    assert reasons == {"1": None, "2": "do_not_call"}


def test_rejects_unrecognised_flag_value_as_unknown(leads):
    # GIVEN a flag value that is neither true nor false
    df = leads([lead(id="1", doNotCall="maybe"), lead(id="2", doNotCall="")])
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN it is unknown, so rejected
    assert reasons == {"1": "do_not_call_unknown", "2": "do_not_call_unknown"}


def fl_schema_with_flag(flag_type):
    return f"id string, lastName string, company string, updatedAt string, doNotCall {flag_type}"


# --- Rule 3: de-duplicate by id, newest updatedAt wins ---------------------------------------


def test_dedupe_keeps_newest_updated_at_from_iso_strings(leads):
    # GIVEN three versions of one lead, newest in the middle, with mixed ISO offsets
    df = leads([
        lead(id="7", lastName="Old", updatedAt="2024-05-01T10:00:00Z"),
        lead(id="7", lastName="Newest", updatedAt="2024-05-02T09:00:00+01:00"),
        lead(id="7", lastName="Mid", updatedAt="2024-05-01T12:00:00Z"),
    ])
    # WHEN deduplicated
    latest = fl.deduplicate_latest(fl.standardize(df), "MarketoId")
    # THEN only the newest version is left
    assert [r["LastName"] for r in latest.collect()] == ["Newest"]


def test_dedupe_keeps_newest_updated_at_from_timestamp_type(leads):
    # GIVEN updatedAt typed as a timestamp
    schema = "id string, lastName string, company string, updatedAt timestamp, doNotCall string"
    df = leads([
        ("7", "Newest", "Acme", dt.datetime(2024, 5, 3), "false"),
        ("7", "Old", "Acme", dt.datetime(2024, 5, 1), "false"),
        ("7", "Undated", "Acme", None, "false"),
    ], schema)
    # WHEN deduplicated
    latest = fl.deduplicate_latest(fl.standardize(df), "MarketoId")
    # THEN the newest wins; an undated version never beats a dated one
    assert [r["LastName"] for r in latest.collect()] == ["Newest"]


def test_dedupe_lets_the_newest_version_decide_do_not_call(leads):
    # GIVEN an old callable version and a newer Do-Not-Call version of one lead
    df = leads([
        lead(id="7", doNotCall="false", updatedAt="2024-05-01T10:00:00Z"),
        lead(id="7", doNotCall="true", updatedAt="2024-05-02T10:00:00Z"),
    ])
    # WHEN curated
    curated, rejected = fl.curate(df, rules())
    # THEN the lead is not sent; the newest version is rejected as do_not_call
    assert curated.count() == 0
    assert [r["reason"] for r in rejected.collect()] == ["do_not_call"]


def test_dedupe_breaks_ties_deterministically_preferring_do_not_call(leads):
    # GIVEN two versions with the same updatedAt, in both input orders
    callable_, not_callable = lead(id="7", doNotCall="false"), lead(id="7", doNotCall="true")
    # WHEN deduplicated
    picks = [
        [r["DoNotCall"] for r in fl.deduplicate_latest(fl.standardize(leads(rows)), "MarketoId").collect()]
        for rows in ([callable_, not_callable], [not_callable, callable_])
    ]
    # THEN the same, safe version wins either way
    assert picks == [[True], [True]]


def test_superseded_duplicates_are_counted_but_not_written_as_rejected(leads):
    # GIVEN a lead pulled twice
    df = leads([
        lead(id="7", updatedAt="2024-05-01T10:00:00Z"),
        lead(id="7", updatedAt="2024-05-02T10:00:00Z"),
    ])
    # WHEN curated and counted
    labeled = fl.label_leads(df, rules())
    curated, rejected = fl.curate(df, rules())
    report = fl.count_report(labeled, "r1")
    # THEN one is kept, the older one is counted as superseded but not in the rejected output
    assert curated.count() == 1
    assert rejected.count() == 0
    assert report["rejected"] == {"superseded_duplicate": 1}


def test_dedupe_in_the_partitions_the_job_sizes_labels_the_same_in_one_shuffle(leads):
    # GIVEN several versions of each of five leads
    df = leads([lead(id=str(i % 5), lastName=f"Version{i}", updatedAt=f"2024-05-0{1 + i % 9}T10:00:00Z")
                for i in range(40)])
    # WHEN labelled in the 3 partitions run() would size (shuffle_partitions) and in the default ones
    sized = fl.label_leads(df, rules(), partitions=3)
    plan = sized._jdf.queryExecution().executedPlan().toString()  # before it runs: one plan only
    # THEN every row gets the same label, and the dedupe's window shuffles no more than that once
    assertDataFrameEqual(sized, fl.label_leads(df, rules()))
    assert len(re.findall(r"\bExchange\b", plan)) == 1, plan


# --- Rule 4: mapping and Salesforce's required fields ----------------------------------------


def test_maps_marketo_fields_to_curated_columns_in_order(leads):
    # GIVEN a lead with padded text
    df = leads([lead(id=" 42 ", email=" a@b.c ", firstName=" Ada", lastName="Lovelace ",
                     company=" Acme ")])
    # WHEN curated
    curated, _ = fl.curate(df, rules())
    # THEN the columns are CURATED_COLUMNS, in order, with trimmed values
    assert curated.columns == fl.CURATED_COLUMNS
    assertDataFrameEqual(
        curated,
        [Row(MarketoId="42", FirstName="Ada", LastName="Lovelace", Email="a@b.c",
             Company="Acme", DoNotCall=False)],
    )


def test_curated_columns_constant_is_the_salesforce_contract():
    # GIVEN / WHEN the constant the Go mapping is compared with
    # THEN it is exactly this list, in this order
    assert fl.CURATED_COLUMNS == ["MarketoId", "FirstName", "LastName", "Email", "Company", "DoNotCall"]


def test_rejects_null_or_blank_last_name(leads):
    # GIVEN leads with no and with a blank last name
    df = leads([lead(id="1", lastName=None), lead(id="2", lastName="   ")])
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN both are rejected as missing_last_name
    assert reasons == {"1": "missing_last_name", "2": "missing_last_name"}


def test_rejects_null_or_blank_company(leads):
    # GIVEN leads with no and with a blank company
    df = leads([lead(id="1", company=None), lead(id="2", company="")])
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN both are rejected as missing_company
    assert reasons == {"1": "missing_company", "2": "missing_company"}


def test_rejects_lead_without_id(leads):
    # GIVEN leads with a null and a blank id
    df = leads([lead(id=None), lead(id=" ")])
    # WHEN labelled
    reasons = [r["reason"] for r in fl.label_leads(df, rules()).collect()]
    # THEN neither is kept (nor collapsed into one "duplicate")
    assert reasons == ["missing_upsert_key", "missing_upsert_key"]


def test_gives_one_reason_per_row_by_precedence(leads):
    # GIVEN rows that break several rules at once
    df = leads([
        lead(id=None, doNotCall="true", lastName=None),                      # everything
        lead(id="2", doNotCall="true", lastName=None, company=None),          # DNC + fields
        lead(id="3", doNotCall="maybe", company=None),                        # unknown + company
        lead(id="4", lastName=" ", company=None),                             # both fields
    ])
    # WHEN labelled
    reasons = reasons_by_id(df)
    # THEN missing_upsert_key > do_not_call > do_not_call_unknown > missing_last_name > missing_company
    assert reasons == {None: "missing_upsert_key", "2": "do_not_call", "3": "do_not_call_unknown",
                       "4": "missing_last_name"}


def test_optional_columns_may_be_absent(leads):
    # GIVEN an export with only the required columns and the flag
    df = leads([("1", "Lovelace", "Acme", "2024-05-01T10:00:00Z", "false")],
               fl_schema_with_flag("string"))
    # WHEN curated
    curated, _ = fl.curate(df, rules())
    # THEN the lead is kept with null FirstName and Email
    assertDataFrameEqual(
        curated,
        [Row(MarketoId="1", FirstName=None, LastName="Lovelace", Email=None, Company="Acme",
             DoNotCall=False)],
    )


# --- Rule 5 (schema part): a missing required column is a clear failure ----------------------


@pytest.mark.parametrize("column", ["id", "lastName", "company", "updatedAt"])
def test_fails_naming_a_missing_required_column(leads, column):
    # GIVEN an export without a required column
    df = leads([lead()]).drop(column)
    # WHEN curated THEN it fails naming the column
    with pytest.raises(ValueError, match=f'input is missing required column "{column}"'):
        fl.curate(df, rules())


def test_fails_on_updated_at_of_unusable_type(leads):
    # GIVEN updatedAt as a number (unit unknown, so it cannot be ordered safely)
    df = leads([("1", "Lovelace", "Acme", 1714557600, "false")],
               "id string, lastName string, company string, updatedAt bigint, doNotCall string")
    # WHEN curated THEN it fails naming the column and type
    with pytest.raises(ValueError, match='"updatedAt" must be a timestamp.*got bigint'):
        fl.curate(df, rules())


# --- Rule 6: counts ---------------------------------------------------------------------------


def test_count_report_accounts_for_every_row_once(leads):
    # GIVEN a mix of kept and rejected rows
    df = leads([
        lead(id="1"), lead(id="2"),
        lead(id="3", doNotCall="true"), lead(id="4", doNotCall="1"),
        lead(id="5", company=None),
        lead(id="1", updatedAt="2020-01-01T00:00:00Z"),
    ])
    # WHEN counted
    report = fl.count_report(fl.label_leads(df, rules()), "run-1")
    # THEN read = kept + all rejections, in the agreed format
    assert report == {
        "runId": "run-1", "read": 6, "retried": 0, "quarantined": 0, "kept": 2,
        "rejected": {"do_not_call": 2, "missing_company": 1, "superseded_duplicate": 1},
        "repaired": {},
        "curatedColumns": fl.CURATED_COLUMNS,
    }


def test_log_line_has_all_counts_on_one_line():
    # GIVEN a report
    report = {"runId": "r1", "read": 10, "retried": 2, "quarantined": 1, "kept": 7,
              "rejected": {"do_not_call": 2, "missing_company": 1},
              "repaired": {"first_name_too_long": 1}, "curatedColumns": []}
    # WHEN formatted THEN it is the single grep-able line
    assert fl.format_log_line(report) == (
        "filter_leads run=r1 read=10 retried=2 quarantined=1 kept=7 rejected=do_not_call:2,missing_company:1 "
        "repaired=first_name_too_long:1"
    )
