"""GIVEN the synthesized policies, WHEN calls the pipeline makes (and calls it must not be able to make)
are judged by the IAM check, THEN the evaluator allows the first and denies the second: the check that
gates every emulated run can fail, across accounts, on conditions and on resource policies."""
from __future__ import annotations

import copy
import json

import pytest

from harness import physical_name
from iam_check import RECORDER, Call, check, check_conditions, load_policies, requests_for
from leadbridge import CONSUMER_STACKS, MARKETO_FLOW

PRODUCER, SALES = "111111111111", "222222222222"
HANDOFF_ROLE = f"arn:aws:iam::{PRODUCER}:role/leadbridge-handoff"
INBOX = f"leadbridge-sales-inbox-{SALES}-eu-west-1"


@pytest.fixture(scope="module")
def sales_bus(stacks) -> str:
    stack = stacks[CONSUMER_STACKS["sales"]]
    [bus] = [stack.physical_name(lid) for lid in stack.of_type("AWS::Events::EventBus")]
    return f"arn:aws:events:eu-west-1:{SALES}:event-bus/{bus}"


@pytest.fixture(scope="module")
def policies(stacks):
    return load_policies(stacks)


def _landing(stacks) -> str:
    flow = next(r for r in stacks["leadbridge-producer"].resources.values() if r["Type"] == "AWS::AppFlow::Flow")
    props = stacks["leadbridge-producer"].resolve(flow["Properties"])
    return props["DestinationFlowConfigList"][0]["DestinationConnectorProperties"]["S3"]["BucketName"]


def copy_to_inbox(stacks, principal=HANDOFF_ROLE) -> Call:
    source = f"{_landing(stacks)}/landing/{MARKETO_FLOW}/run-1/part-0.parquet"
    return Call(principal, PRODUCER, "eu-west-1", "s3", "CopyObject",
                json.dumps({"Bucket": INBOX, "Key": "inbox/run-1/part-0.parquet", "CopySource": source}))


def put_handoff_event(bus: str, source="leadbridge.handoff") -> Call:
    entry = {"EventBusName": bus, "Source": source, "DetailType": "Leads Handed Off", "Detail": "{}"}
    return Call(HANDOFF_ROLE, PRODUCER, "eu-west-1", "events", "PutEvents", json.dumps({"Entries": [entry]}))


def denied(calls, policies) -> list[str]:
    return [r.describe() for r, _ in check(calls, policies, ablate=False, unattributed=[]).denied]


def test_the_handoff_role_copies_into_a_consumer_inbox_and_announces_it(stacks, policies, sales_bus):
    assert denied([copy_to_inbox(stacks), put_handoff_event(sales_bus)], policies) == []


def test_another_role_of_the_producer_account_cannot_write_the_inbox(stacks, policies):
    other = f"arn:aws:iam::{PRODUCER}:role/someone-else"
    policies = copy.deepcopy(policies)
    policies.identity[other] = policies.identity[HANDOFF_ROLE]   # same grants, but not the trusted role
    refused = denied([copy_to_inbox(stacks, other)], policies)
    # the inbox bucket and the inbox key admit the hand-off role only; the landing key too
    assert refused[0] == f"s3:PutObject on arn:aws:s3:::{INBOX}/inbox/run-1/part-0.parquet by {other}"
    assert sorted(r.split(" on ")[0] for r in refused[1:]) == ["kms:Decrypt", "kms:GenerateDataKey"], refused


def test_an_event_of_another_source_is_refused_by_the_bus_policy(policies, sales_bus):
    assert denied([put_handoff_event(sales_bus, source="someone.else")], policies) == [
        f"events:PutEvents on {sales_bus} by {HANDOFF_ROLE}"]


def test_without_the_inbox_bucket_statement_the_cross_account_copy_is_denied(stacks, policies):
    policies = copy.deepcopy(policies)
    for pid in policies.resource[f"arn:aws:s3:::{INBOX}"]:
        doc = policies.documents[pid]
        doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != "ProducerHandoffWritesInbox"]
    assert denied([copy_to_inbox(stacks)], policies) == [
        f"s3:PutObject on arn:aws:s3:::{INBOX}/inbox/run-1/part-0.parquet by {HANDOFF_ROLE}"]


