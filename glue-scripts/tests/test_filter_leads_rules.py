"""Salesforce field rules (--lead_rules): lengths, e-mail, upsert key; drop or repair; counts."""

import json

import pytest
from pyspark.sql import Row

import filter_leads as fl
from leads_testkit import DEFAULT_LEAD_RULES_JSON, assertDataFrameEqual, lead, rules

DEFAULT_TOO_LONG = json.loads(DEFAULT_LEAD_RULES_JSON)["tooLong"]

# (curated column, Marketo field, length of the Lead field it maps to by default)
LENGTH_RULES = [
    ("MarketoId", "id", 80),
    ("FirstName", "firstName", 40),
    ("LastName", "lastName", 80),
    ("Company", "company", 255),
]


def label(leads, rows, lead_rules):
    """The labelled rows (curated values and reason) of `rows` under `lead_rules`."""
    return fl.label_leads(leads(rows), lead_rules).collect()


def drop_everything_too_long():
    return rules(tooLong={column: "drop" for column in DEFAULT_TOO_LONG})


# --- Lengths: a row on each side of each limit ------------------------------------------------


@pytest.mark.parametrize("column,field,limit", LENGTH_RULES)
def test_value_at_the_limit_is_kept_one_over_is_dropped(leads, column, field, limit):
    # GIVEN one lead whose value is exactly the field's length and one a character longer
    at_limit, over = "x" * limit, "x" * (limit + 1)
    rows = [lead(**{"id": "a", field: at_limit}), lead(**{"id": "b", field: over})]
    # WHEN labelled with "drop" for every length rule
    got = sorted((r[column], r["reason"]) for r in label(leads, rows, drop_everything_too_long()))
    # THEN the one at the limit is kept and the longer one dropped with the column's reason
    assert got == [(at_limit, None), (over, fl.too_long_reason(column))]


@pytest.mark.parametrize("column,field,limit", [r for r in LENGTH_RULES if r[0] != "MarketoId"])
def test_truncate_cuts_to_the_limit_and_counts_a_repair(leads, column, field, limit):
    # GIVEN a lead one character over the limit, with a space where the cut falls
    value = "y" * (limit - 1) + " z"
    # WHEN labelled with the default rules (truncate names and company)
    labeled = fl.label_leads(leads([lead(**{field: value})]), rules())
    row = labeled.collect()[0]
    # THEN it is kept, cut to the limit (the dangling space trimmed), and counted as repaired
    assert (row["reason"], row[column]) == (None, "y" * (limit - 1))
    assert fl.count_report(labeled, "r")["repaired"] == {fl.too_long_reason(column): 1}


def test_upsert_key_is_never_truncated(leads):
    # GIVEN a Marketo id longer than the key field, under the default rules
    labeled = fl.label_leads(leads([lead(id="9" * 81)]), rules())
    # THEN the row is dropped (a cut key could match another lead's record), not repaired
    assert [r["reason"] for r in labeled.collect()] == ["marketo_id_too_long"]


def test_lengths_count_characters_not_bytes(leads):
    # GIVEN names at the limit in 2-byte (é) and 3-byte (漢) characters
    rows = [lead(id="1", firstName="é" * 40), lead(id="2", lastName="漢" * 80),
            lead(id="3", firstName="é" * 41)]
    # WHEN labelled with "drop"
    got = {r["MarketoId"]: r["reason"] for r in label(leads, rows, drop_everything_too_long())}
    # THEN only the one over 40 characters is too long, whatever its bytes
    assert got == {"1": None, "2": None, "3": "first_name_too_long"}


def test_a_character_outside_the_bmp_counts_two_as_in_salesforce(leads):
    # GIVEN first names of 20 emoji (40 UTF-16 units) and of 20 emoji + "a" (41 units, 21 code points)
    rows = [lead(id="1", firstName="😀" * 20), lead(id="2", firstName="😀" * 20 + "a")]
    # WHEN labelled with "drop"
    got = {r["MarketoId"]: r["reason"] for r in label(leads, rows, drop_everything_too_long())}
    # THEN the second is too long although Spark's length() says 21
    assert got == {"1": None, "2": "first_name_too_long"}


def test_truncate_never_splits_a_surrogate_pair(leads):
    # GIVEN 39 letters then an emoji: 41 UTF-16 units, the emoji straddling the 40-unit limit
    value = "a" * 39 + "😀"
    # WHEN truncated
    row = fl.label_leads(leads([lead(firstName=value)]), rules()).collect()[0]
    # THEN the whole emoji goes; no half character is written
    assert row["FirstName"] == "a" * 39


