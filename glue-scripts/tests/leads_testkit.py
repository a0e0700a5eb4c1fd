"""Helpers shared by the filter_leads tests.

A module of its own rather than conftest.py: test modules import from it, and "conftest" is
not a unique module name once other test folders have one too.
"""

import json
import os

from pyspark.testing import assertDataFrameEqual  # noqa: F401  (re-exported for the tests)


# Marketo REST field names, as AppFlow writes them; the flag as a string, the common case.
LEADS_DDL = (
    "id string, email string, firstName string, lastName string, company string, "
    "createdAt string, updatedAt string, doNotCall string, doNotCallReason string"
)


def lead(
    id="1",
    email="ada@example.com",
    firstName="Ada",
    lastName="Lovelace",
    company="Analytical Engines",
    updatedAt="2024-05-01T10:00:00Z",
    doNotCall="false",
    createdAt="2024-01-01T00:00:00Z",
    doNotCallReason=None,
):
    """One Marketo lead row (tuple in LEADS_DDL order) that is kept unless a test changes it."""
    return (id, email, firstName, lastName, company, createdAt, updatedAt, doNotCall, doNotCallReason)


# The --lead_rules the FilterJob construct passes for the default configuration. A Go test
# (constructs/consumer) renders the same JSON and compares it with this file.
DEFAULT_LEAD_RULES_JSON = open(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "default_lead_rules.json"),
    encoding="utf-8",
).read().strip()


def rules(**changes):
    """LeadRules: the default ones, with top-level keys replaced (JSON names, e.g. tooLong=...)."""
    import filter_leads as fl

    raw = json.loads(DEFAULT_LEAD_RULES_JSON)
    raw.update(changes)
    return fl.parse_lead_rules(json.dumps(raw))
