"""Each consumer's orchestration state machine, run as synthesized (cdk.out) on moto in its own account.

GIVEN a hand-off (objects under inbox/<runId>/ of the consumer's inbox bucket and the "Leads Handed Off"
event), WHEN the orchestration runs, THEN it takes the run lock, runs the filter job, loads the curated
CSV into Salesforce through AppFlow and only after that moves curated/ -> processed/<runId>/ and
inbox/<runId>/ -> archive/<runId>/, releasing the lock on every path; then it crawls archive/, and a
crawl that goes wrong puts a "Catalog Not Refreshed" event (for the alarm topic) without failing the run.

Doubles (see fakes.py): AppFlow is not in moto, so `aws-sdk:appflow:*` Task calls are answered by
FakeAppFlow at the service-integration boundary; the Glue job's Spark code does not run, so
`filter_job()` writes what the script would (report JSON, curated CSV) when the run starts; crawl
outcomes are picked by the test. Every scenario runs for both consumers (sales, partners).
"""
from __future__ import annotations

import threading

import pytest

import moto_patches
from fakes import filter_job
from leadbridge import CONSUMER_STACKS, FORWARDING, Consumer

FILES = ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]


@pytest.fixture(params=sorted(CONSUMER_STACKS))
def consumer(aws, request) -> Consumer:
    c = Consumer.deploy(aws, request.param)
    aws.glue_jobs.on_run = filter_job()
    return c


def hand_off(c: Consumer, run_id: str, files=FILES) -> dict:
    for f in files:
        c.put(f"inbox/{run_id}/{f}", f"parquet {f}")
    return c.handoff_event(run_id, len(files))


def assert_nothing_moved(c: Consumer, run_id: str, files=FILES, curated_expected: bool = None):
    assert sorted(c.keys(f"inbox/{run_id}/")) == sorted(f"inbox/{run_id}/{f}" for f in files)
    assert c.keys("archive/") == []
    assert c.keys("processed/") == []
    if curated_expected is not None:
        assert bool(c.keys("curated/")) == curated_expected


def failed_steps(ex) -> list[str]:
    return [f[1] for f in ex.failures()]


# --- the happy path and its variants -----------------------------------------------------------------

def test_successful_load_moves_curated_to_processed_and_source_to_archive(aws, consumer):
    c = consumer
    event = hand_off(c, "run-1")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert ex.entered[-1] == "RunComplete"
    [(job, args)] = aws.glue_jobs.runs
    assert (job, args["--input_path"]) == (c.job, f"s3://{c.inbox}/inbox/run-1/")
    [start] = aws.appflow.started()
    assert start["flowName"] == c.flow
    assert start["clientToken"] == f"run-1-{ex.name}", "client token: run id and execution name"
    assert c.keys("curated/") == []
    assert c.keys("processed/run-1/") == ["processed/run-1/part-00000-run-1.csv"]
    assert c.keys("inbox/run-1/") == []
    assert sorted(c.keys("archive/run-1/")) == sorted(f"archive/run-1/{f}" for f in FILES)
    assert aws.body(c.inbox, c.account, "archive/run-1/part-00000.parquet") == b"parquet part-00000.parquet"
    assert c.lock() is None, "lock not released"
    assert moto_patches.SLEEPS["wait"].count(60) >= 1, "no wait before polling the AppFlow run"
    assert ex.entered.index("StartCrawler") > ex.entered.index("ReleaseRunLock"), "crawled before the files were archived"


def test_crawler_already_running_is_not_a_failure(aws, consumer):
    c = consumer
    aws.glue_jobs.crawls_stay_running_for(2)
    aws.client("glue", c.account).start_crawler(Name=c.crawler)   # e.g. its schedule started it
    event = hand_off(c, "run-2")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert "Glue.CrawlerRunningException" in failed_steps(ex)
    assert ex.entered.count("GetCrawler") >= 2
    assert c.keys("archive/run-2/") and c.lock() is None


