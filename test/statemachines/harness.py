"""Runs the synthesized Step Functions definitions on moto, across emulated accounts.

* `load_app()` reads cdk.out/ (manifest + templates), finds every AWS::StepFunctions::StateMachine and
  resolves its DefinitionString (Fn::Join / Ref / Fn::GetAtt / Fn::Sub ...) into plain ASL, mapping each
  referenced resource to the name/ARN the emulation creates for it (see `physical_name`).
* `World` (the `aws` fixture) deploys the emulated resources of a stack in that stack's account, creates
  the state machines in moto, runs executions and offers helpers to seed and inspect S3, Glue,
  DynamoDB and EventBridge (observed through a rule -> SQS queue in the bus's account).
* `COVERAGE` collects, per state machine, the states entered across the whole pytest session.
"""
from __future__ import annotations

import copy
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from moto_patches import machine_of
from usage import Usage

REPO_ROOT = Path(__file__).resolve().parents[2]
# SFN_TEST_CDK_OUT points the suite at another synth output (e.g. a scratch copy with a candidate fix).
CDK_OUT = Path(os.environ.get("SFN_TEST_CDK_OUT") or REPO_ROOT / "cdk.out")
PARTITION = "aws"


class SynthMissing(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------------

@dataclass
class Stack:
    name: str
    account: str
    region: str
    template: dict

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})

    def of_type(self, cfn_type: str) -> dict:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == cfn_type}

    def physical_name(self, logical_id: str) -> str:
        return physical_name(self, logical_id)

    def resolve(self, value):
        return resolve(self, value)

    def state_machines(self) -> list["Machine"]:
        return [Machine.from_resource(self, lid) for lid in self.of_type("AWS::StepFunctions::StateMachine")]


def load_app(cdk_out: Path = CDK_OUT) -> dict[str, Stack]:
    """Every CloudFormation stack in cdk.out, keyed by stack name."""
    manifest = cdk_out / "manifest.json"
    if not manifest.is_file():
        raise SynthMissing(f"{manifest} not found: run `make synth` in {REPO_ROOT} first "
                           "(the state machine tests run the synthesized templates)")
    stacks = {}
    for name, art in json.loads(manifest.read_text())["artifacts"].items():
        if art.get("type") != "aws:cloudformation:stack":
            continue
        m = re.fullmatch(r"aws://(\d{12})/([a-z0-9-]+)", art.get("environment", ""))
        if not m:
            raise SynthMissing(f"stack {name} has no concrete account/region environment: {art.get('environment')}")
        template = json.loads((cdk_out / art["properties"]["templateFile"]).read_text())
        stacks[name] = Stack(name, m[1], m[2], template)
    return stacks


# Names the emulation gives resources that the template leaves to CloudFormation.
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Glue::Crawler": "Name",
    "AWS::Glue::Job": "Name",
    "AWS::Glue::Database": None,  # DatabaseInput.Name
    "AWS::AppFlow::Flow": "FlowName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Lambda::Function": "FunctionName",
}


def physical_name(stack: Stack, logical_id: str) -> str:
    res = stack.resources[logical_id]
    props = res.get("Properties", {})
    prop = _NAME_PROPERTY.get(res["Type"])
    if res["Type"] == "AWS::Glue::Database":
        return resolve(stack, props["DatabaseInput"]["Name"])
    if prop and prop in props:
        return resolve(stack, props[prop])
    derived = f"{stack.name}-{logical_id}"
    if res["Type"] == "AWS::S3::Bucket":
        return derived.lower()[:63]
    return derived[:80]


