"""The leadbridge pipeline as the tests see it: which stack is which, the events, and seeding helpers.

Names come from the synthesized templates (buckets, buses, flows, jobs), never from constants here, so
the tests follow the Go code; only the example configuration's shape (one producer, consumers "sales"
in 222222222222 and "partners" in 333333333333) is assumed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fakes import marketo_run_prefix
from harness import Machine, Stack, World, find_machine

PRODUCER_STACK = "leadbridge-producer"
CONSUMER_STACKS = {"sales": "leadbridge-consumer-sales", "partners": "leadbridge-consumer-partners"}
# Consumers whose example configuration forwards their alerts to an existing topic (alarmTopicArn).
FORWARDING = {"partners"}
MARKETO_FLOW = "leadbridge-marketo-leads"


def appflow_end_event(run_id: str, status: str = "Execution Successful", records: int = 10,
                      flow: str = MARKETO_FLOW, account: str = "111111111111") -> dict:
    """An "AppFlow End Flow Run Report" event as AppFlow puts it on the default bus."""
    return {"version": "0", "id": f"evt-{run_id}", "source": "aws.appflow",
            "detail-type": "AppFlow End Flow Run Report", "account": account, "region": "eu-west-1",
            "time": "2026-01-01T00:00:00Z", "resources": [f"{run_id}"],
            "detail": {"flow-name": flow, "flow-arn": f"arn:aws:appflow:eu-west-1:{account}:flow/{flow}",
                       "execution-id": run_id, "status": status, "num-of-records-processed": str(records)}}


def appflow_deactivated_event(flow: str = MARKETO_FLOW, account: str = "111111111111") -> dict:
    """An "AppFlow Scheduled Flow Deactivated" event (AppFlow guide, flow notifications: common detail
    fields plus deactivation-reason and deactivation-time)."""
    return {"version": "0", "id": "evt-deactivated", "source": "aws.appflow",
            "detail-type": "AppFlow Scheduled Flow Deactivated", "account": account, "region": "eu-west-1",
            "time": "2026-01-01T00:00:00Z", "resources": [],
            "detail": {"flow-name": flow, "flow-arn": f"arn:aws:appflow:eu-west-1:{account}:flow/{flow}",
                       "trigger-type": "Scheduled", "deactivation-reason": "Flow failed 10 consecutive times",
                       "deactivation-time": "2026-01-01T00:00:00Z"}}


def _only(stack: Stack, cfn_type: str, predicate=lambda props: True) -> str:
    found = [lid for lid, r in stack.of_type(cfn_type).items() if predicate(r.get("Properties", {}))]
    assert len(found) == 1, f"{stack.name}: expected one {cfn_type}, found {found}"
    return found[0]


@dataclass
class Producer:
    world: World
    stack: Stack
    machine: Machine
    landing: str

    @classmethod
    def deploy(cls, world: World) -> "Producer":
        stack = world.deploy(PRODUCER_STACK)
        machine = find_machine(world.stacks, PRODUCER_STACK, "HandoffStateMachine")
        # the landing bucket is the one the Marketo flow writes to
        flow = stack.resolve(stack.resources[_only(stack, "AWS::AppFlow::Flow")]["Properties"])
        landing = flow["DestinationFlowConfigList"][0]["DestinationConnectorProperties"]["S3"]["BucketName"]
        return cls(world, stack, machine, landing)

    @property
    def account(self) -> str:
        return self.stack.account

    def land(self, run_id: str, names, body=lambda name: f"parquet bytes of {name}".encode()) -> list[str]:
        """What a Marketo run writes: AppFlow puts each file as appflow.amazonaws.com, acting for the
        producer account (recorded for the IAM check, which judges it by the landing bucket's policy)."""
        keys = [marketo_run_prefix(MARKETO_FLOW, run_id) + n for n in names]
        s3 = self.world.client("s3", self.account)
        for key, name in zip(keys, names):
            s3.put_object(Bucket=self.landing, Key=key, Body=body(name))
            if self.world.calls is not None:
                self.world.calls.record("appflow.amazonaws.com", "s3", "PutObject", {"Bucket": self.landing, "Key": key},
                                        self.account, source_account=self.account)
        return keys

    def appflow_reports(self, run_id: str, **kw) -> list[dict]:
        """AppFlow puts its end-of-run event on the default bus; returns what the trigger rule delivered."""
        self.appflow_puts(appflow_end_event(run_id, account=self.account, **kw))
        return self.world.delivered(self.machine.arn)

    def appflow_puts(self, ev: dict) -> None:
        """An AppFlow event, as AppFlow puts it on the producer's default bus."""
        resp = self.world.client("events", self.account).put_events(Entries=[{
            "Source": ev["source"], "DetailType": ev["detail-type"], "Detail": json.dumps(ev["detail"]),
            "Resources": ev["resources"]}])
        assert resp["FailedEntryCount"] == 0, resp

    @property
    def alarm_topic(self) -> str:
        """ARN of the producer stack's alarm topic."""
        return self.stack.resolve({"Ref": _only(self.stack, "AWS::SNS::Topic")})

    def run(self, event: dict, name: str | None = None, timeout: float = 120):
        return self.world.run(self.machine.arn, event, name=name, timeout=timeout)

    def landed(self, run_id: str) -> list[str]:
        return self.world.keys(self.landing, self.account, marketo_run_prefix(MARKETO_FLOW, run_id))

    def archived(self, run_id: str) -> list[str]:
        return self.world.keys(self.landing, self.account, f"archive/{MARKETO_FLOW}/{run_id}/")


@dataclass
class Consumer:
    world: World
    name: str
    stack: Stack
    machine: Machine
    inbox: str
    bus: str
    lock_table: str
    crawler: str
    job: str
    flow: str

    @classmethod
    def deploy(cls, world: World, name: str, skip_types: tuple = ()) -> "Consumer":
        stack_name = CONSUMER_STACKS[name]
        stack = world.deploy(stack_name, skip_types=skip_types)
        pn = stack.physical_name
        return cls(world, name, stack, find_machine(world.stacks, stack_name, "OrchestrationStateMachine"),
                   inbox=pn(_only(stack, "AWS::S3::Bucket", lambda p: "BucketName" in p)),
                   bus=pn(_only(stack, "AWS::Events::EventBus")),
                   lock_table=pn(_only(stack, "AWS::DynamoDB::Table")),
                   crawler=pn(_only(stack, "AWS::Glue::Crawler")),
                   job=pn(_only(stack, "AWS::Glue::Job")),
                   flow=pn(_only(stack, "AWS::AppFlow::Flow")))

    @property
    def account(self) -> str:
        return self.stack.account

    def keys(self, prefix: str = "") -> list[str]:
        return self.world.keys(self.inbox, self.account, prefix)

    def put(self, key: str, body: bytes | str = b"x") -> None:
        self.world.put(self.inbox, self.account, key, body)

    def handoff_event(self, run_id: str, object_count: int = 1) -> dict:
        """The hand-off event as the producer puts it on this consumer's bus."""
        return {"version": "0", "id": f"evt-{run_id}", "source": "leadbridge.handoff",
                "detail-type": "Leads Handed Off", "account": "111111111111", "region": "eu-west-1",
                "time": "2026-01-01T00:00:00Z", "resources": [],
                "detail": {"runId": run_id, "bucket": self.inbox, "prefix": f"inbox/{run_id}/",
                           "objectCount": object_count, "skippedCount": 0}}

    def run(self, event: dict, name: str | None = None, timeout: float = 120):
        return self.world.run(self.machine.arn, event, name=name, timeout=timeout)

    def start(self, event: dict, name: str | None = None) -> str:
        return self.world.start(self.machine.arn, event, name=name)

    def lock(self) -> dict | None:
        item = self.world.client("dynamodb", self.account).get_item(
            TableName=self.lock_table, Key={"lockId": {"S": "curated"}}, ConsistentRead=True).get("Item")
        return {k: list(v.values())[0] for k, v in item.items()} if item else None

    def set_lock(self, owner: str, run_id: str = "someone-else") -> None:
        self.world.client("dynamodb", self.account).put_item(
            TableName=self.lock_table,
            Item={"lockId": {"S": "curated"}, "owner": {"S": owner}, "runId": {"S": run_id}})


def handoffs(observer) -> list[dict]:
    return [e for e in observer.events() if e["source"] == "leadbridge.handoff"]


def assert_handed_off(producer, consumers, observers, run_id, names, events_per_consumer=1, first_copied=None):
    """Every object in every inbox (same bytes), in archive/ and not in landing/; one event per consumer
    (or events_per_consumer): the first says it copied every object (or first_copied, when another
    execution handed some off meanwhile), a later one may have skipped some or all (copied by an earlier
    execution), and each accounts for every object."""
    first_copied = len(names) if first_copied is None else first_copied
    for c in consumers.values():
        got = sorted(c.keys(f"inbox/{run_id}/"))
        assert got == sorted(f"inbox/{run_id}/{n}" for n in names), f"{c.name} inbox"
        for n in names[:3]:
            assert producer.world.body(c.inbox, c.account, f"inbox/{run_id}/{n}") == f"parquet bytes of {n}".encode()
    assert producer.landed(run_id) == [], "objects left in landing/"
    assert sorted(producer.archived(run_id)) == sorted(f"archive/{MARKETO_FLOW}/{run_id}/{n}" for n in names)
    for name, obs in observers.items():
        events = [e for e in handoffs(obs) if e["detail"]["runId"] == run_id]
        assert len(events) == events_per_consumer, f"{name}: {len(events)} hand-off events"
        c = consumers[name]
        for i, e in enumerate(events):
            assert e["detail-type"] == "Leads Handed Off"
            copied = e["detail"]["objectCount"]
            assert e["detail"] == {"runId": run_id, "bucket": c.inbox, "prefix": f"inbox/{run_id}/",
                                   "objectCount": copied, "skippedCount": len(names) - copied}, e["detail"]
            assert i > 0 or copied == first_copied, f"{name}: the first announcement copied {copied}, not {first_copied}"


def hand_off_meanwhile(producer, consumers, run_id: str, name: str) -> None:
    """Another execution for the same run hands object `name` off while the next one runs: once the copy
    Map has listed the run, before its child copies, `name` is copied to every inbox and archived."""
    key = marketo_run_prefix(MARKETO_FLOW, run_id) + name
    s3 = producer.world.client("s3", producer.account)

    def other_execution(_execution):
        if key in producer.landed(run_id):
            for c in consumers.values():
                producer.world.put(c.inbox, c.account, f"inbox/{run_id}/{name}", f"parquet bytes of {name}")
            s3.copy_object(Bucket=producer.landing, Key=f"archive/{MARKETO_FLOW}/{run_id}/{name}",
                           CopySource={"Bucket": producer.landing, "Key": key})
            s3.delete_object(Bucket=producer.landing, Key=key)
    producer.world.when_entering("CopyToConsumersEachObject", other_execution)


def assert_counted(ex, copied: int, skipped: int) -> None:
    """The hand-off's output counts only what it copied, and says what it skipped and why."""
    assert ex.status == "SUCCEEDED", ex
    counted = ex.output["copied"]
    assert (counted["objectCount"], counted["skippedCount"]) == (copied, skipped), counted
    assert "already handed off" in counted["skippedReason"], counted


def assert_failed_at(ex, state: str) -> None:
    """The execution failed, and its cause names the state that gave up."""
    assert ex.status == "FAILED", ex
    assert f"stopped at state {state}:" in (ex.cause or ""), ex.cause


@dataclass
class StaleObjectsCheck:
    """A stack's scheduled check for objects left under a prefix (landing/ or inbox/)."""
    world: World
    machine: Machine
    bucket: str
    prefix: str

    @classmethod
    def of(cls, world: World, stack_name: str, bucket: str) -> "StaleObjectsCheck":
        stack = world.stacks[stack_name]
        [lid] = [l for l in stack.of_type("AWS::CloudWatch::Alarm")
                 if stack.resources[l]["Properties"].get("MetricName") == "StaleObjects"]
        alarm = stack.resolve(stack.resources[lid]["Properties"])
        dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dims["Bucket"] == bucket, dims
        check_id = lid.split("StaleObjectsAlarm")[0]
        return cls(world, find_machine(world.stacks, stack_name, check_id + "StateMachine"), bucket, dims["Prefix"])

    def run(self):
        """One run as the schedule rule starts it (its input is ignored); returns the execution."""
        return self.world.run(self.machine.arn, self.world.scheduled(self.machine.arn))

    def reported(self) -> list[float]:
        """The per-minute maxima the check put on the alarm's metric, oldest first."""
        cw = self.world.client("cloudwatch", self.machine.stack.account)
        now = datetime.now(timezone.utc)
        resp = cw.get_metric_data(StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1), MetricDataQueries=[{
            "Id": "stale", "ReturnData": True, "MetricStat": {"Stat": "Maximum", "Period": 60, "Metric": {
                "Namespace": "leadbridge", "MetricName": "StaleObjects",
                "Dimensions": [{"Name": "Bucket", "Value": self.bucket}, {"Name": "Prefix", "Value": self.prefix}]}}}])
        return list(reversed(resp["MetricDataResults"][0]["Values"]))


def backdate(world: World, bucket: str, account: str, prefix: str, hours: float) -> None:
    """Make every object under prefix look `hours` old (moto keeps LastModified on its model)."""
    from moto.s3.models import s3_backends
    keys = s3_backends[account]["aws"].buckets[bucket].keys
    for name in list(keys.keys()):
        if name.startswith(prefix):
            for key in keys.getlist(name):
                key.last_modified = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=hours)