def test_crawler_running_then_ready_is_polled_until_ready(aws, consumer):
    c = consumer
    aws.glue_jobs.crawls_stay_running_for(3)
    event = hand_off(c, "run-3")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert ex.entered.count("GetCrawler") == 4       # RUNNING, RUNNING, RUNNING, READY
    assert ex.entered.index("RunFilterJob") < ex.entered.index("StartCrawler"), "the job waited for the crawl"
    assert ex.entered[-1] == "RunComplete"


def assert_catalog_alarm(c: Consumer, observer, run_id: str, error: str):
    [event] = [e for e in observer.events() if e["source"] == "leadbridge.orchestration"]
    assert event["detail-type"] == "Catalog Not Refreshed"
    assert event["detail"]["crawler"] == c.crawler, "the alarm rule matches on the crawler's name"
    assert (event["detail"]["runId"], event["detail"]["error"]) == (run_id, error)
    own = {c.stack.resolve({"Ref": lid}) for lid in c.stack.of_type("AWS::SNS::Topic")}
    [rule] = [r for r in c.stack.of_type("AWS::Events::Rule").values()
              if r["Properties"].get("EventPattern", {}).get("detail-type") == ["Catalog Not Refreshed"]]
    topics = {c.stack.resolve(target["Arn"]) for target in rule["Properties"]["Targets"]}
    assert own & topics, "the alarm rule targets the stack's alarm topic"
    assert len(topics) == (2 if c.name in FORWARDING else 1), "... and the forward topic, where one is configured"
    delivered = {arn: [e["detail-type"] for e in c.world.delivered(arn)] for arn in topics}
    assert delivered == {arn: ["Catalog Not Refreshed"] for arn in topics}, "each gets the event once"


def assert_loaded_and_archived(aws, c: Consumer, run_id: str):
    assert len(aws.appflow.started()) == 1
    assert c.keys("inbox/") == [] and sorted(c.keys(f"archive/{run_id}/")) == sorted(f"archive/{run_id}/{f}" for f in FILES)
    assert c.keys("curated/") == [] and c.keys(f"processed/{run_id}/")
    assert c.lock() is None


def test_failed_crawl_alarms_but_the_run_loads_archives_and_succeeds(aws, consumer):
    c = consumer
    aws.glue_jobs.crawl_outcome = "FAILED"
    default_bus = aws.observe_bus(c.account, "default")
    event = hand_off(c, "run-4")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert ["CrawlFailed", "ReportCatalogNotRefreshed", "RunComplete"] == ex.entered[-3:]
    assert_loaded_and_archived(aws, c, "run-4")
    assert_catalog_alarm(c, default_bus, "run-4", "CrawlFailed")


def test_crawler_that_never_finishes_times_out_and_alarms(aws, consumer):
    c = consumer
    aws.glue_jobs.crawls_stay_running_for(10**6)
    default_bus = aws.observe_bus(c.account, "default")
    event = hand_off(c, "run-5")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert "CrawlerTimedOut" in ex.entered
    polls = ex.entered.count("GetCrawler")
    assert 2 <= polls <= 200, f"poll loop not bounded sensibly: {polls} GetCrawler calls"
    assert_loaded_and_archived(aws, c, "run-5")
    assert_catalog_alarm(c, default_bus, "run-5", "CrawlerTimedOut")


def test_crawler_that_cannot_start_alarms(aws, consumer):
    c = consumer
    aws.client("glue", c.account).delete_crawler(Name=c.crawler)    # e.g. deleted by hand
    default_bus = aws.observe_bus(c.account, "default")

    ex = c.run(hand_off(c, "run-nc"))

    assert ex.status == "SUCCEEDED", ex
    assert_loaded_and_archived(aws, c, "run-nc")
    assert_catalog_alarm(c, default_bus, "run-nc", "Glue.EntityNotFoundException")