def test_truncate_keeps_a_whole_pair_that_ends_at_the_limit(leads):
    # GIVEN 38 letters, an emoji (units 39-40), then more letters
    row = fl.label_leads(leads([lead(firstName="a" * 38 + "😀" + "bc")]), rules()).collect()[0]
    # THEN the cut after unit 40 keeps the emoji
    assert row["FirstName"] == "a" * 38 + "😀"


# --- E-mail -----------------------------------------------------------------------------------

VALID_EMAILS = ["ada@example.com", "a.b+tag@mail.example.co.uk", "o'hara@ex-ample.org",
                "a..b.@example.com", "x_y!#$%&*/=?^`{|}~-@example.com"]
INVALID_EMAILS = ["ada", "ada@", "@example.com", "ada@example", ".ada@example.com",
                  "a b@example.com", "ada@exa_mple.com", "ada@@example.com", "adä@example.com",
                  "ada@example..com", "a" * 69 + "@example.com"]  # 81 characters > 80


@pytest.mark.parametrize("email", VALID_EMAILS)
def test_keeps_an_address_salesforce_accepts(leads, email):
    row = fl.label_leads(leads([lead(email=email)]), rules(invalidEmail="drop")).collect()[0]
    assert (row["reason"], row["Email"]) == (None, email)


@pytest.mark.parametrize("email", INVALID_EMAILS)
def test_drops_an_address_salesforce_refuses_when_told_to(leads, email):
    row = fl.label_leads(leads([lead(email=email)]), rules(invalidEmail="drop")).collect()[0]
    assert row["reason"] == "invalid_email"


def test_email_at_the_field_length_is_kept(leads):
    email = "a" * 68 + "@example.com"  # 80 characters
    row = fl.label_leads(leads([lead(email=email)]), rules(invalidEmail="drop")).collect()[0]
    assert (row["reason"], row["Email"]) == (None, email)


def test_blank_keeps_the_lead_without_its_invalid_email_and_counts_it(leads):
    # GIVEN a lead with an invalid address and one without any
    df = leads([lead(id="1", email="not-an-address"), lead(id="2", email=None)])
    # WHEN labelled with the default rules (blank)
    labeled = fl.label_leads(df, rules())
    # THEN both are kept, the first without its address, and one repair is counted
    assert sorted((r["MarketoId"], r["reason"], r["Email"]) for r in labeled.collect()) == [
        ("1", None, None), ("2", None, None)]
    assert fl.count_report(labeled, "r")["repaired"] == {"invalid_email": 1}


def test_unmapped_email_is_not_checked(leads):
    # GIVEN rules for a mapping without Email (no length, so no e-mail rule)
    lengths = {k: v for k, v in json.loads(DEFAULT_LEAD_RULES_JSON)["maxLengths"].items()
               if k != "Email"}
    row = fl.label_leads(leads([lead(email="nonsense")]), rules(maxLengths=lengths)).collect()[0]
    # THEN the row is kept untouched
    assert (row["reason"], row["Email"]) == (None, "nonsense")


# --- Upsert key -------------------------------------------------------------------------------


def test_rows_without_an_upsert_key_value_are_dropped_with_their_own_reason(leads):
    # GIVEN leads with a null, an empty and a blank id (the default key column is MarketoId)
    df = leads([lead(id=None), lead(id=""), lead(id="  ")])
    # WHEN labelled THEN none is kept, each as missing_upsert_key
    assert [r["reason"] for r in fl.label_leads(df, rules()).collect()] == [
        "missing_upsert_key"] * 3


def email_key_rules():
    raw = json.loads(DEFAULT_LEAD_RULES_JSON)
    return rules(upsertKeyColumn="Email", invalidEmail="drop", tooLong=raw["tooLong"])


def test_dedupes_on_the_configured_upsert_key_keeping_the_newest(leads):
    # GIVEN two Marketo leads that share an e-mail, which is the upsert key column
    df = leads([
        lead(id="1", email="ada@example.com", lastName="Older", updatedAt="2024-05-01T10:00:00Z"),
        lead(id="2", email="ada@example.com", lastName="Newer", updatedAt="2024-05-02T10:00:00Z"),
        lead(id="3", email=None),
    ])
    # WHEN labelled with Email as the key
    got = sorted((r["MarketoId"], r["reason"]) for r in fl.label_leads(df, email_key_rules()).collect())
    # THEN one row per key is left (the newest), and the row without a key is dropped
    assert got == [("1", "superseded_duplicate"), ("2", None), ("3", "missing_upsert_key")]