def _arn(stack: Stack, logical_id: str) -> str:
    t = stack.resources[logical_id]["Type"]
    name, acct, reg = physical_name(stack, logical_id), stack.account, stack.region
    if t not in _ARN_FORMATS:  # e.g. AWS::KMS::Key: a stable ARN of the right service is enough
        service, kind = t.split("::")[1].lower(), t.split("::")[2].lower()
        return f"arn:{PARTITION}:{service}:{reg}:{acct}:{kind}/{name}"
    return {
        "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
        "AWS::Glue::Crawler": f"arn:{PARTITION}:glue:{reg}:{acct}:crawler/{name}",
        "AWS::Glue::Job": f"arn:{PARTITION}:glue:{reg}:{acct}:job/{name}",
        "AWS::AppFlow::Flow": f"arn:{PARTITION}:appflow:{reg}:{acct}:flow/{name}",
        "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{reg}:{acct}:table/{name}",
        "AWS::Events::EventBus": f"arn:{PARTITION}:events:{reg}:{acct}:event-bus/{name}",
        "AWS::Events::Rule": f"arn:{PARTITION}:events:{reg}:{acct}:rule/{name}",
        "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{reg}:{acct}:{name}",
        "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{reg}:{acct}:{name}",
        "AWS::IAM::Role": f"arn:{PARTITION}:iam::{acct}:role/{name}",
        "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{reg}:{acct}:log-group:{name}:*",
        "AWS::StepFunctions::StateMachine": f"arn:{PARTITION}:states:{reg}:{acct}:stateMachine:{name}",
        "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{reg}:{acct}:function:{name}",
    }[t]


_ARN_FORMATS = {"AWS::S3::Bucket", "AWS::Glue::Crawler", "AWS::Glue::Job", "AWS::AppFlow::Flow",
                "AWS::DynamoDB::Table", "AWS::Events::EventBus", "AWS::Events::Rule", "AWS::SQS::Queue",
                "AWS::SNS::Topic", "AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::StepFunctions::StateMachine",
                "AWS::Lambda::Function"}


def _ref(stack: Stack, target: str) -> str:
    pseudo = {"AWS::Partition": PARTITION, "AWS::Region": stack.region, "AWS::AccountId": stack.account,
              "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": stack.name, "AWS::NoValue": None}
    if target in pseudo:
        return pseudo[target]
    if target in stack.template.get("Parameters", {}):
        return stack.template["Parameters"][target].get("Default")
    t = stack.resources[target]["Type"]
    if t in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"):
        return _arn(stack, target)
    if t == "AWS::SQS::Queue":
        return f"https://sqs.{stack.region}.amazonaws.com/{stack.account}/{physical_name(stack, target)}"
    return physical_name(stack, target)


def _get_att(stack: Stack, target: str, attr: str) -> str:
    t = stack.resources[target]["Type"]
    if attr == "Arn" or (t == "AWS::SNS::Topic" and attr == "TopicArn"):
        return _arn(stack, target)
    name = physical_name(stack, target)
    if attr in ("Name", "QueueName", "TopicName", "RoleName"):
        return name
    if t == "AWS::SQS::Queue" and attr == "QueueUrl":
        return _ref(stack, target)
    if t == "AWS::S3::Bucket" and attr in ("DomainName", "RegionalDomainName"):
        return f"{name}.s3.{stack.region}.amazonaws.com" if attr == "RegionalDomainName" else f"{name}.s3.amazonaws.com"
    raise NotImplementedError(f"Fn::GetAtt {target}.{attr} ({t}): teach harness._get_att this attribute")