def test_crawl_alarm_that_cannot_be_sent_fails_the_execution_after_the_files_moved(aws, consumer, monkeypatch):
    """Only if even the alarm event cannot be put does the execution fail, so that its own alarm fires."""
    from moto.core.exceptions import JsonRESTError
    from moto.events import models as events_models
    c = consumer
    aws.glue_jobs.crawl_outcome = "FAILED"
    real_put_events = events_models.EventsBackend.put_events

    def put_events(backend, events):
        if any(e.get("Source") == "leadbridge.orchestration" for e in events):
            raise JsonRESTError("InternalException", "injected")
        return real_put_events(backend, events)
    monkeypatch.setattr(events_models.EventsBackend, "put_events", put_events)

    ex = c.run(hand_off(c, "run-na"))

    assert ex.status == "FAILED", ex
    assert ex.error == "CatalogAlarmNotSent"
    assert ex.entered.count("ReportCatalogNotRefreshed") == 1
    assert_loaded_and_archived(aws, c, "run-na")


def test_crawl_time_that_cannot_be_published_fails_the_execution_after_the_files_moved(aws, consumer, monkeypatch):
    """The crawl's duration goes on the dashboard's metric; if even that put fails, the execution fails
    (its alarm names the state) rather than ending without it."""
    from moto.cloudwatch import models as cloudwatch_models
    from moto.core.exceptions import JsonRESTError
    c = consumer
    real_put = cloudwatch_models.CloudWatchBackend.put_metric_data

    def put_metric_data(backend, namespace, metric_data):
        if any(d.get("MetricName") == "CrawlSeconds" for d in metric_data):
            raise JsonRESTError("InternalServiceError", "injected")
        return real_put(backend, namespace, metric_data)
    monkeypatch.setattr(cloudwatch_models.CloudWatchBackend, "put_metric_data", put_metric_data)

    ex = c.run(hand_off(c, "run-nm"))

    assert ex.status == "FAILED", ex
    assert ex.error == "CrawlSecondsNotPublished"
    assert_loaded_and_archived(aws, c, "run-nm")


def test_failed_glue_job_moves_nothing_and_skips_salesforce(aws, consumer):
    c = consumer
    aws.glue_jobs.on_run = filter_job(final_state="FAILED")
    event = hand_off(c, "run-6")

    ex = c.run(event)

    assert ex.status == "FAILED", ex
    assert "States.TaskFailed" in failed_steps(ex)
    assert ex.cause.startswith("run run-6 stopped at state RunFilterJob: "), "the failure names run and state"
    assert len(aws.glue_jobs.runs) == 1, "a failed run is the job's answer: it must not be rerun"
    assert aws.appflow.calls == []
    assert_nothing_moved(c, "run-6", curated_expected=False)
    assert c.lock() is None


def test_throttled_glue_start_is_retried_and_the_run_succeeds(aws, consumer):
    c = consumer
    aws.glue_jobs.start_errors = ["ThrottlingException"]
    event = hand_off(c, "run-6t")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert "Glue.ThrottlingException" in failed_steps(ex)
    assert len(aws.glue_jobs.runs) == 1, "one run started, after the throttled start"
    assert moto_patches.SLEEPS["retry"], "the retry did not back off"
    assert c.keys("inbox/run-6t/") == [] and len(c.keys("archive/run-6t/")) == len(FILES)


def test_job_that_kept_no_leads_skips_salesforce_and_still_archives(aws, consumer):
    c = consumer
    aws.glue_jobs.on_run = filter_job(kept=0)
    event = hand_off(c, "run-7")

    ex = c.run(event)

    assert ex.status == "SUCCEEDED", ex
    assert aws.appflow.calls == [], "AppFlow called for a run with no leads"
    assert "StartSalesforceLoad" not in ex.entered
    assert c.keys("inbox/run-7/") == [] and len(c.keys("archive/run-7/")) == len(FILES)
    assert c.keys("curated/") == []