# --- Precedence and counts --------------------------------------------------------------------


def test_a_drop_rule_wins_over_repairs_and_required_fields_win_over_field_rules(leads):
    # GIVEN rows that break several rules
    df = leads([
        lead(id="1", firstName="f" * 41, lastName="l" * 81, email="bad"),   # repair, drop, repair
        lead(id="2", company=None, lastName="l" * 81),                      # required + length
    ])
    lead_rules = rules(tooLong={**DEFAULT_TOO_LONG, "LastName": "drop"})
    # WHEN labelled
    labeled = fl.label_leads(df, lead_rules)
    got = {r["MarketoId"]: (r["reason"], r["FirstName"], r["Email"]) for r in labeled.collect()}
    # THEN a dropped row keeps its original values and counts no repair
    assert got == {"1": ("last_name_too_long", "f" * 41, "bad"), "2": ("missing_company", "Ada",
                                                                       "ada@example.com")}
    assert fl.count_report(labeled, "r")["repaired"] == {}


def test_mixed_run_counts_balance(leads):
    # GIVEN good, repaired and dropped rows, one repaired twice
    df = leads([
        lead(id="1"), lead(id="2"),                                          # good
        lead(id="3", firstName="f" * 41), lead(id="4", email="bad"),          # repaired
        lead(id="5", company="c" * 256, email="bad@"),                       # repaired twice
        lead(id="6", doNotCall="true"), lead(id=None), lead(id="7" * 81),    # dropped
        lead(id="1", updatedAt="2020-01-01T00:00:00Z"),                       # superseded
    ])
    # WHEN labelled and counted
    report = fl.count_report(fl.label_leads(df, rules()), "run-1")
    # THEN every row read is kept or dropped once, and repairs are counted per rule
    assert report["read"] == 9 == report["kept"] + sum(report["rejected"].values())
    assert report["kept"] == 5
    assert report["rejected"] == {"do_not_call": 1, "marketo_id_too_long": 1,
                                  "missing_upsert_key": 1, "superseded_duplicate": 1}
    assert report["repaired"] == {"company_too_long": 1, "first_name_too_long": 1,
                                  "invalid_email": 2}


def test_curated_rows_carry_the_repaired_values(leads):
    # GIVEN a lead with a long company and an invalid address
    df = leads([lead(id="5", company="c" * 256, email="bad@")])
    # WHEN curated
    curated, rejected = fl.curate(df, rules())
    # THEN the CSV frame holds the repaired row and nothing is rejected
    assertDataFrameEqual(curated, [Row(MarketoId="5", FirstName="Ada", LastName="Lovelace",
                                       Email=None, Company="c" * 255, DoNotCall=False)])
    assert rejected.count() == 0


# --- --lead_rules validation ------------------------------------------------------------------


@pytest.mark.parametrize("changes,message", [
    ({"tooLong": {**DEFAULT_TOO_LONG, "MarketoId": "truncate"}},
     r"tooLong\['MarketoId'\] must be one of \['drop'\], got 'truncate'"),
    ({"upsertKeyColumn": "Email"}, r"invalidEmail must be one of \['drop'\], got 'blank'"),
    ({"upsertKeyColumn": "DoNotCall"}, "upsertKeyColumn 'DoNotCall' must be a mapped text column"),
    ({"maxLengths": {"Phone": 40}}, "maxLengths has 'Phone'"),
    ({"maxLengths": {"MarketoId": 0}}, r"maxLengths\['MarketoId'\] must be a positive whole number"),
    ({"tooLong": {"FirstName": "truncate"}}, "tooLong must give a behaviour for exactly"),
    ({"invalidEmail": "fix"}, "invalidEmail must be one of"),
])
def test_parse_lead_rules_names_the_bad_value(changes, message):
    with pytest.raises(ValueError, match=message):
        rules(**changes)


def test_parse_lead_rules_rejects_unknown_or_missing_keys():
    with pytest.raises(ValueError, match="must be an object with keys"):
        fl.parse_lead_rules('{"upsertKeyColumn": "MarketoId"}')
    with pytest.raises(ValueError, match="must be JSON"):
        fl.parse_lead_rules("{nope")
