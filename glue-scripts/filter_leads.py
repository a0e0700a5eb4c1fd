"""Curate one AppFlow pull of Marketo leads for the AppFlow S3 -> Salesforce Lead flow.

Glue 5.0 (Spark 3.5.4, Python 3.11) job. The transform functions at the top are pure
DataFrame -> DataFrame code so they run unchanged on a laptop's local Spark; all I/O
(Parquet in, CSV/Parquet/JSON out, local or s3:// paths) lives in `run()` and `main()`.
No `awsglue` import: a plain SparkSession works on Glue 5.0 and keeps the job testable.

What happens to every row read (exactly one outcome per row, so
`read == kept + sum(rejected.values())` in the report). The upsert key column and every rule's
limit and behaviour come from `--lead_rules` (built by the FilterJob construct from the consumer's
configuration); reason codes are stable, the orchestration and people read them:

1. `missing_upsert_key`    the upsert key column (default MarketoId) is null/blank: AppFlow's
                           upsert could not match it to a Salesforce record.
2. `superseded_duplicate`  an older version of the same upsert key in this pull (incremental pulls
                           repeat leads; one Bulk API batch must not hold one key twice); only the
                           newest `updatedAt` is judged. Counted, NOT written to the rejected output.
3. `do_not_call`           the newest version says Do-Not-Call.
4. `do_not_call_unknown`   the flag is null, unrecognised ("maybe") or the column is absent:
                           only an explicit "false" may reach Salesforce (Lead.DoNotCall is boolean).
5. `missing_last_name`     Salesforce Lead requires LastName.
6. `missing_company`       Salesforce Lead requires Company.
7. `<column>_too_long`     e.g. `last_name_too_long`: longer than the Lead field it maps to, when
                           the rule says "drop" (the upsert key is always dropped, never cut).
8. `invalid_email`         not an address Salesforce accepts, or longer than the field, when the
                           rule says "drop".
   kept                    everything else, after the repairs the rules allow: "truncate" cuts a
                           text column to the field's length, "blank" empties an invalid Email.
                           The report counts repairs per reason code under `repaired` (a row may
                           be repaired in more than one column).

Precedence is the order above: identity first, then compliance (a Do-Not-Call lead is reported
as such even when it also lacks a name), then Salesforce's required fields, then field rules.
"""

import json
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass

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

# The curated columns that hold text: the ones a length rule or the upsert key can apply to.
TEXT_COLUMNS = ["MarketoId", "FirstName", "LastName", "Email", "Company"]

# Marketo REST field names. Without these the job cannot dedupe (id, updatedAt) or produce a
# valid Salesforce Lead (lastName, company), so their absence is an error, not a rejection.
REQUIRED_COLUMNS = ["id", "lastName", "company", "updatedAt"]
OPTIONAL_COLUMNS = ["email", "firstName"]
# Matched case-insensitively, so both `doNotCall` (Marketo) and `DoNotCall` are accepted.
DO_NOT_CALL_COLUMN = "doNotCall"

TRUE_STRINGS = ["true", "1", "yes"]
FALSE_STRINGS = ["false", "0", "no"]

REASON_MISSING_UPSERT_KEY = "missing_upsert_key"
REASON_SUPERSEDED = "superseded_duplicate"
REASON_DO_NOT_CALL = "do_not_call"
REASON_DO_NOT_CALL_UNKNOWN = "do_not_call_unknown"
REASON_MISSING_LAST_NAME = "missing_last_name"
REASON_MISSING_COMPANY = "missing_company"
REASON_INVALID_EMAIL = "invalid_email"

# What a field rule does with a row that breaks it.
DROP, TRUNCATE, BLANK = "drop", "truncate", "blank"

# E-mail addresses as Salesforce Help describes the ones it accepts ("How does Salesforce qualify
# an email address?", knowledge article 000001145): a local part of A-Z a-z 0-9, the characters
# ! # $ % & ' * + - / = ? ^ _ ` { | } ~ and periods, not starting with a period ("a..b" and a
# final period are allowed); "@"; a domain of A-Z a-z 0-9 and "-" in dot-separated labels.
# Salesforce publishes no complete rule ("Salesforce does not provide regex or sample code that
# covers all email address validation rules", article 000384328): addresses with comments, and
# internationalised ones in an org that enabled Email Address Internationalization, pass in
# Salesforce but fail here. That is one reason the default for this rule is "blank", not "drop".
SALESFORCE_EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-][A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]*"
    r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
)

# AppFlow's S3 source: "each source file should not exceed 125 MB in size" (Amazon AppFlow User
# Guide, Amazon S3 as a source: https://docs.aws.amazon.com/appflow/latest/userguide/s3.html).
# Read as decimal megabytes, the smaller of the two readings.
APPFLOW_MAX_SOURCE_FILE_BYTES = 125 * 1000 * 1000

DEFAULT_MAX_ROWS_PER_FILE = 500_000

