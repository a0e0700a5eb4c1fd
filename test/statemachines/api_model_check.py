"""API model check: every Task state of every synthesized definition against the AWS SDK's service models.

moto accepts parameters AWS would refuse and answers in shapes we chose, so a misspelt parameter, a
missing required one, a result path into a member that does not exist or an error name no service
raises would pass every emulated run. botocore's models (the same JSON the AWS SDKs are generated
from) are the reference here:

* the Task's resource names a service and an operation of that service;
* every `Parameters` key is a member of the operation's input shape (Step Functions spells members in
  PascalCase, "Parameters in Step Functions are expressed in PascalCase", Step Functions guide,
  supported-services-awssdk) and every required member is present, in nested structures too;
* every `ResultSelector` path, the `OutputPath`, and every Choice path that reads the task's result
  (through its `ResultPath`) exists in the output shape; in a JSONata state, `Arguments` stand for
  `Parameters` and every `$states.result...` path of its `Assign` and `Output` must exist;
* every error in `Retry`/`Catch` is `States.*` or `<Service>.<Error>`, an error shape of that service,
  with the `Exception` suffix Step Functions adds to names that lack it (same guide).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import botocore.session
from botocore.model import ListShape, MapShape, StructureShape

# Step Functions' service names that are not botocore's (Step Functions guide, supported-services-awssdk).
SFN_TO_BOTOCORE = {"sfn": "stepfunctions", "eventbridge": "events"}

_SESSION = botocore.session.get_session()


@dataclass
class TaskRef:
    machine: str
    path: str
    state: dict
    service: str
    operation: str | None


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _members(shape: StructureShape) -> dict:
    return {_pascal(k): v for k, v in shape.members.items()}


def _model(service: str):
    return _SESSION.get_service_model(SFN_TO_BOTOCORE.get(service, service))


def _operation(service: str, action: str):
    model = _model(service)
    for name in model.operation_names:
        if name.lower() == action.lower():
            return model.operation_model(name)
    return None


def resource_operation(resource: str) -> tuple[str, str] | None:
    """(service, action) of a Task's resource, for aws-sdk and optimized integrations."""
    m = re.fullmatch(r"arn:[^:]+:states:::(?:aws-sdk:)?([a-z0-9-]+):([A-Za-z0-9]+)(?:\.[a-zA-Z0-9:]+)?", resource)
    return (m[1], m[2]) if m else None


def tasks(definition: dict, machine: str, path: str = ""):
    for name, state in definition.get("States", {}).items():
        here = f"{path}{name}"
        if state["Type"] == "Task":
            svc_op = resource_operation(state["Resource"])
            yield TaskRef(machine, here, state, *(svc_op or (state["Resource"], None)))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from tasks(state[key], machine, here + "/")
        for i, branch in enumerate(state.get("Branches", [])):
            yield from tasks(branch, machine, f"{here}[{i}]/")


def item_readers(definition: dict, machine: str, path: str = ""):
    """A Distributed Map's ItemReader is a call too (s3:listObjectsV2 with its Parameters)."""
    for name, state in definition.get("States", {}).items():
        reader = state.get("ItemReader")
        if reader:
            svc_op = resource_operation(reader["Resource"])
            yield TaskRef(machine, f"{path}{name} ItemReader", {"Parameters": reader.get("Parameters", {})},
                          *(svc_op or (reader["Resource"], None)))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from item_readers(state[key], machine, f"{path}{name}/")


def _check_params(params: dict, shape: StructureShape, where: str, out: list) -> None:
    members = _members(shape)
    given = {k[:-2] if k.endswith(".$") else k for k in params}
    for key in sorted(given - set(members)):
        out.append(f"{where}: parameter {key!r} is not a member of {shape.name} (members: {sorted(members)})")
    for req in shape.required_members:
        if _pascal(req) not in given:
            out.append(f"{where}: required parameter {_pascal(req)!r} of {shape.name} is missing")
    for key, value in params.items():
        if key.endswith(".$") or key not in members:
            continue
        sub = members[key]
        if isinstance(sub, StructureShape) and isinstance(value, dict):
            _check_params(value, sub, f"{where}.{key}", out)
        elif isinstance(sub, ListShape) and isinstance(sub.member, StructureShape) and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _check_params(item, sub.member, f"{where}.{key}[{i}]", out)