def test_the_filter_job_writes_its_outputs_and_nothing_of_the_run_it_reads(stacks, policies):
    stack = stacks[CONSUMER_STACKS["sales"]]
    [job] = stack.of_type("AWS::Glue::Job").values()
    role = stack.resolve(job["Properties"]["Role"])

    def put(key):
        return Call(role, SALES, "eu-west-1", "s3", "PutObject", json.dumps({"Bucket": INBOX, "Key": key}))
    allowed, refused = ["curated/part-0.csv", "curated_$folder$", "reports/r1.json"], [
        "inbox/r1/part-0.parquet", "processed/r1/a.csv", "archive/r1/a", "curated", "errors/x"]
    assert denied([put(k) for k in allowed + refused], policies) == [
        f"s3:PutObject on arn:aws:s3:::{INBOX}/{k} by {role}" for k in refused]


def alarms_publishing(stack, account=None) -> list[Call]:
    """Each alarm of the stack publishing to each of the stack's topics it names, as CloudWatch does
    (aws:SourceAccount and aws:SourceArn of the alarm); `account` pretends the alarm is another account's."""
    account = account or stack.account
    topics = {stack.resolve({"Ref": lid}) for lid in stack.of_type("AWS::SNS::Topic")}
    calls = []
    for lid, alarm in stack.of_type("AWS::CloudWatch::Alarm").items():
        alarm_arn = f"arn:aws:cloudwatch:{stack.region}:{account}:alarm:{physical_name(stack, lid)}"
        for topic in stack.resolve(alarm["Properties"]["AlarmActions"]):
            if topic in topics:   # a configured forward topic is judged by its owner's policy
                calls.append(Call("cloudwatch.amazonaws.com", account, stack.region, "sns", "Publish",
                                  json.dumps({"TopicArn": topic}), source_account=account, source_arn=alarm_arn))
    return calls


def test_every_alarm_may_publish_to_its_topic(stacks, policies):
    for stack in stacks.values():
        calls = alarms_publishing(stack)
        assert len(calls) >= 3, f"{stack.name}: failed executions, stale objects, the check's failures"
        assert denied(calls, policies) == [], stack.name
        # CloudWatch's publish is not emulated: these calls join the session's IAM check, so that the
        # topic policy's Allow counts as needed and its HTTPS-only Deny is probed.
        for call in calls:
            RECORDER.record(call.principal, call.service, call.operation, json.loads(call.params),
                            call.caller_account, call.region, call.source_account, call.source_arn)


def test_an_alarm_of_another_account_may_not_publish(stacks, policies):
    for stack in stacks.values():
        calls = alarms_publishing(stack, account="999999999999")
        assert len(denied(calls, policies)) == len(calls), stack.name


def test_with_only_the_https_deny_in_the_topic_policy_every_alarm_is_denied(stacks, policies):
    """What the topics had before: CDK's EnforceSSL policy alone replaces SNS's default policy."""
    policies = copy.deepcopy(policies)
    for doc in policies.documents.values():
        if any(st.get("Sid") == "AllowPublishThroughSSLOnly" for st in doc.get("Statement", [])):
            doc["Statement"] = [st for st in doc["Statement"] if st.get("Sid") == "AllowPublishThroughSSLOnly"]
    calls = alarms_publishing(stacks["leadbridge-producer"])
    assert len(denied(calls, policies)) == len(calls)


def test_a_call_without_a_parameter_its_authorization_names_fails_the_check_without_stopping_it(stacks, policies):
    """A failed scenario can record a call its state built wrong (a HeadObject without Key): the check
    names it and fails, and still judges every other call."""
    headless = Call(HANDOFF_ROLE, PRODUCER, "eu-west-1", "s3", "HeadObject", json.dumps({"Bucket": INBOX}))
    other = f"arn:aws:iam::{PRODUCER}:role/someone-else"
    report = check([headless, copy_to_inbox(stacks, other)], policies, ablate=False, unattributed=[])
    assert report.failed()
    assert report.unjudged == [f"{headless.describe()}: no parameter 'Key'"]
    refused = [r.describe() for r, _ in report.denied]
    assert refused[:2] == [
        f"s3:GetObject on arn:aws:s3:::{_landing(stacks)}/landing/{MARKETO_FLOW}/run-1/part-0.parquet by {other}",
        f"s3:PutObject on arn:aws:s3:::{INBOX}/inbox/run-1/part-0.parquet by {other}"]
    # the landing key and the inbox key refuse that role too
    assert sorted(r.split(" on ")[0] for r in refused[2:]) == ["kms:Decrypt", "kms:GenerateDataKey"], refused