# THE ONE ASSUMPTION ABOUT APPFLOW'S ERROR FILES. With FailOnFirstError false, AppFlow writes the
# records Salesforce refused under the flow's ErrorHandlingConfig location; no AWS page documents
# those files (the AppFlow API reference's ErrorHandlingConfig names only bucket and prefix; the
# Salesforce connector page says nothing of them). Assumed: JSON Lines anywhere under
# <errors prefix>/<flow>/<execution id>/, one object per refused record holding the record's
# destination fields by their Salesforce names (so the upsert field, e.g. Marketo_Id__c) and the
# reason under one of APPFLOW_ERROR_MESSAGE_FIELDS. Only the upsert field is relied on: a record
# without one of the message fields keeps its whole JSON as its error. docs/first-run.md has the
# check that confirms it on the first run with a refused row.
APPFLOW_ERROR_MESSAGE_FIELDS = ("error", "errorMessage", "message")


def appflow_error_record(fields: dict, message: str) -> dict:
    """One refused record as assumed above (the test doubles write error files with this)."""
    return {**fields, APPFLOW_ERROR_MESSAGE_FIELDS[0]: message}


_REASON = "reason"
# Loads that refused a row before this run (0 for the run's own leads): see label_leads().
_ATTEMPTS = "_attempts"
_SUPERSEDED = "_superseded"
# Prefix of the per-rule repair flags label_leads() adds; tally() sums them.
_REPAIRED = "_repaired_"


class InputSchemaError(ValueError):
    """The input lacks a column the job cannot do without, or has one of an unusable type."""