_SEGMENT = re.compile(r"\.([A-Za-z0-9_-]+)|\['([^']+)'\]|\[(\d+|\*)\]")


def walk(shape, path: str) -> str | None:
    """None if `path` (a JSONPath below `$`) exists in `shape`, else why not."""
    pos = 0
    if path.startswith("$"):
        path = path[1:]
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None:
            return f"cannot read path {path!r} at {path[pos:]!r}"
        pos = m.end()
        name, index = m[1] or m[2], m[3]
        if index is not None:
            if not isinstance(shape, ListShape):
                return f"[{index}] on {shape.name}, which is not a list"
            shape = shape.member
        elif isinstance(shape, MapShape):
            shape = shape.value
        elif isinstance(shape, StructureShape):
            members = _members(shape)
            if name not in members:
                return f"{name!r} is not a member of {shape.name} (members: {sorted(members)})"
            shape = members[name]
        else:
            return f"{name!r} below {shape.name}, a {shape.type_name}"
    return None


_PATH_IN = re.compile(r"\$(?:\.[A-Za-z0-9_-]+|\['[^']+'\]|\[\d+\])*")


def _selector_paths(selector: dict, prefix: str = "") -> dict[str, str]:
    """{selector key path: JSONPath into the result} (States.StringToJson(...) values are parsed text,
    unknown to the model: they map to None)."""
    out = {}
    for key, value in selector.items():
        if key.endswith(".$"):
            expr = value.strip()
            out[prefix + key[:-2]] = None if not expr.startswith("$") or expr.startswith("$$") else expr
        elif isinstance(value, dict):
            out.update(_selector_paths(value, f"{prefix}{key}."))
    return out


# `$states.result` and the member and index steps after it, up to the first filter or function.
_JSONATA_RESULT = re.compile(r"\$states\.result((?:\.[A-Za-z0-9_]+|\[-?\d+\])*)")


def _jsonata_result_paths(state: dict) -> list[str]:
    """JSONPath-like paths ($.A.B[0]) that a JSONata state's Assign and Output read from its result."""
    text = repr([state.get("Assign"), state.get("Output")])
    return ["$" + re.sub(r"\[-\d+\]", "[0]", m[1]) for m in _JSONATA_RESULT.finditer(text)]


def _choice_variables(definition: dict):
    for name, state in definition.get("States", {}).items():
        if state["Type"] == "Choice":
            for rule in state.get("Choices", []):
                yield from _rule_variables(name, rule)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _choice_variables(state[key])


def _rule_variables(name, rule):
    if "Variable" in rule:
        yield name, rule["Variable"]
    for key in ("And", "Or"):
        for sub in rule.get(key, []):
            yield from _rule_variables(name, sub)
    if "Not" in rule:
        yield from _rule_variables(name, rule["Not"])


def _error_names(service: str) -> set[str]:
    model = _model(service)
    names = set()
    for shape_name in model.shape_names:
        shape = model.shape_for(shape_name)
        if shape.metadata.get("exception"):
            names.add(shape_name if shape_name.endswith("Exception") else shape_name + "Exception")
    return names


def _service_prefixes(service: str) -> set[str]:
    model = _model(service)
    return {service.lower(), model.service_name.lower(), model.service_id.replace(" ", "").replace("-", "").lower()}


