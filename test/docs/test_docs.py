"""The README and docs/first-run.md against what they describe.

* Every AWS CLI command in docs/first-run.md names a real service, operation and options (botocore's
  service models, the ones the AWS CLI is generated from) and a profile: a typo there is found here,
  not by a person in front of a new account.
* The README's table of fixed-name resources lists every resource the synthesized templates name
  (cdk.out), with each of its create-only properties that the template sets (CloudFormation's resource
  schemas, as shipped with cfn-lint): a new fixed name cannot go unmentioned.
"""
from __future__ import annotations

import glob
import json
import re
import shlex
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

ROOT = Path(__file__).resolve().parents[2]
FIRST_RUN = ROOT / "docs" / "first-run.md"
README = ROOT / "README.md"
CLI_SERVICE = {"s3api": "s3"}  # AWS CLI name -> botocore name, where they differ
GLOBAL_OPTIONS = {"profile", "region", "output", "query", "endpoint-url", "no-cli-pager", "debug"}
PAGINATION_OPTIONS = {"max-items", "starting-token", "page-size", "no-paginate"}
NAME_PROPERTIES = ["BucketName", "Name", "RoleName", "FlowName", "TableName", "StateMachineName",
                   "LogGroupName", "AlarmName", "TopicName", "QueueName", "AliasName"]


def _without_substitutions(text: str) -> tuple[str, list[str]]:
    """The text with every $( ... ) replaced by X, and the commands inside them."""
    out, inner, depth, start, i = [], [], 0, 0, 0
    while i < len(text):
        if text.startswith("$(", i):
            if depth == 0:
                start = i + 2
            depth += 1
            i += 2
            continue
        if text[i] == ")" and depth:
            depth -= 1
            if depth == 0:
                inner.append(text[start:i])
                out.append("X")
            i += 1
            continue
        if depth == 0:
            out.append(text[i])
        i += 1
    return "".join(out), inner


def aws_commands(markdown: str) -> list[str]:
    """Every `aws ...` command in the ```sh blocks, nested $( ... ) commands included."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            pending = [line]
            while pending:
                text, inner = _without_substitutions(pending.pop())
                pending.extend(inner)
                commands += [m.strip() for m in re.findall(r"(?:^|=|\s)(aws\s[^;&|]*)", text)]
    return commands


def test_first_run_commands_are_real_cli_operations_with_real_options():
    session = botocore.session.get_session()
    commands = aws_commands(FIRST_RUN.read_text())
    assert len(commands) >= 15, commands
    problems = []
    for command in commands:
        words = shlex.split(command)
        service, operation = CLI_SERVICE.get(words[1], words[1]), words[2]
        model = session.get_service_model(service)
        ops = {xform_name(op, "-"): op for op in model.operation_names}
        if operation not in ops:
            problems.append(f"{words[1]} {operation}: no such operation")
            continue
        op = ops[operation]
        members = {xform_name(m, "-") for m in (model.operation_model(op).input_shape.members
                                                if model.operation_model(op).input_shape else {})}
        allowed = members | GLOBAL_OPTIONS
        try:
            session.get_paginator_model(service).get_paginator(op)
            allowed |= PAGINATION_OPTIONS    # the CLI pages this operation itself
        except ValueError:
            pass
        options = [w[2:].split("=")[0] for w in words if w.startswith("--")]
        problems += [f"{words[1]} {operation}: no option --{o}" for o in options if o not in allowed]
        if "profile" not in options:
            problems.append(f"{words[1]} {operation}: no --profile (which account?)")
    assert problems == []


def test_first_run_commands_are_checked_with_their_nested_commands():
    """The parser the test above relies on: nested commands are checked on their own."""
    got = aws_commands('```sh\naws s3api get-object --key "$(aws glue get-crawler --name c)" f\n```')
    assert got == ['aws s3api get-object --key "X" f', "aws glue get-crawler --name c"]


def test_readme_links_the_first_run_checklist():
    assert "](docs/first-run.md)" in README.read_text()


def _fixed_name_table() -> dict[str, str]:
    section = README.read_text().split("## Deleting a stack and deploying it again", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(AWS::[A-Za-z0-9:]+)`.*$", section, re.M)
    return {t: row for t in rows for row in re.findall(rf"^\| `{re.escape(t)}`.*$", section, re.M)}


def test_readme_lists_every_fixed_name_resource_and_what_replaces_it():
    templates = glob.glob(str(ROOT / "cdk.out" / "*.template.json"))
    if not templates:
        pytest.fail("no cdk.out/*.template.json: run `make synth` first", pytrace=False)
    table = _fixed_name_table()
    missing = []
    for path in templates:
        for logical_id, res in json.loads(Path(path).read_text())["Resources"].items():
            props = res.get("Properties", {})
            fixed = any(p in props for p in NAME_PROPERTIES) or "Name" in props.get("DatabaseInput", {})
            if not fixed:
                continue
            row = table.get(res["Type"])
            if row is None:
                missing.append(f"{res['Type']} ({logical_id}) is not in the table")
                continue
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", res["Type"]).schema
            for pointer in schema.get("createOnlyProperties", []):
                prop = pointer.split("/")[2]
                if prop in props and f"`{prop}`" not in row:
                    missing.append(f"{res['Type']}: create-only {prop} is not in its row")
    assert missing == []