# --------------------------------------------------------------------------------------------------
# KMS: calls on objects of a KMS bucket are judged with the key policy too
# --------------------------------------------------------------------------------------------------

def _key_statements(policies, account: str):
    [pid] = [p for p, (arn, acct) in policies.owner.items() if arn.startswith("arn:aws:kms:") and acct == account
             and "Inbox" in p]
    return policies.documents[pid]


def test_the_cross_account_copy_needs_the_landing_key_and_the_inbox_key_and_gets_both(stacks, policies):
    needs = [(r.need.action, r.need.resource.split(":")[4]) for r in requests_for([copy_to_inbox(stacks)], policies, [])]
    assert ("kms:Decrypt", PRODUCER) in needs, "the copy reads the source with the landing key"
    assert ("kms:GenerateDataKey", SALES) in needs, "S3 encrypts the copy with the inbox bucket's default key"
    assert denied([copy_to_inbox(stacks)], policies) == []


def test_without_the_inbox_key_statement_for_the_producer_the_copy_is_denied(stacks, policies):
    policies = copy.deepcopy(policies)
    doc = _key_statements(policies, SALES)
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != "ProducerHandoffWritesInbox"]
    [refused] = denied([copy_to_inbox(stacks)], policies)
    assert refused.startswith("kms:GenerateDataKey on arn:aws:kms:eu-west-1:222222222222:key/")


def test_without_its_own_policy_allowing_the_inbox_key_the_handoff_role_is_denied(stacks, policies):
    """A key of another account must be allowed by the key policy and by the caller's own policy."""
    policies = copy.deepcopy(policies)
    for pid in policies.identity[HANDOFF_ROLE]:
        doc = policies.documents[pid]
        doc["Statement"] = [s for s in doc["Statement"] if not s.get("Sid", "").startswith("CopiesIntoSales")]
    [refused] = denied([copy_to_inbox(stacks)], policies)
    assert refused.startswith("kms:GenerateDataKey on arn:aws:kms:eu-west-1:222222222222:key/")


# --------------------------------------------------------------------------------------------------
# Conditions: each keeps out what it exists to keep out
# --------------------------------------------------------------------------------------------------

def test_every_allow_of_every_resource_key_and_trust_policy_keeps_out_what_it_must(policies):
    proven, still_open, unprobed = check_conditions(policies)
    assert still_open == [] and unprobed == []
    for expected in ["InboxBucketPolicy", "InboxKey", "HandoffBus", "LandingKey", "AlarmsPolicy",
                     "DeadLetterQueuePolicy", "AccessLogsPolicy", "ForwardRole"]:
        assert any(expected in p for p in proven), f"no condition of {expected} was probed"
    assert len(proven) >= 70


def _drop_condition(policies, sid_or_pid: str, key: str) -> None:
    for pid, doc in policies.documents.items():
        for st in doc.get("Statement", []) if isinstance(doc.get("Statement"), list) else [doc.get("Statement")]:
            if st and (st.get("Sid") == sid_or_pid) and "Condition" in st:
                for op in list(st["Condition"]):
                    st["Condition"][op].pop(key, None)
                    if not st["Condition"][op]:
                        del st["Condition"][op]
                if not st["Condition"]:
                    del st["Condition"]


def test_dropping_source_account_from_appflows_read_of_curated_lets_another_accounts_appflow_in(policies):
    policies = copy.deepcopy(policies)
    _drop_condition(policies, "AppFlowReadsCurated", "aws:SourceAccount")
    _, still_open, _ = check_conditions(policies)
    assert still_open and all("AppFlowReadsCurated: used for another account" in o for o in still_open), still_open


def test_dropping_the_principal_arn_from_the_bus_policy_lets_any_producer_role_put_events(policies):
    policies = copy.deepcopy(policies)
    _drop_condition(policies, "cdk-ProducerPutsHandoffEvents", "aws:PrincipalArn")
    _, still_open, _ = check_conditions(policies)
    assert len(still_open) == 2 and all("ProducerPutsHandoffEvents: another principal of that account" in o
                                        for o in still_open), still_open


def test_dropping_via_service_from_a_key_statement_lets_the_role_use_the_key_directly(policies):
    policies = copy.deepcopy(policies)
    _drop_condition(policies, "FilterJobReadsAndWrites", "kms:ViaService")
    _, still_open, _ = check_conditions(policies)
    assert still_open and all("FilterJobReadsAndWrites: a direct call to KMS" in o for o in still_open), still_open
