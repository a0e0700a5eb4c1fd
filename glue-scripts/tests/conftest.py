"""Shared fixtures: one local SparkSession for the whole test session, no network, no S3."""

import os
import sys

import pytest

# The job is a plain script (Glue uploads it as one file), not a package: import it by path,
# and the helpers beside this file, whatever pytest's import mode.
_TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(_TESTS), _TESTS]

from leads_testkit import LEADS_DDL  # noqa: E402


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("filter_leads-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`--dist loadgroup`) every test that uses Spark runs in the same worker: one
    JVM and one SparkSession for all of them, not one per worker."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture
def leads(spark):
    """Build a leads DataFrame from lead() tuples (or any rows with a DDL schema)."""

    def build(rows, schema=LEADS_DDL):
        return spark.createDataFrame(rows, schema)

    return build