def resolve(stack: Stack, value):
    """CloudFormation intrinsic functions -> plain values, as the emulated deployment names things."""
    if isinstance(value, list):
        return [resolve(stack, v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return _ref(stack, arg)
        if fn == "Fn::GetAtt":
            target, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return _get_att(stack, target, attr)
        if fn == "Fn::Join":
            sep, parts = arg
            return resolve(stack, sep).join(str(resolve(stack, p)) for p in parts)
        if fn == "Fn::Select":
            return resolve(stack, arg[1])[int(resolve(stack, arg[0]))]
        if fn == "Fn::Split":
            return resolve(stack, arg[1]).split(resolve(stack, arg[0]))
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(stack, arg[1]))

            def sub(m):
                key = m[1]
                if key in extra:
                    return str(extra[key])
                if "." in key:
                    return str(_get_att(stack, *key.split(".", 1)))
                return str(_ref(stack, key))
            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        if fn.startswith("Fn::") or fn == "Condition":
            raise NotImplementedError(f"{fn} is not resolvable offline; teach harness.resolve or avoid it")
    return {k: resolve(stack, v) for k, v in value.items()}


# --------------------------------------------------------------------------------------------------
# State machines
# --------------------------------------------------------------------------------------------------

def all_states(definition: dict, path: str = "") -> dict[str, str]:
    """{state name: where it lives} for every state, including Map item processors and Parallel branches."""
    found = {}
    for name, state in definition.get("States", {}).items():
        found[name] = path + name
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found.update(all_states(state[key], f"{path}{name}/"))
        for i, branch in enumerate(state.get("Branches", [])):
            found.update(all_states(branch, f"{path}{name}[{i}]/"))
    return found


@dataclass
class Machine:
    stack: Stack
    logical_id: str
    name: str
    role_arn: str
    definition: dict

    @classmethod
    def from_resource(cls, stack: Stack, logical_id: str) -> "Machine":
        props = stack.resources[logical_id]["Properties"]
        if "DefinitionString" in props:
            text = resolve(stack, props["DefinitionString"])
        else:
            text = json.dumps(resolve(stack, props["Definition"]))
        for key, val in resolve(stack, props.get("DefinitionSubstitutions", {})).items():
            text = text.replace("${" + key + "}", str(val))
        role = resolve(stack, props["RoleArn"])
        return cls(stack, logical_id, physical_name(stack, logical_id), role, json.loads(text))

    @property
    def label(self) -> str:
        return f"{self.stack.name}/{self.logical_id}"

    @property
    def states(self) -> dict[str, str]:
        return all_states(self.definition)

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:states:{self.stack.region}:{self.stack.account}:stateMachine:{self.name}"


def find_machine(stacks: dict[str, Stack], stack_name: str, logical_prefix: str = "") -> Machine:
    machines = [m for m in stacks[stack_name].state_machines() if m.logical_id.startswith(logical_prefix)]
    if len(machines) != 1:
        raise LookupError(f"{stack_name}: expected one state machine {logical_prefix!r}*, found "
                          f"{[m.logical_id for m in machines]}")
    return machines[0]


# --------------------------------------------------------------------------------------------------
# Session-wide state coverage
# --------------------------------------------------------------------------------------------------

class Coverage:
    def __init__(self):
        self.states: dict[str, dict[str, str]] = {}   # label -> {state: path}
        self.entered: dict[str, set[str]] = {}
        self.current_test: str | None = None          # the pytest node id running now
        self.by_test: dict[str, set[str]] = {}       # node id -> labels of the machines it entered
        self._by_arn: dict[str, str] = {}
        self._lock = threading.Lock()

    def expect(self, machine: Machine) -> None:
        """Count every state of this machine in the report, whether or not a test runs it."""
        self.states.setdefault(machine.label, machine.states)
        self.entered.setdefault(machine.label, set())

    def track(self, machine: Machine) -> None:
        self.expect(machine)
        self._by_arn[machine.arn] = machine.label

    def untrack(self, arn: str) -> None:
        self._by_arn.pop(arn, None)

    def on_state_entered(self, machine_arn, execution_arn, state_name) -> None:
        label = self._by_arn.get(machine_arn or "")
        if label is None and execution_arn:  # Distributed Map children: fall back to the execution ARN
            label = self._by_arn.get(machine_of(execution_arn))
        if label is not None:
            with self._lock:
                self.entered[label].add(state_name)
                if self.current_test:
                    self.by_test.setdefault(self.current_test, set()).add(label)

    def export(self) -> dict:
        """The states entered by machine and the machines entered by test, as JSON values: what a
        pytest-xdist worker hands to the controller."""
        return {"entered": {label: sorted(names) for label, names in self.entered.items()},
                "by_test": {test: sorted(labels) for test, labels in self.by_test.items()}}

    def merge(self, exported: dict) -> None:
        """Adds what another process's scenarios entered (a pytest-xdist worker's `export`)."""
        with self._lock:
            for label, names in exported["entered"].items():
                self.entered.setdefault(label, set()).update(names)
            for test, labels in exported["by_test"].items():
                self.by_test.setdefault(test, set()).update(labels)

    def report(self) -> list[tuple[str, int, int, list[str]]]:
        rows = []
        for label, states in sorted(self.states.items()):
            missed = [path for name, path in states.items() if name not in self.entered[label]]
            rows.append((label, len(states) - len(missed), len(states), missed))
        return rows


COVERAGE = Coverage()


# --------------------------------------------------------------------------------------------------
# The emulated AWS world of one test
# --------------------------------------------------------------------------------------------------

@dataclass
class Execution:
    arn: str
    status: str
    output: object = None
    error: str | None = None
    cause: str | None = None
    history: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.arn.split(":")[-1]

    @property
    def entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.history if "stateEnteredEventDetails" in e]

    def failures(self) -> list[tuple]:
        out = []
        for e in self.history:
            for k, v in e.items():
                if k.endswith("EventDetails") and isinstance(v, dict) and v.get("error"):
                    out.append((e["type"], v.get("error"), (v.get("cause") or "")[:300]))
        return out

    # errors our definitions catch on purpose; a summary prefers the cause of any other error
    CONTROL_FLOW_ERRORS = ("ConditionalCheckFailed", "CrawlerRunning", "NoSuchKey", "ExecutionDoesNotExist")

    def __repr__(self):
        """Short enough for pytest not to elide it: status, error, and the failure that matters."""
        text = f"{self.arn.split(':')[-1][:8]} {self.status}"
        if self.error:
            text += f" {self.error}"
        fails = [f for f in self.failures() if f[0] != "ExecutionFailed"]
        if self.status != "SUCCEEDED":
            notable = [f for f in fails if not any(c in f[1] for c in self.CONTROL_FLOW_ERRORS)] or fails
            error, cause = (notable[0][1], notable[0][2]) if notable else (self.error, self.cause or "")
            cause = re.sub(r"^An error occurred while executing the state '([^']+)' \(entered at the event id #\d+\)\. ",
                           r"in \1: ", cause)
            text += f" <- {error}: {cause[:130]}"
        elif fails:
            text += f" | handled {list(dict.fromkeys(f[1] for f in fails))}"
        return f"Execution({text})"


