"""GIVEN every synthesized state machine, WHEN each Task is read against botocore's service models,
THEN every parameter, result path, Choice path into a result and error name exists in the model; and a
copy of a definition with one of them misspelt is caught (the check can fail)."""
from __future__ import annotations

import pytest

from api_model_check import check_definition, check_machines, tasks
from harness import scratch_copy

RESULT = {}


@pytest.fixture(scope="module")
def machines(stacks):
    return [m for s in stacks.values() for m in s.state_machines()]


def test_every_task_matches_the_sdk_models(machines):
    total, mismatches = check_machines(machines)
    RESULT.update(tasks=total, mismatches=mismatches)
    assert total > 0
    assert mismatches == []


def _caught(machine, pick, edit) -> list[str]:
    """Mismatches of a copy of the definition in which edit(state) changed the first state pick accepts."""
    definition = scratch_copy(machine.definition)
    state = next(t.state for t in tasks(definition, machine.label) if pick(t.state))
    edit(state)
    return check_definition(machine.label, definition)[1]


def _having(machines, pick) -> list:
    """The machines with a task that pick accepts (the JSONata checks have neither ResultSelector nor
    named errors)."""
    return [m for m in machines if any(pick(t.state) for t in tasks(m.definition, m.label))]


def _arguments(state: dict) -> dict:
    return state.get("Parameters", state.get("Arguments", {}))


def test_a_misspelt_parameter_is_caught(machines):
    def edit(state):
        _arguments(state)["Bukcet"] = _arguments(state).pop("Bucket")
    pick = lambda s: "Bucket" in _arguments(s)  # noqa: E731
    with_bucket = _having(machines, pick)
    assert len(with_bucket) == 3, "the hand-off and each orchestration (a stale-object check lists with an ItemReader)"
    for m in with_bucket:
        found = _caught(m, pick, edit)
        assert any("'Bukcet' is not a member of" in f for f in found), found
        assert any("required parameter 'Bucket'" in f for f in found), found


def test_a_misspelt_result_path_is_caught(machines):
    def edit(state):
        key = next(k for k, v in state["ResultSelector"].items() if str(v).startswith("$."))
        state["ResultSelector"][key] += "Typo"
    pick = lambda s: any(str(v).startswith("$.") for v in s.get("ResultSelector", {}).values())  # noqa: E731
    for m in _having(machines, pick):
        found = _caught(m, pick, edit)
        assert any("ResultSelector" in f and "Typo' is not a member" in f for f in found), found


def test_an_error_no_service_raises_is_caught(machines):
    def edit(state):
        entry = next(e for e in state["Retry"] if not e["ErrorEquals"][0].startswith("States."))
        entry["ErrorEquals"] = [entry["ErrorEquals"][0].replace("Exception", "Typo")]
    pick = lambda s: any(not e["ErrorEquals"][0].startswith("States.") for e in s.get("Retry", []))  # noqa: E731
    for m in _having(machines, pick):
        found = _caught(m, pick, edit)
        assert any("defines no error" in f and "Typo" in f for f in found), found


def test_a_misspelt_jsonata_result_path_is_caught(machines):
    """No JSONata task reads its result today (the copies pass their input on): a read of the copy's
    result is added, once spelt right (no finding) and once misspelt (caught)."""
    def read(member):
        def edit(state):
            state["Assign"] = {"etag": "{% $states.result." + member + " %}"}
        return edit
    pick = lambda s: "CopySource" in s.get("Arguments", {})  # noqa: E731
    jsonata_machines = _having(machines, pick)
    assert len(jsonata_machines) == 3, "the hand-off and each orchestration copy with JSONata"
    for m in jsonata_machines:
        assert not any("CopyObjectResult" in f for f in _caught(m, pick, read("CopyObjectResult"))), m.label
        found = _caught(m, pick, read("CopyObjectResulx"))
        assert any("JSONata reads $states.result.CopyObjectResulx: 'CopyObjectResulx' is not a member" in f
                   for f in found), found


def test_a_choice_path_into_a_missing_result_member_is_caught(machines):
    """Every Choice that reads a task's result is checked: misspelling its last member is caught."""
    checked = 0
    for m in machines:
        for name, state in m.definition["States"].items():
            for i, rule in enumerate(state.get("Choices", [])):
                variable = rule.get("Variable") or (rule.get("And") or [{}])[0].get("Variable")
                if not variable:
                    continue
                definition = scratch_copy(m.definition)
                target = definition["States"][name]["Choices"][i]
                target = target if "Variable" in target else target["And"][0]
                target["Variable"] = variable + "Typo"
                before = len(check_definition(m.label, m.definition)[1])
                after = check_definition(m.label, definition)[1]
                if len(after) > before:
                    assert any(f"{name}: Choice reads '{variable}Typo'" in f for f in after), after
                    checked += 1
    assert checked >= 3, "expected Choices that read task results (lock, crawler, load)"


def test_an_operation_the_service_lacks_is_caught(machines):
    def edit(state):
        state["Resource"] = state["Resource"].replace("listObjectsV2", "listObjectsV3")
    pick = lambda s: s.get("Resource", "").endswith("s3:listObjectsV2")  # noqa: E731
    listing = _having(machines, pick)
    assert len(listing) == 3, "the hand-off and each orchestration"
    for m in listing:
        found = _caught(m, pick, edit)
        assert any("s3 has no operation 'listObjectsV3'" in f for f in found), found


def _member_names(shape, seen=None) -> set[str]:
    """Every member name (PascalCase, as Step Functions returns them) anywhere below shape."""
    from botocore.model import ListShape, MapShape, StructureShape
    seen = set() if seen is None else seen
    if shape.name in seen:
        return set()
    seen.add(shape.name)
    if isinstance(shape, StructureShape):
        return {m[:1].upper() + m[1:] for m in shape.members} | {
            n for s in shape.members.values() for n in _member_names(s, seen)}
    if isinstance(shape, ListShape):
        return _member_names(shape.member, seen)
    if isinstance(shape, MapShape):
        return _member_names(shape.value, seen)
    return set()


def test_the_load_record_fields_the_orchestration_reads_exist_in_appflows_model(machines):
    """FindOurLoad (JSONata) reads a DescribeFlowExecutionRecords page: every response field it names
    (PascalCase identifiers in its expression) must be a member of that operation's output."""
    import re

    from api_model_check import _operation
    members = _member_names(_operation("appflow", "describeFlowExecutionRecords").output_shape)
    checked = 0
    for m in machines:
        state = m.definition["States"].get("FindOurLoad")
        if state is None:
            continue
        fields = set(re.findall(r"\.([A-Z][A-Za-z]+)", state["Output"]))
        assert fields and fields <= members, sorted(fields - members)
        checked += 1
    assert checked, "no orchestration defines FindOurLoad"