def test_salesforce_load_error_moves_nothing_and_fails(aws, consumer):
    c = consumer
    aws.appflow.statuses = ["InProgress", "InProgress", "Error"]
    event = hand_off(c, "run-8")

    ex = c.run(event)

    assert ex.status == "FAILED", ex
    assert "LoadFailed" in ex.entered
    assert ex.cause.startswith("run run-8 stopped at state LoadFailed: The Salesforce flow run ended"), ex.cause
    assert ex.entered.count("DescribeSalesforceLoad") == 3
    assert_nothing_moved(c, "run-8", curated_expected=True)  # curated stays for a re-drive
    assert c.lock() is None
    # AppFlow kept the refused records at the flow's error location (written as appflow.amazonaws.com)
    assert [k.rsplit("/", 2)[0] for k in c.keys("errors/")] == [f"errors/{c.flow}"], c.keys("errors/")


def test_same_handoff_delivered_twice_second_run_loads_nothing_and_succeeds(aws, consumer):
    """The producer can announce a run twice (at-least-once delivery, a re-announcement): the second
    run finds inbox/<runId>/ already archived and only releases the lock: no crawl, no job, no load."""
    c = consumer
    event = hand_off(c, "run-dup")
    first = c.run(event)
    second = c.run(event)

    assert first.status == second.status == "SUCCEEDED", (first, second)
    assert "HasSourceFiles" in second.entered and "StartCrawler" not in second.entered, second.entered
    assert len(aws.glue_jobs.runs) == 1
    assert len(aws.appflow.started()) == 1
    assert sorted(c.keys("archive/run-dup/")) == sorted(f"archive/run-dup/{f}" for f in FILES)
    assert c.keys("processed/run-dup/") == ["processed/run-dup/part-00000-run-dup.csv"]


def test_rerun_after_a_failed_load_starts_a_new_load(aws, consumer):
    """AppFlow treats a repeated client token (for 8 h) as the same StartFlow call: the token carries the
    execution name, so a new execution for the same run gets a new flow run, not the failed one."""
    c = consumer
    aws.appflow.statuses = ["Error"]
    event = hand_off(c, "run-redrive")
    assert c.run(event).status == "FAILED"

    aws.appflow.statuses = ["InProgress", "Successful"]     # Salesforce fixed; an operator re-drives
    again = c.run(event)

    assert again.status == "SUCCEEDED", again
    assert len({p["clientToken"] for p in aws.appflow.started()}) == 2


# --- the run lock ------------------------------------------------------------------------------------

# How long a scenario may take on a loaded machine: B's bounded lock wait is some 360 polls of the
# emulator, which took more than a minute of wall time at a load average of 16.
SLOW_SCENARIO_SECONDS = 600


class ParkedRun:
    """Execution A holds the lock, parked inside its Glue job run until released. It stays parked for
    as long as any scenario may take (a release that never comes fails the test, not a clock)."""

    def __init__(self, aws, c: Consumer, run_id: str):
        self.aws, self.c = aws, c
        self.in_job, self.release = threading.Event(), threading.Event()
        real_job = filter_job()

        def on_run(job_name, args, world):
            if args["--run_id"] == run_id:
                self.in_job.set()
                assert self.release.wait(SLOW_SCENARIO_SECONDS + 60), "parked run never released"
            return real_job(job_name, args, world)
        aws.glue_jobs.on_run = on_run
        self.arn = c.start(hand_off(c, run_id))
        assert self.in_job.wait(30), "run A never reached its Glue job"

    def finish(self):
        self.release.set()
        return self.aws.wait(self.arn)


def test_second_run_waits_for_the_lock_owner_then_proceeds(aws, consumer):
    c = consumer
    a = ParkedRun(aws, c, "run-a")
    assert c.lock()["owner"] == a.arn
    finished = {}
    # while B waits for the lock, A finishes and releases it
    aws.while_waiting_in("WaitForRunLock", lambda s: finished.setdefault("a", a.finish()))

    b = c.run(hand_off(c, "run-b", ["b.parquet"]))

    assert finished["a"].status == "SUCCEEDED", finished["a"]
    assert b.status == "SUCCEEDED", b
    assert ["DescribeLockOwner", "IsLockOwnerRunning", "WaitForRunLock", "CountLockWaits",
            "HasLockWaitsLeft", "AcquireRunLock"] == b.entered[b.entered.index("DescribeLockOwner"):][:6]
    assert [r[1]["--run_id"] for r in aws.glue_jobs.runs] == ["run-a", "run-b"], "B ran its job inside A's lock"
    assert c.keys("archive/run-a/") and c.keys("archive/run-b/") and c.lock() is None