def too_long_reason(column: str) -> str:
    """`LastName` -> `last_name_too_long`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", column).lower() + "_too_long"


# --------------------------------------------------------------------------------------------
# Rules (from --lead_rules)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadRules:
    """What Salesforce will accept, per consumer, and what to do with a row that breaks it.

    upsert_key_column  curated column mapped to the flow's upsert field: never empty, unique.
    max_lengths        curated text column -> length of the Lead field it is mapped to, in
                       characters as Salesforce counts them. Only mapped columns are listed.
    too_long           column -> "drop" | "truncate", for every max_lengths column but Email.
    invalid_email      "drop" | "blank", for Email when it is mapped.
    """

    upsert_key_column: str
    max_lengths: dict
    too_long: dict
    invalid_email: str


def parse_lead_rules(text: str) -> LeadRules:
    """LeadRules from the `--lead_rules` JSON; every problem named in one ValueError."""
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ValueError(f"--lead_rules must be JSON: {error}") from None
    keys = {"upsertKeyColumn", "maxLengths", "tooLong", "invalidEmail"}
    if not isinstance(raw, dict) or set(raw) != keys:
        got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise ValueError(f"--lead_rules must be an object with keys {sorted(keys)}, got {got}")

    problems = []
    key = raw["upsertKeyColumn"]
    lengths = raw["maxLengths"] if isinstance(raw["maxLengths"], dict) else {}
    too_long = raw["tooLong"] if isinstance(raw["tooLong"], dict) else {}
    for column, length in lengths.items():
        if column not in TEXT_COLUMNS:
            problems.append(f"maxLengths has {column!r}, not one of {TEXT_COLUMNS}")
        if type(length) is not int or length < 1:
            problems.append(f"maxLengths[{column!r}] must be a positive whole number, got {length!r}")
    if key not in lengths:
        problems.append(f"upsertKeyColumn {key!r} must be a mapped text column of maxLengths")
    if set(too_long) != set(lengths) - {"Email"}:
        problems.append(
            f"tooLong must give a behaviour for exactly {sorted(set(lengths) - {'Email'})}, "
            f"got {sorted(too_long)}"
        )
    for column, behaviour in too_long.items():
        allowed = [DROP] if column == key else [DROP, TRUNCATE]
        if behaviour not in allowed:
            problems.append(f"tooLong[{column!r}] must be one of {allowed}, got {behaviour!r}")
    allowed = [DROP] if key == "Email" else [DROP, BLANK]
    if raw["invalidEmail"] not in allowed:
        problems.append(f"invalidEmail must be one of {allowed}, got {raw['invalidEmail']!r}")
    if problems:
        raise ValueError("--lead_rules: " + "; ".join(problems))
    return LeadRules(key, dict(lengths), dict(too_long), raw["invalidEmail"])


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


def do_not_call_columns(df: DataFrame):
    """(`DoNotCall`, `DoNotCallRaw`) for a select from `df`: the flag as boolean (null =
    unknown) and as the string that arrived.

    Real exports carry the flag as boolean, number or string ("TRUE ", "0", "no"). Anything
    not recognisably true/false, and a missing column, is null: unknown is never "false".
    """
    source = _find_column(df, DO_NOT_CALL_COLUMN)
    if source is None:
        return F.lit(None).cast("boolean"), F.lit(None).cast("string")

    column = F.col(f"`{source}`")
    data_type = df.schema[source].dataType
    if isinstance(data_type, T.BooleanType):
        flag = column
    elif isinstance(data_type, T.NumericType):
        flag = F.when(column == 1, True).when(column == 0, False)
    else:
        text = F.lower(F.trim(column.cast("string")))
        flag = F.when(text.isin(TRUE_STRINGS), True).when(text.isin(FALSE_STRINGS), False)
    return flag.cast("boolean"), column.cast("string")


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

    do_not_call, do_not_call_raw = do_not_call_columns(df)

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
        do_not_call.alias("DoNotCall"),
        do_not_call_raw.alias("DoNotCallRaw"),
        _updated_at(df, _find_column(df, "updatedAt")).alias("UpdatedAt"),
    )


def conform_schemas(frames: list) -> DataFrame:
    """One frame from frames (one per Parquet schema of a run) whose column types disagree.

    Marketo's files of one run can type a column differently (id as long here, string there; a
    boolean flag written as a string). Spark's mergeSchema refuses such files, so each schema is
    read on its own and every column whose type differs between them is cast to one canonical
    type: `updatedAt` to timestamp (standardize()'s rules), everything else to string, which
    standardize() reads anyway (the Do-Not-Call flag as "true"/"false"/"1"/"0"). Columns that
    agree keep their type; a column missing from some files is null there.
    """
    types = {}
    for df in frames:
        for field in df.schema.fields:
            types.setdefault(field.name.lower(), set()).add(field.dataType)

    def canonical(df: DataFrame, name: str) -> F.Column:
        column = F.col(f"`{name}`")
        if name.lower() == "updatedat":
            return _updated_at(df, name)
        data_type = df.schema[name].dataType
        if name.lower() == DO_NOT_CALL_COLUMN.lower() and isinstance(data_type, T.NumericType):
            # 1.0 must still read as true once it is a string.
            return F.when(column == 1, "1").when(column == 0, "0").otherwise(column.cast("string"))
        return column.cast("string")

    def conform(df: DataFrame) -> DataFrame:
        return df.select(*[
            canonical(df, name).alias(name) if len(types[name.lower()]) > 1 else F.col(f"`{name}`")
            for name in df.columns
        ])

    result = conform(frames[0])
    for df in frames[1:]:
        result = result.unionByName(conform(df), allowMissingColumns=True)
    return result


def mark_superseded(df: DataFrame, key_column: str) -> DataFrame:
    """Add `_superseded`: true for every row of an upsert key but its newest version.

    One window (one shuffle) on the standardised frame. Newest `UpdatedAt` wins; unparseable
    timestamps lose. Ties are broken on content so reruns pick the same row: a Do-Not-Call
    version first (the safe choice), then unknown, then the remaining fields. Keys compare
    exactly (after trimming): Marketo ids are digits, so case cannot split one lead in two.
    """
    flag_rank = (
        F.when(F.col("DoNotCall"), 0).when(F.col("DoNotCall").isNull(), 1).otherwise(2)
    )
    newest_first = Window.partitionBy(key_column).orderBy(
        F.col("UpdatedAt").desc_nulls_last(),
        flag_rank.asc(),
        *[
            F.col(c).asc_nulls_last()
            for c in ("MarketoId", "LastName", "Company", "Email", "FirstName", "DoNotCallRaw")
            if c != key_column
        ],
        # Same version in the run and in retry/: keep the retry, so its attempts keep counting.
        *([F.col(_ATTEMPTS).desc()] if _ATTEMPTS in df.columns else []),
    )
    return df.withColumn(_SUPERSEDED, F.row_number().over(newest_first) > 1)


def deduplicate_latest(df: DataFrame, key_column: str) -> DataFrame:
    """Only the newest version of each upsert key (input: `standardize()`d leads)."""
    return mark_superseded(df, key_column).filter(~F.col(_SUPERSEDED)).drop(_SUPERSEDED)


def salesforce_length(column: F.Column) -> F.Column:
    """Length as Salesforce counts it: UTF-16 code units.

    Salesforce Help, "Surrogate Pair Characters Are Treated as Two Characters" (knowledge
    article 005166849): formula functions and the Apex String class count a character outside
    the Basic Multilingual Plane (an emoji, some kanji) as 2. That field-length checks count the
    same way is our inference (Salesforce runs on Java, whose strings are UTF-16), not a
    documented statement; counting 2 is the side that never lets a too-long value through.
    Spark's length() counts code points (1 for an emoji), and bytes would over-count every
    accented letter, so neither is used.
    """
    return (F.octet_length(F.encode(column, "UTF-16BE")) / 2).cast("int")


def longer_than(column: F.Column, limit: int) -> F.Column:
    """salesforce_length(column) > limit, encoding only values of more than `limit` bytes: a
    string never has more UTF-16 code units than UTF-8 bytes, so no shorter one is too long."""
    return (F.octet_length(column) > limit) & (salesforce_length(column) > limit)


def truncate_to_length(column: F.Column, limit: int) -> F.Column:
    """The first `limit` UTF-16 code units of a string, never half a surrogate pair, trailing
    spaces trimmed (a cut may end on one)."""
    encoded = F.encode(column, "UTF-16BE")
    # The unit at `limit` is a high surrogate (0xD800-0xDBFF) if its first byte is D8-DB:
    # keeping it without its partner would write a broken character, so stop one unit earlier.
    cuts_a_pair = F.hex(encoded.substr(2 * limit - 1, 1)).isin("D8", "D9", "DA", "DB")
    size = F.when(cuts_a_pair, 2 * limit - 2).otherwise(2 * limit)
    return F.rtrim(F.decode(encoded.substr(F.lit(1), size), "UTF-16BE"))


@dataclass(frozen=True)
class FieldCheck:
    """One field rule: the reason code, the column, when a row breaks it, what to do, and
    the repaired value when the behaviour is a repair."""

    reason: str
    column: str
    broken: F.Column
    behaviour: str
    repaired: F.Column


def field_checks(rules: LeadRules) -> list:
    """The length and e-mail checks of `rules`, in precedence order (CURATED_COLUMNS order)."""
    checks = []
    for column in TEXT_COLUMNS:
        limit = rules.max_lengths.get(column)
        if limit is None or column == "Email":
            continue
        value = F.col(column)
        checks.append(FieldCheck(too_long_reason(column), column, longer_than(value, limit),
                                 rules.too_long[column], truncate_to_length(value, limit)))
    if "Email" in rules.max_lengths:
        email = F.col("Email")
        broken = ~email.rlike(SALESFORCE_EMAIL_PATTERN) | longer_than(email, rules.max_lengths["Email"])
        checks.append(FieldCheck(REASON_INVALID_EMAIL, "Email", broken, rules.invalid_email,
                                 F.lit(None).cast("string")))
    return checks


def label_leads(leads_df: DataFrame, rules: LeadRules, retry_df: DataFrame = None,
                partitions: int = None) -> DataFrame:
    """Standardise, dedupe, give every row its one `reason` (null = kept), repair kept rows.

    `retry_df` (from `refused_rows()`, not quarantined) joins the run's leads before the dedupe:
    a newer version of the same upsert key from the run replaces it (superseded_duplicate), else
    it is judged and sent again like any lead, carrying its `Attempts` in `_attempts` (0 for
    the run's own leads).

    Keeping all rows in one labelled frame lets the caller cache it once and derive the
    curated output, the rejected output and all counts from it without recomputing. Dropped
    rows keep their original values (the rejected output shows what arrived); kept rows carry
    the repaired values and one `_repaired_<reason>` flag per repair rule.

    `partitions`: how many tasks the dedupe's shuffle runs (shuffle_partitions()); by default
    spark.sql.shuffle.partitions.
    """
    key = rules.upsert_key_column
    leads = standardize(leads_df).withColumn(_ATTEMPTS, F.lit(0))
    if retry_df is not None:
        leads = leads.unionByName(retry_as_leads(retry_df))
    if partitions:
        # Hashed on the column the dedupe's window partitions by: the window shuffles no more.
        leads = leads.repartition(partitions, key)
    marked = mark_superseded(leads, key)
    checks = field_checks(rules)
    reason = (
        F.when(F.col(key).isNull(), REASON_MISSING_UPSERT_KEY)
        .when(F.col(_SUPERSEDED), REASON_SUPERSEDED)
        .when(F.col("DoNotCall"), REASON_DO_NOT_CALL)
        .when(F.col("DoNotCall").isNull(), REASON_DO_NOT_CALL_UNKNOWN)
        .when(F.col("LastName").isNull(), REASON_MISSING_LAST_NAME)
        .when(F.col("Company").isNull(), REASON_MISSING_COMPANY)
    )
    for check in checks:
        if check.behaviour == DROP:
            reason = reason.when(check.broken, check.reason)
    labeled = marked.select(*[c for c in marked.columns if c != _SUPERSEDED], reason.alias(_REASON))

    # Few DataFrame steps: each one costs the driver an analysis of the whole plan. Every
    # repair rule has a column of its own, so all flags are computed from the values before
    # any repair replaces them, then all repairs are made at once.
    repairs = [check for check in checks if check.behaviour != DROP]
    labeled = labeled.withColumns({
        _REPAIRED + check.reason: F.coalesce(F.col(_REASON).isNull() & check.broken, F.lit(False))
        for check in repairs
    })
    return labeled.withColumns({
        check.column: F.when(F.col(_REPAIRED + check.reason), check.repaired).otherwise(F.col(check.column))
        for check in repairs
    })


def split_labeled(labeled: DataFrame):
    """(curated, curated_parquet, rejected) frames from `label_leads()` output."""
    kept = labeled.filter(F.col(_REASON).isNull())
    curated_parquet = kept.select(*CURATED_PARQUET_COLUMNS)
    curated = curated_parquet.select(*CURATED_COLUMNS)
    rejected = labeled.filter(
        F.col(_REASON).isNotNull() & (F.col(_REASON) != REASON_SUPERSEDED)
    ).select(*REJECTED_COLUMNS)
    return curated, curated_parquet, rejected


# --------------------------------------------------------------------------------------------
# Rows Salesforce refused: retry or quarantine
# --------------------------------------------------------------------------------------------

# What the job keeps of a row a load refused, in retry/run_id=<run>/ (only key and attempts of
# the rows it sent again) and quarantine/run_id=<run>/ (all of these).
QUARANTINE_COLUMNS = CURATED_PARQUET_COLUMNS + ["Attempts", "LastError", "RefusedInRun"]


def error_records(errors_df: DataFrame, upsert_field: str, key_column: str) -> DataFrame:
    """(key_column, LastError) of AppFlow's error records, one per key, read as assumed above
    (APPFLOW_ERROR_MESSAGE_FIELDS). A file without the upsert field is not the assumed format:
    that fails the run rather than let refused rows vanish."""
    if _find_column(errors_df, upsert_field) is None:
        raise InputSchemaError(
            f'AppFlow\'s error records have no field "{upsert_field}" (fields: {errors_df.columns}): '
            "they are not in the format filter_leads.py assumes (APPFLOW_ERROR_MESSAGE_FIELDS; "
            "docs/first-run.md)")
    message_fields = [c for c in APPFLOW_ERROR_MESSAGE_FIELDS if _find_column(errors_df, c)]
    message = (F.col(f"`{_find_column(errors_df, message_fields[0])}`").cast("string") if message_fields
               else F.to_json(F.struct(*[F.col(f"`{c}`") for c in errors_df.columns])))
    return errors_df.select(
        _clean_string(F.col(f"`{_find_column(errors_df, upsert_field)}`")).alias(key_column),
        message.alias("LastError"),
    ).filter(F.col(key_column).isNotNull()).dropDuplicates([key_column])


def refused_rows(sent_df: DataFrame, errors: DataFrame, key_column: str, refused_in: str,
                 attempts_df: DataFrame = None) -> DataFrame:
    """The rows a run sent (`sent_df`: its curated Parquet) that Salesforce refused (`errors`
    from error_records()), with `Attempts`: the loads that have refused them, i.e. their attempts
    when that run sent them again (`attempts_df`: retry/run_id=<run>/) plus this one."""
    refused = sent_df.join(errors, key_column, "inner")
    if attempts_df is None:
        refused = refused.withColumn("_prior", F.lit(0))
    else:
        prior = attempts_df.select(key_column, F.col("Attempts").alias("_prior"))
        refused = refused.join(prior, key_column, "left")
    return refused.select(
        *CURATED_PARQUET_COLUMNS,
        (F.coalesce(F.col("_prior"), F.lit(0)) + 1).cast("int").alias("Attempts"),
        "LastError",
        F.lit(refused_in).alias("RefusedInRun"),
    )


def split_refused(refused: DataFrame, max_attempts: int):
    """(to retry, to quarantine): a row refused `max_attempts` times is not sent again."""
    spent = F.col("Attempts") >= max_attempts
    return refused.filter(~spent), refused.filter(spent).select(*QUARANTINE_COLUMNS)


def retry_as_leads(retry_df: DataFrame) -> DataFrame:
    """Refused rows in `standardize()`'s shape, to join a run's leads. They were sent, so their
    Do-Not-Call flag is an explicit false."""
    return retry_df.select(
        *CURATED_COLUMNS[:-1],
        F.col("DoNotCall").cast("boolean").alias("DoNotCall"),
        F.lit("false").alias("DoNotCallRaw"),
        F.col("UpdatedAt").cast("timestamp").alias("UpdatedAt"),
        F.col("Attempts").cast("int").alias(_ATTEMPTS),
    )


def sent_again(labeled: DataFrame, key_column: str) -> DataFrame:
    """(key, Attempts) of the refused rows this run sends again: what the next run adds to."""
    return labeled.filter(F.col(_REASON).isNull() & (F.col(_ATTEMPTS) > 0)).select(
        key_column, F.col(_ATTEMPTS).alias("Attempts"))


def curate(leads_df: DataFrame, rules: LeadRules):
    """(curated_df, rejected_df) for raw Marketo leads: the whole transform, no I/O."""
    curated, _, rejected = split_labeled(label_leads(leads_df, rules))
    return curated, rejected


def csv_row_bytes_bound() -> F.Column:
    """An upper bound of the bytes one curated row takes in the CSV the job writes.

    Every value counted as if quoted (2 quotes plus each inner quote doubled, the RFC 4180
    escaping run() asks for), in UTF-8, plus the separators and the line break. Spark quotes
    only some values, so real rows are at most this long.
    """
    total = F.lit(len(CURATED_COLUMNS))  # (columns - 1) commas and one "\n"
    for name in CURATED_COLUMNS:
        value = F.col(name).cast("string")
        # '"' is one byte: the bytes it takes are the quotes (octet_length() reads a stored size).
        quotes = F.octet_length(value) - F.octet_length(F.replace(value, F.lit('"')))
        total = total + F.coalesce(F.octet_length(value) + quotes + 2, F.lit(0))
    return total


# The header line Spark writes (names need no quoting), counted once per file.
CSV_HEADER_BYTES = len(",".join(CURATED_COLUMNS).encode("utf-8")) + 1


def rows_per_csv_file(max_row_bytes, max_file_bytes: int, max_rows: int) -> int:
    """Rows per CSV file so that no file exceeds `max_file_bytes`, given the longest row."""
    if not max_row_bytes:
        return max_rows
    room = max_file_bytes - CSV_HEADER_BYTES
    if max_row_bytes > room:
        raise ValueError(
            f"a curated row may take {max_row_bytes} bytes, more than fits in a CSV file of "
            f"{max_file_bytes} bytes"
        )
    return min(max_rows, room // max_row_bytes)


def tally(labeled: DataFrame, run_id: str):
    """(report, longest kept CSV row in bytes) from one aggregation over the labelled rows.

    Report fields (stable; README "Run report"): runId, read (rows of the run's input), retried
    (rows refused by the last load, sent again), quarantined (set by run()), kept (rows sent on
    to Salesforce), rejected {reason: rows dropped, superseded duplicates included}, repaired
    {reason: repairs made to kept rows}, curatedColumns.
    read + retried == kept + sum(rejected.values()).
    """
    flags = [c for c in labeled.columns if c.startswith(_REPAIRED)]
    rows = labeled.groupBy(_REASON).agg(
        F.count("*").alias("_rows"),
        F.sum((F.col(_ATTEMPTS) > 0).cast("int")).alias("_retried"),
        F.max(F.when(F.col(_REASON).isNull(), csv_row_bytes_bound())).alias("_max_row_bytes"),
        *[F.sum(F.col(flag).cast("int")).alias(flag) for flag in flags],
    ).collect()
    counts = {row[_REASON]: row["_rows"] for row in rows}
    kept_row = next((row for row in rows if row[_REASON] is None), None)
    repaired = {
        flag[len(_REPAIRED):]: kept_row[flag] for flag in flags if kept_row and kept_row[flag]
    }
    kept = counts.pop(None, 0)
    retried = sum(row["_retried"] or 0 for row in rows)
    report = {
        "runId": run_id,
        "read": kept + sum(counts.values()) - retried,
        "retried": retried,
        "quarantined": 0,
        "kept": kept,
        "rejected": dict(sorted(counts.items())),
        "repaired": dict(sorted(repaired.items())),
        "curatedColumns": list(CURATED_COLUMNS),
    }
    return report, kept_row["_max_row_bytes"] if kept_row else None


def count_report(labeled: DataFrame, run_id: str) -> dict:
    """The run report (see tally())."""
    return tally(labeled, run_id)[0]


def format_log_line(report: dict) -> str:
    def pairs(counts):
        return ",".join(f"{k}:{v}" for k, v in counts.items()) or "none"

    return (
        f"filter_leads run={report['runId']} read={report['read']} "
        f"retried={report.get('retried', 0)} quarantined={report.get('quarantined', 0)} "
        f"kept={report['kept']} rejected={pairs(report['rejected'])} "
        f"repaired={pairs(report['repaired'])}"
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
    "lead_rules",
]
_RUN_ID = re.compile(r"^[A-Za-z0-9._-]+$")
RETRY_ARGS = ["retry_path", "quarantine_path"]
# The Salesforce field the flow upserts on, as AppFlow's error records name it (FilterJob passes it).
DEFAULT_UPSERT_FIELD = "Marketo_Id__c"
DEFAULT_MAX_LOAD_ATTEMPTS = 3
# In retry_path: what the last load refused, written by the orchestration once that load settled:
# {"runId", "rejected" (AppFlow's PutFailuresCount), "rejectedRecordsAt" (its error folder)}.
RETRY_MARKER = "pending.json"


def _positive_int(raw: dict, name: str, default: int, maximum=None) -> int:
    value = raw.get(name, "").strip() or str(default)
    if not value.isdigit() or int(value) < 1 or (maximum and int(value) > maximum):
        bound = f" of at most {maximum}" if maximum else ""
        raise ValueError(f'--{name} must be a positive integer{bound}, got "{value}"')
    return int(value)


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
    args["lead_rules"] = parse_lead_rules(args["lead_rules"])
    # Retries of rows Salesforce refused: on when both folders are given (the orchestration does).
    for name in RETRY_ARGS:
        args[name] = raw.get(name, "").strip() or None
    if bool(args["retry_path"]) != bool(args["quarantine_path"]):
        raise ValueError("--retry_path and --quarantine_path go together")
    args["upsert_field"] = raw.get("upsert_field", "").strip() or DEFAULT_UPSERT_FIELD
    args["max_load_attempts"] = _positive_int(raw, "max_load_attempts", DEFAULT_MAX_LOAD_ATTEMPTS, 10)
    args["max_rows_per_file"] = _positive_int(raw, "max_rows_per_file", DEFAULT_MAX_ROWS_PER_FILE)
    args["max_csv_file_bytes"] = _positive_int(
        raw, "max_csv_file_bytes", APPFLOW_MAX_SOURCE_FILE_BYTES, APPFLOW_MAX_SOURCE_FILE_BYTES)
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
    """This run's Parquet files as one frame; an empty frame when there is nothing to read.

    Spark cannot infer a schema from nothing: a missing folder (or S3 prefix) raises
    PATH_NOT_FOUND, an empty one UNABLE_TO_INFER_SCHEMA. Both mean "no new leads"; any other
    error propagates. recursiveFileLookup copes with AppFlow's nested <flow>/<execution>/
    layout; mergeSchema with files that omit an all-null column. mergeSchema refuses files
    that type a column differently (even int vs bigint), so then read_by_schema() takes over.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import AnalysisException

    try:
        df = _parquet_reader(spark).option("mergeSchema", "true").parquet(path)
    except AnalysisException as error:
        if error.getErrorClass() not in _EMPTY_INPUT_ERRORS:
            raise
        return spark.createDataFrame([], _EMPTY_LEADS_SCHEMA)
    except Py4JJavaError:
        # The merge runs as a Spark job, so its refusal arrives as a Java error. A file that
        # is unreadable for another reason fails again below, with its own error.
        df = read_by_schema(spark, path)

    # Zero-row files may carry a bare schema; only data with a missing column is an error.
    if missing_required_columns(df) and df.isEmpty():
        return spark.createDataFrame([], _EMPTY_LEADS_SCHEMA)
    return df


def _parquet_reader(spark: SparkSession):
    return spark.read.option("recursiveFileLookup", "true")


def read_by_schema(spark: SparkSession, path: str) -> DataFrame:
    """The files under `path` grouped by their own schema, each group read on its own, joined
    by conform_schemas(). One footer read (a small Spark job, ~0.1 s locally) per file: the
    price is paid only by a run whose files disagree."""
    files = _parquet_reader(spark).parquet(path).inputFiles()
    groups = {}
    for file in files:
        groups.setdefault(_parquet_reader(spark).parquet(file).schema.json(), []).append(file)
    return conform_schemas([_parquet_reader(spark).parquet(*group) for group in groups.values()])


# Rows per task of the dedupe's shuffle: about 45 MB of shuffle files and 200 MB to sort and
# cache (1,000,000 synthetic leads, make bench).
ROWS_PER_TASK = 1_000_000


def shuffle_partitions(rows: int, parallelism: int) -> int:
    """Tasks for the dedupe of `rows` leads: one per ROWS_PER_TASK rows, at least one per core.

    Its output is cached, and AQE does not resize the last shuffle of a cached plan (Spark 3.5
    keeps spark.sql.shuffle.partitions for it): without this, 200 tasks ran every step after it,
    over 800 tasks for a run of 20,000 leads.
    """
    return max(parallelism, -(-rows // ROWS_PER_TASK))


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


def read_json_object(path: str):
    """The JSON object at `path` (local file or s3:// object), or None when there is none."""
    if path.startswith("s3://"):
        import boto3  # on Glue; only needed for S3

        bucket, _, key = path[len("s3://"):].partition("/")
        client = boto3.client("s3")
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return json.loads(body)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _parquet_or_none(spark: SparkSession, path: str):
    from pyspark.errors import AnalysisException

    try:
        return spark.read.parquet(path)
    except AnalysisException as error:
        if error.getErrorClass() not in _EMPTY_INPUT_ERRORS:
            raise
        return None


def pending_refusals(spark: SparkSession, args: dict):
    """(to retry, to quarantine) from the rows the last load refused, or (None, None).

    The marker names the run R whose load they refused and AppFlow's error folder of that load.
    The rows are R's curated Parquet rows whose upsert key the error records name; their attempts
    are those R sent them with (retry/run_id=R/) plus one. A marker of this run itself is left
    alone: it means this run is being recovered after its load, and its rows are all here anyway.
    Every refused row must be found, or the run fails: none may vanish between two runs.
    """
    if not args.get("retry_path"):
        return None, None
    marker = read_json_object(_join(args["retry_path"], RETRY_MARKER))
    if marker is None or marker["runId"] == args["run_id"]:
        return None, None
    refused_in = marker["runId"]
    key = args["lead_rules"].upsert_key_column
    errors = error_records(
        spark.read.option("recursiveFileLookup", "true").json(marker["rejectedRecordsAt"]),
        args["upsert_field"], key)
    sent = spark.read.parquet(_join(args["curated_parquet_path"], f"run_id={refused_in}"))
    attempts = _parquet_or_none(spark, _join(args["retry_path"], f"run_id={refused_in}"))
    refused = refused_rows(sent, errors, key, refused_in, attempts).persist()
    found = refused.count()
    if found != marker["rejected"]:
        raise ValueError(
            f"the load of run {refused_in} refused {marker['rejected']} rows, but {found} of them are "
            f"found by {args['upsert_field']} in {marker['rejectedRecordsAt']} and that run's curated rows")
    return split_refused(refused, args["max_load_attempts"])


# No _SUCCESS marker: AppFlow would try to read the empty file in its source folder.
_NO_SUCCESS_FILE = {"mapreduce.fileoutputcommitter.marksuccessfuljobs": "false"}


QUARANTINE_SCHEMA = T.StructType(
    [T.StructField(c, T.StringType()) for c in CURATED_COLUMNS[:-1]]
    + [T.StructField("DoNotCall", T.BooleanType()), T.StructField("UpdatedAt", T.TimestampType()),
       T.StructField("Attempts", T.IntegerType()), T.StructField("LastError", T.StringType()),
       T.StructField("RefusedInRun", T.StringType())]
)


def _overwrite(df: DataFrame, path: str) -> None:
    df.write.mode("overwrite").options(**_NO_SUCCESS_FILE).parquet(path)


@contextmanager
def step(spark: SparkSession, name: str):
    """Names the Spark jobs of one step of run(): Glue's Spark UI and the benchmark's profile
    show where a run's time goes by these names."""
    spark.sparkContext.setJobDescription(f"filter_leads: {name}")
    try:
        yield
    finally:
        spark.sparkContext.setJobDescription(None)


def run(spark: SparkSession, args: dict) -> dict:
    """Read, curate, write every output and the report; return the report.

    Outputs, all overwritten so a rerun of the same event is idempotent:
      curated_csv_path/                        CSV with header (AppFlow's source)
      curated_parquet_path/run_id=<run_id>/    Parquet, CURATED_COLUMNS + UpdatedAt
      rejected_path/run_id=<run_id>/           Parquet, REJECTED_COLUMNS
      retry_path/run_id=<run_id>/              Parquet, key + Attempts of refused rows sent again
      quarantine_path/run_id=<run_id>/         Parquet, QUARANTINE_COLUMNS
      report_path                              JSON report, written last
    """
    run_id = args["run_id"]
    max_rows = args["max_rows_per_file"]
    key = args["lead_rules"].upsert_key_column
    with step(spark, "read refused rows"):
        retry, quarantine = pending_refusals(spark, args)
    with step(spark, "read leads"):
        leads = read_leads(spark, args["input_path"])
        # Counting Parquet rows reads only the files' footers.
        partitions = shuffle_partitions(leads.count(), spark.sparkContext.defaultParallelism)
    # Cached once: the counts and all the writes read it instead of re-reading and re-sorting.
    labeled = label_leads(leads, args["lead_rules"], retry, partitions).persist()
    try:
        with step(spark, "label and count"):
            report, max_row_bytes = tally(labeled, run_id)
        if args.get("retry_path"):
            with step(spark, "write retry and quarantine"):
                if quarantine is None:
                    quarantine = labeled.sparkSession.createDataFrame([], QUARANTINE_SCHEMA)
                else:
                    report["quarantined"] = quarantine.count()
                again = sent_again(labeled, key)
                if not report["retried"]:
                    again = again.limit(0)  # none to look for: no scan of the cached rows
                _overwrite(again.coalesce(1), _join(args["retry_path"], f"run_id={run_id}"))
                _overwrite(quarantine.coalesce(1), _join(args["quarantine_path"], f"run_id={run_id}"))
        curated, curated_parquet, rejected = split_labeled(labeled)
        # AppFlow reads each CSV file whole: bound every file by bytes, not only by rows.
        csv_rows = rows_per_csv_file(max_row_bytes, args["max_csv_file_bytes"], max_rows)
        # The cached rows keep the dedupe's partitions; size the writes from the counts just
        # taken: about one file of at most max_rows rows per task, not one per partition.
        curated = curated.coalesce(_partitions(report["kept"], csv_rows))
        curated_parquet = curated_parquet.coalesce(_partitions(report["kept"], max_rows))
        rejected_rows = sum(report["rejected"].values()) - report["rejected"].get(
            REASON_SUPERSEDED, 0
        )
        rejected = rejected.coalesce(_partitions(rejected_rows, max_rows))

        with step(spark, "write curated CSV"):
            (
                curated.write.mode("overwrite")
                .options(**_NO_SUCCESS_FILE)
                .option("header", "true")
                .option("escape", '"')  # RFC 4180 quoting ("" inside quotes), not Spark's \"
                .option("maxRecordsPerFile", csv_rows)
                .csv(args["curated_csv_path"])
            )
        with step(spark, "write curated Parquet"):
            (
                curated_parquet.write.mode("overwrite")
                .options(**_NO_SUCCESS_FILE)
                .option("maxRecordsPerFile", max_rows)
                .parquet(_join(args["curated_parquet_path"], f"run_id={run_id}"))
            )
        with step(spark, "write rejected"):
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


# Spark settings the job runs with (main() sets them; the benchmark too). The labelled rows are
# cached for a few reads within one run: compressing the cache took more CPU than any other
# step of the job (README, "Filter job: speed and sizing").
SPARK_CONF = {"spark.sql.inMemoryColumnarStorage.compressed": "false"}


class JobFailed(RuntimeError):
    """The job failed for a reason only its error log tells (see without_row_values)."""


def without_row_values(error: BaseException) -> BaseException:
    """The error the job run fails with, as Glue reports it (the run's ErrorMessage).

    That message travels on: into the orchestration's execution history and its log group, and into the
    failed-execution alarm's message and e-mail. A message this script writes names columns, counts,
    paths and run ids, never a lead's value, and goes on as it is. Any other error (Spark's, py4j's, a
    library's) may quote a row, e.g. a value it could not cast: it goes on as its type alone, and its
    full text and traceback are printed to the job's error log, which Glue encrypts with the inbox
    bucket's key (the security configuration)."""
    import linecache
    import traceback

    frame, lineno = None, 0
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        pass
    if frame is not None and os.path.abspath(frame.f_code.co_filename) == os.path.abspath(__file__):
        if linecache.getline(frame.f_code.co_filename, lineno).lstrip().startswith("raise"):
            return error   # a raise statement of this script: its own message

    traceback.print_exception(error, file=sys.stderr)
    return JobFailed(f"{type(error).__name__} outside filter_leads.py: its message may quote a lead's value, "
                     "so it is only in the job run's error log (CloudWatch Logs, encrypted with the inbox key)")


def main(argv=None) -> dict:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        builder = SparkSession.builder.appName("filter_leads")
        for key, value in SPARK_CONF.items():
            builder = builder.config(key, value)
        return run(builder.getOrCreate(), args)
    except Exception as error:
        safe = without_row_values(error)
        if safe is error:
            raise
        raise safe from None


if __name__ == "__main__":
    main()
