"""A lead's fields go nowhere but the places the README lists, encrypted with their bucket's key.

GIVEN a Marketo run whose one lead carries a marker value in every field, handed off to every consumer,
curated (the job double writes the values into the curated CSV, as the real job does), loaded with
Salesforce refusing it (AppFlow writes it to its error location), and sent again by the next run,
WHEN everything the emulated accounts hold afterwards is searched: every execution's history, every
message of every queue (dead-letter queues, rule targets), every message published to a topic, every
log event, every metric, every DynamoDB item, every AWS call the executions made and every version of
every S3 object,
THEN no marker is anywhere but in S3 objects under a folder the README's personal data table lists for
that bucket, in a bucket encrypted with its own KMS key (or SSE-S3 where the configuration asks for it),
and never in a run report or a Map Run's results.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from moto.sns.models import sns_backends

from fakes import filter_job, lead_key
from harness import REPO_ROOT
from iam_check import RECORDER, load_policies
from leadbridge import CONSUMER_STACKS, MARKETO_FLOW, Consumer, Producer

MARKERS = {
    "id": "770077007700", "email": "marker.person@leads.invalid", "firstName": "Markerfirstname",
    "lastName": "Markerlastname", "company": "Markercompany", "doNotCallReason": "Markerreason",
}
CURATED = {"LastName": MARKERS["lastName"], "Company": MARKERS["company"], "Email": MARKERS["email"],
           "FirstName": MARKERS["firstName"]}
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
PLACE = re.compile(r"^(landing|inbox) bucket `([a-z-]+/)`$")


def _readme_folders() -> dict[str, set[str]]:
    """{"landing": {...}, "inbox": {...}}: the folders the README's personal data table lists."""
    text = (REPO_ROOT / "README.md").read_text()
    _, table = text.split("| account | place | holds | encrypted with | kept |\n", 1)
    out: dict[str, set[str]] = {"landing": set(), "inbox": set()}
    for line in table.splitlines()[1:]:
        if not line.startswith("|"):
            break
        m = PLACE.match(line.split("|")[2].strip())
        if m:
            out[m[1]].add(m[2])
    return out


def _markers_in(text: str) -> list[str]:
    return [name for name, value in MARKERS.items() if value in text]


def _s3_findings(aws, producer, consumers, policies) -> tuple[list[str], list[str]]:
    """(where markers are allowed to be and are, where they must not be and are)."""
    folders = _readme_folders()
    buckets = {producer.landing: ("landing", producer.account)} | {c.inbox: ("inbox", c.account) for c in consumers}
    allowed, leaks = [], []
    for bucket, (kind, account) in buckets.items():
        s3 = aws.client("s3", account)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
                found = _markers_in(body.decode("utf-8", "replace"))
                if not found:
                    continue
                where = f"s3://{bucket}/{v['Key']} ({v['VersionId'][:8]}): {found}"
                folder = v["Key"].split("/", 1)[0] + "/"
                encrypted = bucket in policies.bucket_keys or _opted_out(aws, account)
                if folder in folders[kind] and encrypted and folder not in ("reports/", "map-results/"):
                    allowed.append(where)
                else:
                    leaks.append(where + f" (folder {folder} listed: {folder in folders[kind]}, encrypted with a key: {encrypted})")
    return allowed, leaks


def _opted_out(aws, account: str) -> bool:
    """Whether the stack of this account chose SSE-S3 (encryption: sse-s3): its data bucket has no key."""
    return any(stack.account == account and not any(
        "aws:kms" in json.dumps(r.get("Properties", {}).get("BucketEncryption", {}))
        for r in stack.of_type("AWS::S3::Bucket").values()) for stack in aws.deployed)


def _everything_but_s3(aws) -> dict[str, str]:
    """{place: text} of every other place the emulated accounts hold something."""
    places = {}
    for account in ACCOUNTS:
        sfn = aws.client("stepfunctions", account)
        for machine in sfn.list_state_machines()["stateMachines"]:
            for ex in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
                history = sfn.get_execution_history(executionArn=ex["executionArn"], maxResults=1000)["events"]
                desc = sfn.describe_execution(executionArn=ex["executionArn"])
                places[f"execution {ex['executionArn']}"] = json.dumps([history, desc], default=str)
        sqs = aws.client("sqs", account)
        for url in sqs.list_queues().get("QueueUrls", []):
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
            places[f"queue {url}"] = json.dumps(msgs)
        for topic in sns_backends[account]["eu-west-1"].topics.values():
            places[f"topic {topic.arn}"] = json.dumps(topic.sent_notifications, default=str)
        logs = aws.client("logs", account)
        for group in logs.describe_log_groups().get("logGroups", []):
            events = logs.filter_log_events(logGroupName=group["logGroupName"]).get("events", [])
            places[f"log group {group['logGroupName']}"] = json.dumps(events)
        places[f"metrics of {account}"] = json.dumps(aws.client("cloudwatch", account).list_metrics()["Metrics"])
        ddb = aws.client("dynamodb", account)
        for table in ddb.list_tables()["TableNames"]:
            places[f"table {table}"] = json.dumps(ddb.scan(TableName=table)["Items"])
    places["every AWS call the executions made"] = json.dumps([c.params for c in RECORDER.calls])
    return places


def test_a_leads_values_stay_in_the_listed_encrypted_folders(aws, stacks):
    producer = Producer.deploy(aws)
    consumers = [Consumer.deploy(aws, name) for name in sorted(CONSUMER_STACKS)]
    aws.glue_jobs.on_run = filter_job(values=CURATED)
    lead = json.dumps(MARKERS).encode()
    for run_id, name in (("run-pd-1", "part-00000.parquet"), ("run-pd-2", "part-00001.parquet")):
        producer.land(run_id, [name], body=lambda _: lead)
        [event] = producer.appflow_reports(run_id)
        assert producer.run(event).status == "SUCCEEDED"
        # Salesforce refuses the lead of the first run; the second run sends it again
        aws.appflow.refused_keys = {lead_key("run-pd-1", f"inbox/run-pd-1/{name}")} if run_id == "run-pd-1" else set()
        for c in consumers:
            [delivered] = aws.delivered(c.machine.arn)
            assert c.run(delivered).status == "SUCCEEDED", c.name
    policies = load_policies(stacks)

    allowed, leaks = _s3_findings(aws, producer, consumers, policies)
    leaks += [f"{place}: {found}" for place, text in _everything_but_s3(aws).items() if (found := _markers_in(text))]

    assert leaks == []
    # the test can see a value where it is: in the raw runs, the curated rows and AppFlow's error records
    for folder in ("landing/", "archive/", "inbox/", "curated/", "processed/", "errors/"):
        assert any(f"/{folder}" in a for a in allowed), f"no marker found under {folder}: {allowed}"
    print(f"markers in {len(allowed)} object versions, all under listed folders of encrypted buckets")