def test_lock_wait_is_bounded_and_does_not_steal_or_drop_the_owners_lock(aws, consumer):
    c = consumer
    a = ParkedRun(aws, c, "run-a")

    b = c.run(hand_off(c, "run-b", ["b.parquet"]), timeout=SLOW_SCENARIO_SECONDS)

    assert b.status == "FAILED", b
    assert "LockWaitTimedOut" in b.entered
    assert 2 <= b.entered.count("WaitForRunLock") <= 2000
    assert c.lock()["owner"] == a.arn, "B released or stole A's lock"
    assert a.finish().status == "SUCCEEDED"
    assert c.keys("inbox/run-b/") == ["inbox/run-b/b.parquet"], "B moved files without the lock"


def test_stale_lock_of_a_finished_execution_is_taken_over(aws, consumer):
    c = consumer
    crashed = c.run(hand_off(c, "run-old"))           # any execution that is no longer RUNNING
    assert crashed.status == "SUCCEEDED", crashed
    c.set_lock(owner=crashed.arn, run_id="run-old")   # as if it had died holding the lock

    ex = c.run(hand_off(c, "run-c"))

    assert ex.status == "SUCCEEDED", ex
    assert "TakeOverStaleLock" in ex.entered
    assert c.keys("archive/run-c/") and c.lock() is None


def test_stale_lock_of_an_unknown_execution_is_taken_over(aws, consumer):
    c = consumer
    gone = c.machine.arn.replace(":stateMachine:", ":execution:") + ":deleted-long-ago"
    c.set_lock(owner=gone)

    ex = c.run(hand_off(c, "run-d"))

    assert ex.status == "SUCCEEDED", ex
    assert "Sfn.ExecutionDoesNotExistException" in failed_steps(ex)
    assert "TakeOverStaleLock" in ex.entered and c.lock() is None


def test_lock_without_an_owner_is_taken_over_without_spinning(aws, consumer):
    c = consumer
    c.world.client("dynamodb", c.account).put_item(
        TableName=c.lock_table, Item={"lockId": {"S": "curated"}, "runId": {"S": "by-hand"}})

    ex = c.run(hand_off(c, "run-o"))

    assert ex.status == "SUCCEEDED", ex
    assert ex.entered.count("GetLockOwner") == 1 and "TakeOverOwnerlessLock" in ex.entered
    assert c.lock() is None


def test_lock_released_between_attempt_and_lookup_is_retried(aws, consumer):
    c = consumer
    c.set_lock(owner="arn:aws:states:eu-west-1:" + c.account + ":execution:other:run")
    released = []

    def owner_releases(_arn):
        if not released:
            released.append(True)
            aws.client("dynamodb", c.account).delete_item(TableName=c.lock_table, Key={"lockId": {"S": "curated"}})
    aws.when_entering("GetLockOwner", owner_releases)

    ex = c.run(hand_off(c, "run-e"))

    assert ex.status == "SUCCEEDED", ex
    i = ex.entered.index("IsLockStillHeld")
    assert ex.entered[i + 1] == "AcquireRunLock"
    assert "TakeOverStaleLock" not in ex.entered


def test_stale_lock_taken_over_by_another_run_first_makes_this_one_wait(aws, consumer):
    c = consumer
    prefix = c.machine.arn.replace(":stateMachine:", ":execution:")
    c.set_lock(owner=prefix + ":stale-1")
    raced = []

    def another_run_takes_it(_arn):
        if not raced:
            raced.append(True)
            c.set_lock(owner=prefix + ":stale-2")    # ... and then dies too
    aws.when_entering("TakeOverStaleLock", another_run_takes_it)

    ex = c.run(hand_off(c, "run-f"))

    assert ex.status == "SUCCEEDED", ex
    assert ex.entered.count("TakeOverStaleLock") == 2
    assert "WaitForRunLock" in ex.entered
    assert c.lock() is None