def check_definition(machine: str, definition: dict) -> tuple[int, list[str]]:
    """(number of tasks, mismatches) of one state machine definition."""
    out: list[str] = []
    found = list(tasks(definition, machine)) + list(item_readers(definition, machine))
    results: dict[str, list] = {}   # ResultPath -> [(selector paths or None, output shape)]
    for t in found:
        where = f"{machine} {t.path}"
        if t.operation is None:
            out.append(f"{where}: resource {t.service!r} is not a service integration this check knows")
            continue
        op = _operation(t.service, t.operation)
        if op is None:
            out.append(f"{where}: {t.service} has no operation {t.operation!r}")
            continue
        arguments = t.state.get("Parameters", t.state.get("Arguments", {}))
        if op.input_shape is not None and isinstance(arguments, dict):
            _check_params(arguments, op.input_shape, where, out)
        output = op.output_shape
        if output is not None:
            for path in _jsonata_result_paths(t.state):
                if why := walk(output, path):
                    out.append(f"{where}: JSONata reads $states.result{path[1:]}: {why}")
        selector = t.state.get("ResultSelector")
        if selector and output is not None:
            for key, path in _selector_paths(selector).items():
                if path is not None and (why := walk(output, path)):
                    out.append(f"{where}: ResultSelector {key!r}: {why}")
        if "OutputPath" in t.state and output is not None and t.state["OutputPath"] != "$":
            if why := walk(output, t.state["OutputPath"]):
                out.append(f"{where}: OutputPath: {why}")
        rp = t.state.get("ResultPath", "$")
        if rp is not None and output is not None:
            results.setdefault(rp, []).append((_selector_paths(selector) if selector else None, output))
        for block in ("Retry", "Catch"):
            for entry in t.state.get(block, []):
                for error in entry["ErrorEquals"]:
                    if error.startswith("States."):
                        continue
                    prefix, _, name = error.partition(".")
                    if prefix.lower() not in _service_prefixes(t.service):
                        out.append(f"{where}: {block} error {error!r} is not named after the task's service {t.service}")
                    elif name not in _error_names(t.service):
                        out.append(f"{where}: {block} error {error!r}: {t.service} defines no error {name!r}")
    for state_name, variable in _choice_variables(definition):
        for rp, readers in results.items():
            if rp == "$" or not variable.startswith(rp + ".") and not variable.startswith(rp + "["):
                continue
            rest = "$" + variable[len(rp):]
            whys = [_why_choice(rest, selector, output) for selector, output in readers]
            if all(whys):
                out.append(f"{machine} {state_name}: Choice reads {variable!r}, which no task result has: {whys[0]}")
    return len(found), out


def _why_choice(rest: str, selector: dict | None, output) -> str | None:
    if selector is None:
        return walk(output, rest)
    for key, path in selector.items():
        head = "$." + key
        if rest == head or rest.startswith(head + ".") or rest.startswith(head + "["):
            return None if path is None else walk(output, path + rest[len(head):])
    return f"{rest[2:]!r} is not one of the ResultSelector's keys {sorted(selector)}"


def check_machines(machines) -> tuple[int, list[str]]:
    total, mismatches = 0, []
    for m in machines:
        n, out = check_definition(m.label, m.definition)
        total += n
        mismatches += out
    return total, mismatches


def output_problems(service: str, operation: str, response, shape=None, where: str = "") -> list[str]:
    """Why `response` (boto3 casing, as an SDK returns it) is not a valid output of the operation:
    unknown members, wrong types, values outside an enum. Used to hold the AppFlow fake to the model."""
    if shape is None:
        op = _operation(service, operation)
        if op is None:
            return [f"{service} has no operation {operation!r}"]
        shape, where = op.output_shape, f"{service}:{operation}"
    t = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(response, dict):
            return [f"{where}: {shape.name} expects an object, got {type(response).__name__}"]
        out = [f"{where}: {k!r} is not a member of {shape.name}" for k in response if k not in shape.members]
        for k, v in response.items():
            if k in shape.members:
                out += output_problems(service, operation, v, shape.members[k], f"{where}.{k}")
        return out
    if isinstance(shape, ListShape):
        if not isinstance(response, list):
            return [f"{where}: {shape.name} expects a list"]
        return [p for i, v in enumerate(response) for p in output_problems(service, operation, v, shape.member, f"{where}[{i}]")]
    expected = {"string": str, "long": int, "integer": int, "boolean": bool, "double": (int, float),
                "float": (int, float)}.get(t)
    if t == "timestamp":
        import datetime
        ok = isinstance(response, datetime.datetime)
    else:
        ok = expected is None or (isinstance(response, expected) and not (t in ("long", "integer") and isinstance(response, bool)))
    if not ok:
        return [f"{where}: {shape.name} is a {t}, got {response!r}"]
    if t == "string" and shape.enum and response not in shape.enum:
        return [f"{where}: {response!r} is not one of {shape.name} {shape.enum}"]
    return []
