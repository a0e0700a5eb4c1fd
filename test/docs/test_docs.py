"""The README and docs/first-run.md against what they describe.

* Every AWS CLI command in docs/first-run.md names a real service, operation and options (botocore's
  service models, the ones the AWS CLI is generated from): a typo there is found here, not by a person
  in front of a new account. The CLI's own `aws s3` commands (ls, cp, ...) have no model: only their
  names are checked.
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
S3_COMMANDS = {"ls", "cp", "mv", "rm", "sync", "mb", "rb", "presign"}  # the CLI's high-level `aws s3`
GLOBAL_OPTIONS = {"profile", "region", "output", "query", "endpoint-url", "no-cli-pager", "debug"}
PAGINATION_OPTIONS = {"max-items", "starting-token", "page-size", "no-paginate"}
NAME_PROPERTIES = ["BucketName", "Name", "RoleName", "FlowName", "TableName", "StateMachineName",
                   "LogGroupName", "AlarmName", "TopicName", "QueueName", "AliasName"]


def _without_substitutions(text: str) -> tuple[str, list[str]]:
    """The text with every $( ... ) replaced by X, and the commands inside them. A `)` inside the
    inner command's quotes does not close it (e.g. a --query with contains(...))."""
    out, inner, depth, quote, start, i = [], [], 0, None, 0, 0
    while i < len(text):
        c = text[i]
        if depth and quote:
            quote = None if c == quote else quote
        elif text.startswith("$(", i):
            start = i + 2 if depth == 0 else start
            depth, i = depth + 1, i + 2
            continue
        elif depth and c in "'\"":
            quote = c
        elif depth and c == ")":
            depth -= 1
            if depth == 0:
                inner.append(text[start:i])
                out.append("X")
                i += 1
                continue
        if depth == 0:
            out.append(c)
        i += 1
    return "".join(out), inner


def aws_commands(markdown: str) -> list[list[str]]:
    """The words of every `aws ...` command in the ```sh blocks, nested $( ... ) commands included;
    a command ends at an unquoted |, ; or &."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            pending = [line]
            while pending:
                text, inner = _without_substitutions(pending.pop())
                pending.extend(inner)
                lexer = shlex.shlex(text, posix=True, punctuation_chars="|;&")
                lexer.wordchars += "=$-:/.,[]?*{}<>@+"
                words = list(lexer)
                segment: list[str] = []
                for word in words + [";"]:
                    if word and set(word) <= set("|;&"):
                        at = next((i for i, w in enumerate(segment) if w == "aws" or w.endswith("=aws")), None)
                        if at is not None:
                            commands.append(["aws"] + segment[at + 1:])
                        segment = []
                    else:
                        segment.append(word)
    return commands


def test_first_run_commands_are_real_cli_operations_with_real_options():
    session = botocore.session.get_session()
    commands = aws_commands(FIRST_RUN.read_text())
    assert len(commands) >= 10, commands  # the parser found them
    problems = []
    for words in commands:
        if words[1] == "s3":
            if words[2] not in S3_COMMANDS:
                problems.append(f"s3 {words[2]}: no such command")
            continue
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
    assert problems == []


def test_first_run_commands_are_checked_with_their_nested_commands():
    """The parser the test above relies on: nested commands are checked on their own."""
    got = aws_commands('```sh\nV=$(aws glue get-crawler --query "a[?contains(n,\'x\')] | [0]") && '
                       'aws s3api get-object --key "$(aws s3api list-buckets)" f | head\n```')
    assert got == [["aws", "s3api", "get-object", "--key", "X", "f"],
                   ["aws", "s3api", "list-buckets"],
                   ["aws", "glue", "get-crawler", "--query", "a[?contains(n,'x')] | [0]"]]


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