class EventObserver:
    """A rule on a bus that sends every event to an SQS queue in the bus's account."""

    def __init__(self, world: "World", account: str, region: str, bus_name: str):
        self.sqs = world.client("sqs", account, region)
        events = world.client("events", account, region)
        suffix = uuid.uuid4().hex[:8]
        self.queue_url = self.sqs.create_queue(QueueName=f"observe-{bus_name}-{suffix}")["QueueUrl"]
        qarn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=f"observe-{suffix}", EventBusName=bus_name, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
        events.put_targets(Rule=f"observe-{suffix}", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": qarn}])
        self.received: list[dict] = []

    def events(self) -> list[dict]:
        """All events delivered so far (drains the queue into self.received)."""
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return list(self.received)
            for m in msgs:
                self.received.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


_DEPLOYED_TYPES = {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Events::EventBus", "AWS::Events::Rule",
                   "AWS::Glue::Database", "AWS::Glue::Crawler", "AWS::Glue::Job"}


@dataclass
class RuleTarget:
    """The queue that stands in for one rule's state machine or topic target."""
    sqs: object
    url: str
    account: str
    rule_arn: str
    role_arn: str | None

    def drain(self) -> list[dict]:
        out = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])


class World:
    """One test's emulated accounts. Created by the `aws` fixture inside mock_aws."""

    def __init__(self, stacks: dict[str, Stack], coverage: Coverage = COVERAGE, calls=None):
        self.stacks = stacks
        self.coverage = coverage
        self.calls = calls                           # an iam_check.CallRecorder, or None
        self._clients: dict[tuple, object] = {}
        self.deployed: list[Stack] = []
        self.started: list[str] = []
        self.rule_targets: dict[str, list[RuleTarget]] = {}   # target ARN -> the rules' stand-in queues
        self.schedules: dict[str, tuple] = {}        # state machine ARN -> (account, role ARN) of a schedule rule
        self._on_enter: dict[str, list] = {}
        self._on_wait: dict[str, list] = {}
        self.usage = Usage()                         # state transitions and requests, as AWS bills them

    # -- interpreter hooks (called on the interpreter's threads) -------------------------------------
    def when_entering(self, state_name: str, fn) -> None:
        """fn(execution_arn) runs just before any execution enters `state_name` (e.g. another
        party changes the world at exactly that moment)."""
        self._on_enter.setdefault(state_name, []).append(fn)

    def while_waiting_in(self, state_name: str, fn) -> None:
        """fn(seconds) runs instead of the (skipped) sleep of Wait state `state_name`."""
        self._on_wait.setdefault(state_name, []).append(fn)

    def on_state_entered(self, machine_arn, execution_arn, state_name, express=False) -> None:
        self.coverage.on_state_entered(machine_arn, execution_arn, state_name)
        if execution_arn:
            self.usage.state_entered(machine_of(execution_arn), express)
        for fn in self._on_enter.get(state_name, []):
            fn(execution_arn)

    def on_wait(self, state_name, seconds) -> None:
        for fn in self._on_wait.get(state_name, []):
            fn(seconds)

    def on_retry(self, machine_arn, express=False) -> None:
        self.usage.retried(machine_arn, express)

    def on_children_started(self, machine_arn, count, express=False) -> None:
        self.usage.children_started(machine_arn, count, express)

    def on_sdk_call(self, machine_arn, service, operation, params, express=False) -> None:
        """Every AWS call an execution makes: counted, and recorded for the IAM check."""
        self.usage.called(machine_arn, service, operation, express)
        if self.calls is not None:
            self.calls.record_from_machine(machine_arn, service, operation, params)

    # -- clients -----------------------------------------------------------------------------------
    def client(self, service: str, account: str, region: str = "eu-west-1"):
        key = (service, account, region)
        if key not in self._clients:
            c = boto3.client(service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")

            def _acct(params, **_):
                params["headers"]["x-moto-account-id"] = account
            c.meta.events.register("before-call.*.*", _acct)
            self._clients[key] = c
        return self._clients[key]

    # -- deployment --------------------------------------------------------------------------------
    def deploy(self, stack_name: str, *, skip_types: tuple = (), machines: bool = True) -> Stack:
        """Create the emulated resources of a stack (those the state machines touch) in its account."""
        stack = self.stacks[stack_name]
        acct, reg = stack.account, stack.region
        rules = []
        for lid, res in stack.resources.items():
            t = res["Type"]
            if t in skip_types or t not in _DEPLOYED_TYPES:
                continue
            props = stack.resolve(res.get("Properties", {}))
            if t == "AWS::S3::Bucket":
                self.create_bucket(stack.physical_name(lid), acct, reg,
                                   versioned=props.get("VersioningConfiguration", {}).get("Status") == "Enabled")
            elif t == "AWS::DynamoDB::Table":
                kw = {k: props[k] for k in ("KeySchema", "AttributeDefinitions") if k in props}
                self.client("dynamodb", acct, reg).create_table(
                    TableName=stack.physical_name(lid), BillingMode="PAY_PER_REQUEST", **kw)
            elif t == "AWS::Events::EventBus":
                self.client("events", acct, reg).create_event_bus(Name=stack.physical_name(lid))
            elif t == "AWS::Events::Rule" and "EventPattern" in props:
                rules.append((lid, props))   # after the buses
            elif t == "AWS::Events::Rule" and "ScheduleExpression" in props:
                for target in props.get("Targets", []):
                    self.schedules[target["Arn"]] = (acct, target.get("RoleArn"))
            elif t == "AWS::Glue::Database":
                self.client("glue", acct, reg).create_database(DatabaseInput={"Name": stack.physical_name(lid)})
            elif t == "AWS::Glue::Crawler":
                self.client("glue", acct, reg).create_crawler(
                    Name=stack.physical_name(lid), Role=str(props.get("Role", "role")),
                    DatabaseName=props.get("DatabaseName", ""), Targets=props.get("Targets", {}))
            elif t == "AWS::Glue::Job":
                cmd = props.get("Command", {})
                self.client("glue", acct, reg).create_job(
                    Name=stack.physical_name(lid), Role=str(props.get("Role", "role")),
                    Command={k: v for k, v in cmd.items() if k in ("Name", "ScriptLocation", "PythonVersion")},
                    DefaultArguments=props.get("DefaultArguments", {}), GlueVersion=props.get("GlueVersion", "5.0"),
                    ExecutionProperty=props.get("ExecutionProperty", {"MaxConcurrentRuns": 1}))
        for lid, props in rules:
            self._create_rule(stack, lid, props)
        if machines:
            for m in stack.state_machines():
                self.create_machine(m)
        self.deployed.append(stack)
        return stack

    def _create_rule(self, stack: Stack, lid: str, props: dict) -> None:
        """The rule with the template's pattern on the template's bus. moto's EventBridge cannot target a
        state machine, nor show what reached a topic, so a state machine or topic target is replaced by
        an SQS queue (same account); tests read what the rule matched with `delivered`."""
        events, sqs = self.client("events", stack.account, stack.region), self.client("sqs", stack.account, stack.region)
        bus = props.get("EventBusName", "default")
        name = stack.physical_name(lid)[:64]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"]),
                        State=props.get("State", "ENABLED"))
        for target in props.get("Targets", []):
            if ":stateMachine:" in target["Arn"] or ":sns:" in target["Arn"]:
                url = sqs.create_queue(QueueName=f"rule-target-{lid}-{target['Id']}"[:80])["QueueUrl"]
                qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": target["Id"], "Arn": qarn}])
                rule_arn = f"arn:{PARTITION}:events:{stack.region}:{stack.account}:rule/{name}"
                self.rule_targets.setdefault(target["Arn"], []).append(
                    RuleTarget(sqs, url, stack.account, rule_arn, target.get("RoleArn")))

    def scheduled(self, machine_arn: str) -> dict:
        """The event a schedule rule (moto fires none) starts the machine with: a StartExecution that
        EventBridge makes with the target's role, recorded for the IAM check."""
        account, role = self.schedules[machine_arn]
        if self.calls is not None:
            self.calls.record(role, "stepfunctions", "StartExecution", {"StateMachineArn": machine_arn}, account)
        return {"source": "aws.events", "detail-type": "Scheduled Event", "account": account, "detail": {}}

    def delivered(self, target_arn: str) -> list[dict]:
        """Events the rules of a state machine or topic target matched since the last call (drained).
        Each rule that delivered is recorded for the IAM check as the call EventBridge makes: a
        StartExecution or Publish with the target's role, or as events.amazonaws.com for the rule."""
        out = []
        for rule in self.rule_targets[target_arn]:
            got = rule.drain()
            if got and self.calls is not None:
                service, op, params = (("sns", "Publish", {"TopicArn": target_arn}) if ":sns:" in target_arn else
                                       ("stepfunctions", "StartExecution", {"StateMachineArn": target_arn}))
                if rule.role_arn:
                    self.calls.record(rule.role_arn, service, op, params, rule.account)
                else:
                    self.calls.record("events.amazonaws.com", service, op, params, rule.account,
                                      source_account=rule.account, source_arn=rule.rule_arn)
            out += got
        return out

    def create_bucket(self, name: str, account: str, region: str = "eu-west-1", versioned: bool = False):
        s3 = self.client("s3", account, region)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def create_machine(self, machine: Machine, *, definition: dict | None = None, name: str | None = None,
                       track_coverage: bool = True) -> str:
        """Create the machine in its account; `definition`/`name` override for scratch experiments
        (those are not counted in coverage)."""
        sfn = self.client("stepfunctions", machine.stack.account, machine.stack.region)
        arn = sfn.create_state_machine(
            name=name or machine.name, roleArn=machine.role_arn, type="STANDARD",
            definition=json.dumps(definition if definition is not None else machine.definition))["stateMachineArn"]
        if self.calls is not None:   # a scratch experiment's calls are no evidence about the templates
            self.calls.role_of(arn, machine.role_arn if definition is None and name is None else None)
        if track_coverage and definition is None and name is None:
            assert arn == machine.arn, (arn, machine.arn)
            self.coverage.track(machine)
        return arn

    # -- executions --------------------------------------------------------------------------------
    def start(self, machine_arn: str, payload: dict, name: str | None = None) -> str:
        account, region = machine_arn.split(":")[4], machine_arn.split(":")[3]
        arn = self.client("stepfunctions", account, region).start_execution(
            stateMachineArn=machine_arn, name=name or uuid.uuid4().hex, input=json.dumps(payload))["executionArn"]
        self.started.append(arn)
        return arn

    def stop_running_executions(self) -> None:
        for arn in self.started:
            sfn = self.client("stepfunctions", arn.split(":")[4], arn.split(":")[3])
            if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                sfn.stop_execution(executionArn=arn, error="TestTeardown")

    def wait(self, execution_arn: str, timeout: float = 60.0) -> Execution:
        account, region = execution_arn.split(":")[4], execution_arn.split(":")[3]
        sfn = self.client("stepfunctions", account, region)
        deadline = time.monotonic() + timeout
        pause = 0.02   # grows to 1 s: polling a long run every 20 ms took a third of the emulator's CPU
        while True:
            d = sfn.describe_execution(executionArn=execution_arn)
            if d["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout}s")
            time.sleep(pause)
            pause = min(1.0, pause * 1.2)
        history, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **kw)
            history += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        output = json.loads(d["output"]) if d.get("output") else None
        return Execution(execution_arn, d["status"], output, d.get("error"), d.get("cause"), history)

    def run(self, machine_arn: str, payload: dict, name: str | None = None, timeout: float = 60.0) -> Execution:
        return self.wait(self.start(machine_arn, payload, name), timeout)

    # -- S3 ----------------------------------------------------------------------------------------
    def put(self, bucket: str, account: str, key: str, body: bytes | str = b"x", region: str = "eu-west-1"):
        self.client("s3", account, region).put_object(Bucket=bucket, Key=key,
                                                       Body=body.encode() if isinstance(body, str) else body)

    def keys(self, bucket: str, account: str, prefix: str = "", region: str = "eu-west-1") -> list[str]:
        s3 = self.client("s3", account, region)
        out = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def body(self, bucket: str, account: str, key: str, region: str = "eu-west-1") -> bytes:
        return self.client("s3", account, region).get_object(Bucket=bucket, Key=key)["Body"].read()

    # -- EventBridge -------------------------------------------------------------------------------
    def observe_bus(self, account: str, bus_name: str, region: str = "eu-west-1") -> EventObserver:
        return EventObserver(self, account, region, bus_name)


def client_error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": uuid.uuid4().hex}}, operation)


def scratch_copy(definition: dict) -> dict:
    return copy.deepcopy(definition)
