"""Closes gaps in moto 5.2.5's Step Functions interpreter (execute_state_machine=True).

Every patch here changes how moto *emulates AWS* (timing, service plumbing, error names, multi-account
routing, bookkeeping); none of them changes what the state machine definition under test does, which is
executed as synthesized. The one that reads it, batched_express_children, hands moto's parser the
definition without the two Map fields moto's grammar lacks (ItemBatcher, an EXPRESS ExecutionType) and
emulates them beside it. Each patch names the moto 5.2.5 gap it closes. Pinned to moto==5.2.5:
`check_moto_version()` fails loudly if another version is installed, because these reach into internals.

Use: `apply_all(monkeypatch, sdk_stubs={"appflow": handler}, on_state_entered=callback)`.
"""
from __future__ import annotations

import copy
import functools
import json
import re
import threading
import time
import types

import moto
from botocore import handlers as botocore_handlers
from botocore.response import StreamingBody
from moto.glue import models as glue_models
from moto.stepfunctions import responses as sfn_responses
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state import state as state_mod
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service as base_mod,
    state_task_service_aws_sdk as aws_sdk_mod,
    state_task_service_callback as callback_mod,
    state_task_service_glue as glue_mod,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_mod
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

MOTO_VERSION = "5.2.5"

# Requested sleeps (seconds) that were skipped: lets a test assert the definition asked for back-off.
SLEEPS: dict[str, list] = {"retry": [], "wait": []}

# (execution ARN, Map state name, bytes of the Map's result as JSON), one per Map state evaluated.
MAP_RESULTS: list[tuple[str, str, int]] = []


def check_moto_version() -> None:
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"moto_patches.py targets moto {MOTO_VERSION}, found {moto.__version__}: "
                           "re-check every patch against the new interpreter before changing the pin")


def _jsonable(value):
    # Real Step Functions hands timestamps to the next state as ISO strings; moto keeps datetime objects.
    return json.loads(to_json_str(value))


def instant_retries_and_waits(mp, on_wait=None, on_retry=None) -> None:
    """Gap: Retry back-off, Wait states and the .sync poll interval sleep in real time (a Wait of 60 s
    takes 60 s). Here they return at once; the requested seconds are recorded in SLEEPS. `on_wait(state
    name, seconds)` lets a test decide what happens "meanwhile" (e.g. another execution finishes);
    `on_retry(state machine ARN, express)` hears of each retry (the interpreter sleeps once before each;
    express: in an Express child)."""
    def _retry_sleep(seconds):
        SLEEPS["retry"].append(seconds)
        if on_retry is not None:
            on_retry(getattr(_THREAD, "machine", None), getattr(_THREAD, "express", False))
    mp.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=_retry_sleep))

    def _wait_interval(self, env, wait_seconds):
        SLEEPS["wait"].append(wait_seconds)
        if on_wait is not None:
            on_wait(env.states.context_object.context_object_data["State"]["Name"], wait_seconds)
    mp.setattr(wait_function.WaitFunction, "_wait_interval", _wait_interval)
    mp.setattr(callback_mod, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.01)


def jsonpath_like_aws(mp) -> None:
    """Gaps in the interpreter's JSONPath evaluation: (1) a definite path through an array index such as
    `$.executions[0].ExecutionId` yields a one-element list (moto's fix for getmoto/moto#7825 treats
    any match under an index as a list), where AWS (Jayway JsonPath) yields the value itself: a Choice
    comparing it to a string never matches. As in Jayway, a path is indefinite (-> list) only if it
    has `..`, `*`, a filter `?(...)`, a slice or a union; otherwise it yields the single value.
    (2) Speed: every evaluation re-parsed the path with jsonpath_ng (a PLY parser each time); parsed
    paths are cached."""
    import sys
    from moto.stepfunctions.parser.asl.parse import asl_parser  # noqa: F401  (imports every importer)
    from moto.stepfunctions.parser.asl.utils import json_path as json_path_mod

    parse = functools.lru_cache(maxsize=4096)(json_path_mod.parse)

    def indefinite(path: str) -> bool:
        bare = re.sub(r"'[^']*'|\"[^\"]*\"", "''", path)  # ignore quoted member names
        return ".." in bare or "*" in bare or "?(" in bare or bool(re.search(r"\[[^\]]*[:,][^\]]*\]", bare))

    def extract_json(path, data):
        matches = parse(path).find(data)
        if indefinite(path):
            return [m.value for m in matches]
        if not matches:
            raise json_path_mod.NoSuchJsonPathError(json_path=path, data=data)
        return matches[0].value

    orig = json_path_mod.extract_json
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "extract_json", None) is orig:
            mp.setattr(module, "extract_json", extract_json)
    mp.setattr(json_path_mod, "parse", parse)


def paginate_item_reader(mp) -> None:
    """Gap: the Distributed Map S3 ItemReader (arn:aws:states:::s3:listObjectsV2) calls ListObjectsV2
    once, so it sees at most 1,000 keys, raises KeyError on an empty prefix (no "Contents"), and pushes
    raw datetimes. Real Step Functions pages through every key (Step Functions guide, "ItemReader (Map)":
    "lists all objects" under the prefix). Replacement: all pages, [] if none."""
    def _list_objects_v2(env, resource_runtime_part, state_credentials):
        s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
        params = env.stack.pop()
        items = []
        for page in s3.get_paginator("list_objects_v2").paginate(**params):
            items.extend(page.get("Contents", []))
        env.stack.append(_jsonable(items))
    mp.setattr(resource_eval_s3.ResourceEvalS3, "_handle_list_objects_v2", staticmethod(_list_objects_v2))


# Every batch a Map Run made of its items: (state machine ARN, items, bytes of the child's input as JSON).
BATCHES: list[tuple[str, int, int]] = []


class _Batch(dict):
    """A child execution's input made by an ItemBatcher: {"Items": [...], "BatchInput": {...}}."""


def _map_states(doc: dict, path: tuple = ()):
    """(path of state names, state) for every Map state of an ASL document, nested ones included."""
    for name, state in doc.get("States", {}).items():
        if state.get("Type") == "Map":
            yield path + (name,), state
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _map_states(state[key], path + (name,))
        for branch in state.get("Branches", []):
            yield from _map_states(branch, path + (name,))


def _state_at(program, path: tuple):
    states = program.states.states
    for name in path[:-1]:
        states = states[name].iteration_component._states.states
    return states[path[-1]]


def _mark_express(component) -> None:
    for state in component._states.states.values():
        state.leadbridge_express_child = True
        if hasattr(state, "iteration_component"):
            _mark_express(state.iteration_component)


def _batch_input(template, state_input):
    """BatchInput is a payload template over the Map state's input; only paths are emulated."""
    out = {}
    for key, value in (template or {}).items():
        if key.endswith(".$"):
            if not value.startswith("$."):
                raise NotImplementedError(f"BatchInput {key}: {value}: only $.paths are emulated")
            from moto.stepfunctions.parser.asl.utils import json_path as json_path_mod
            out[key[:-2]] = json_path_mod.extract_json(value, state_input)
        else:
            out[key] = value
    return out


def _compact(value) -> str:
    return to_json_str(value, separators=(",", ":"))


def _batches(items: list, batcher: dict, batch_input: dict) -> list[_Batch]:
    """Items in order, cut at MaxItemsPerBatch items or before MaxInputBytesPerBatch bytes of input."""
    max_items = batcher.get("MaxItemsPerBatch") or len(items) or 1
    max_bytes = batcher.get("MaxInputBytesPerBatch") or float("inf")
    empty = len(_compact({"Items": [], "BatchInput": batch_input}))
    out, current, size = [], [], empty
    for item in items:
        item_size = len(_compact(item)) + (1 if current else 0)   # and its comma
        if current and (len(current) == max_items or size + item_size > max_bytes):
            out.append(current)
            current, size, item_size = [], empty, item_size - 1
        current.append(item)
        size += item_size
    if current:
        out.append(current)
    return [_Batch(Items=b, BatchInput=batch_input) for b in out]


def batched_express_children(mp) -> None:
    """Gaps: moto 5.2.5's ASL grammar knows neither a Map's `ItemBatcher` nor `ProcessorConfig.ExecutionType`
    EXPRESS: a definition with either fails to parse ("mismatched input"). Real Step Functions gives each
    child execution a batch, `{"Items": [...], "BatchInput": {...}}`, of at most MaxItemsPerBatch items and
    MaxInputBytesPerBatch bytes (Step Functions guide, "ItemBatcher (Map)"), and runs the children as
    Express workflows, billed per request and duration instead of per transition (Step Functions pricing).
    Here the parser gets the definition without those two fields; the parsed Map remembers them: its Map
    Run cuts the listed items into batches (BatchInput: $.paths over the Map state's input), counts
    items, not children, in DescribeMapRun's ItemCounts (API reference, MapRunItemCounts), and the
    states of an Express child are marked so that usage.py bills them as Express. As CreateStateMachine
    does, an Express child with a .sync or .waitForTaskToken task is refused (Express workflows support
    neither, Step Functions guide, concepts-standard-vs-express). Not emulated: the 5-minute limit of
    an Express execution (no real time passes here; s3steps bounds a child's work instead), an
    ItemSelector together with an ItemBatcher (refused)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as dic_mod)
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        distributed_item_processor_worker as worker_mod)
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData
    from moto.stepfunctions.parser.asl.parse import asl_parser

    orig_parse = asl_parser.AmazonStateLanguageParser.parse

    def parse(definition: str):
        doc = json.loads(definition)
        found = []
        for path, state in _map_states(doc):
            processor = state.get("ItemProcessor") or {}
            config = processor.get("ProcessorConfig") or {}
            batcher = state.pop("ItemBatcher", None)
            express = config.get("ExecutionType") == "EXPRESS"
            if batcher is not None and ("ItemSelector" in state or config.get("Mode") != "DISTRIBUTED"):
                raise NotImplementedError(f"{'/'.join(path)}: an ItemBatcher is emulated only on a Distributed Map "
                                          "without ItemSelector")
            if express:
                config["ExecutionType"] = "STANDARD"
                text = json.dumps(processor)
                if ".sync" in text or ".waitForTaskToken" in text:
                    raise asl_parser.ASLParserException(errors=[f"{'/'.join(path)}: Express child workflows support "
                                                                "neither .sync nor .waitForTaskToken"])
            if batcher is not None or express:
                found.append((path, batcher, express))
        program, tree = orig_parse(json.dumps(doc))
        for path, batcher, express in found:
            component = _state_at(program, path).iteration_component
            component.leadbridge_batcher = batcher
            component.leadbridge_express = express
            if express:
                _mark_express(component)
        return program, tree
    mp.setattr(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(parse))

    orig_map_run = dic_mod.DistributedIterationComponent._map_run

    def _map_run(self, env, eval_input):
        batcher = getattr(self, "leadbridge_batcher", None)
        if batcher is not None:
            items = env.stack.pop()
            batches = _batches(items, batcher, _batch_input(batcher.get("BatchInput"), env.states.get_input()))
            machine = getattr(_THREAD, "machine", None)
            BATCHES.extend((machine, len(b["Items"]), len(_compact(b))) for b in batches)
            env.stack.append(batches)
        orig_map_run(self, env, eval_input)
    mp.setattr(dic_mod.DistributedIterationComponent, "_map_run", _map_run)

    def _eval_job(self, env, job):
        """moto's DistributedItemProcessorWorker._eval_job, counting a batch's items as items."""
        items = len(job.job_input["Items"]) if isinstance(job.job_input, _Batch) else 1
        record = self._map_run_record
        record.item_counter.total.count(items)
        record.item_counter.running.count(items)
        record.execution_counter.total.count()
        record.execution_counter.running.count()
        job_output = None
        try:
            env.states.context_object.context_object_data["Map"] = MapData(
                Item=ItemData(Index=job.job_index, Value=job.job_input))
            env.states.reset(job.job_input)
            env.stack.append(env.states.get_input())
            self._eval_input(env_frame=env)
            job.job_program.eval(env)
            end = env.program_state()
            if isinstance(end, ProgramError):
                record.execution_counter.failed.count()
                record.item_counter.failed.count(items)
            elif isinstance(end, ProgramStopped):
                record.execution_counter.aborted.count()
                record.item_counter.aborted.count(items)
            else:
                record.item_counter.succeeded.count(items)
                record.item_counter.results_written.count(items)
                record.execution_counter.succeeded.count()
                record.execution_counter.results_written.count()
                job_output = env.states.get_input()
            record.execution_counter.running.offset(-1)
        except Exception:   # moto's worker counts a timeout apart; nothing here times out
            record.execution_counter.failed.count()
            record.item_counter.failed.count(items)
        finally:
            record.item_counter.running.offset(-items)
            job.job_output = job_output
    mp.setattr(worker_mod.DistributedItemProcessorWorker, "_eval_job", _eval_job)


def distributed_map_fails_on_item_failures(mp, on_sdk_call, on_children_started=None) -> None:
    """Gap: a DISTRIBUTED Map run ignores failed items (a child whose Task fails after its retries, or that
    reaches a Fail state, just yields null) and always succeeds. Real Step Functions fails the Map Run,
    and so the Map state, with States.ExceedToleratedFailureThreshold once failed items exceed
    ToleratedFailureCount / ToleratedFailurePercentage (by default any failed item; Step Functions guide,
    "Setting failure thresholds for Distributed Map states"). Here the threshold is
    checked after every item ran; AWS may stop scheduling items earlier (only fewer side effects).
    The Map Run's start of child executions is reported to on_sdk_call (the IAM call), and how many it
    started to on_children_started(state machine ARN, children, express) (a child per batch of items
    with an ItemBatcher, see batched_express_children; express: the children are Express workflows)."""
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent, FailureEventException)
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType)
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as dic_mod)
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    orig = dic_mod.DistributedIterationComponent._map_run

    def _map_run(self, env, eval_input):
        # A Map Run starts child executions of the state machine with the state machine's role
        # (Step Functions guide, "IAM policies for using Distributed Map states"): states:StartExecution.
        machine = getattr(_THREAD, "machine", None)
        on_sdk_call(machine, "stepfunctions", "StartExecution", {"StateMachineArn": machine})
        orig(self, env, eval_input)
        items = eval_input.map_run_record.item_counter
        if on_children_started is not None:
            on_children_started(machine, eval_input.map_run_record.execution_counter.total.get(),
                                getattr(self, "leadbridge_express", False))
        failed, total = items.failed.get() + items.timed_out.get(), max(items.total.get(), 1)
        count, pct = eval_input.tolerated_failure_count or 0, eval_input.tolerated_failure_percentage or 0
        limits = ([failed > count] if count > 0 else []) + ([100.0 * failed / total > pct] if pct > 0 else [])
        if any(limits) if limits else failed > 0:
            typ = StatesErrorNameType.StatesExceedToleratedFailureThreshold
            cause = f"The specified tolerated failure threshold was exceeded: {failed} of {total} items failed"
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=StatesErrorName(typ=typ), event_type=HistoryEventType.ExecutionFailed,
                event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                    error=typ.to_name(), cause=cause))))
    mp.setattr(dic_mod.DistributedIterationComponent, "_map_run", _map_run)


def measure_map_results(mp) -> None:
    """Observation, no gap: the execution history shows a Map state's output only after ResultSelector
    and ResultPath, but the payload limit applies to the Map's result itself (the array of every
    child's output, unless a ResultWriter sends it to S3). Each Map state's result is measured into
    MAP_RESULTS as it leaves the iteration (or the ResultWriter), before anything reshapes it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map as state_map_mod

    orig = state_map_mod.StateMap._eval_execution

    def _eval_execution(self, env):
        orig(self, env)
        execution = env.states.context_object.context_object_data["Execution"]["Id"]
        MAP_RESULTS.append((execution, self.name, len(to_json_str(env.stack[-1]))))
    mp.setattr(state_map_mod.StateMap, "_eval_execution", _eval_execution)


def _clone(value):
    """A deep copy of JSON data (dicts, lists, strings, numbers, booleans, null; a dict or list of a
    subclass, such as a _Batch, comes back plain); anything else is copied by copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def faster_copies(mp) -> None:
    """Speed, no gap: the interpreter deep-copies a state's data at every step (copy.deepcopy, which keeps
    a memo of every object), and each iteration of an inline Map copied the Map's whole input again to
    evaluate its ItemSelector: a child with a batch of 100 objects copied the batch 100 times. Here state
    data, which is JSON, is copied by a plain recursive copy, and an inline Map iteration evaluates its
    ItemSelector over the Map's input without copying it (ItemSelector reads its input and builds a new
    value; what it extracts is copied as before)."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path as result_path_mod
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state as execute_state_mod
    from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map as state_map_mod
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        inline_item_processor_worker as inline_worker_mod)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service as service_mod)
    from moto.stepfunctions.parser.asl.eval import states as states_mod

    fast = types.SimpleNamespace(deepcopy=_clone, copy=copy.copy)
    for module in (states_mod, execute_state_mod, state_map_mod, result_path_mod, service_mod):
        mp.setattr(module, "copy", fast)

    def _eval_input(self, env_frame):
        if not self._parameters and not self._item_selector:
            return
        map_state_input = self._env.stack[-1]
        env_frame.states._states_data["input"] = map_state_input
        env_frame.states._states_data["result"] = env_frame.states._states_data["errorOutput"] = None
        env_frame.stack.append(map_state_input)
        (self._item_selector or self._parameters).eval(env_frame)
        env_frame.states.reset(input_value=env_frame.stack[-1])
    mp.setattr(inline_worker_mod.InlineItemProcessorWorker, "_eval_input", _eval_input)


def query_language_scopes_per_parse(mp) -> None:
    """Gap: the ASL Preprocessor keeps its stack of QueryLanguage scopes in a class attribute
    (`_query_language_per_scope: list = []`), shared by every parse. Definitions parsed at the same time
    (two executions, or Distributed Map children, starting together) then read each other's scope, and a
    JSONata state inside a JSONPath machine fails at random with "Unsupported declaration in
    QueryLanguage=JSONata block". Each Preprocessor gets a list of its own, as the code means."""
    from moto.stepfunctions.parser.asl.parse import preprocessor as preprocessor_mod

    orig = preprocessor_mod.Preprocessor.__init__

    def __init__(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        self._query_language_per_scope = []
    mp.setattr(preprocessor_mod.Preprocessor, "__init__", __init__)


def stub_sdk_services(mp, stubs: dict, on_sdk_call) -> None:
    """Gap: services moto does not emulate (AppFlow). `arn:aws:states:::aws-sdk:<service>:<action>` for a
    service in `stubs` is answered by stubs[service](action_snake_case, params) instead of moto; raise a
    botocore ClientError to fail the task. Only the service-integration boundary is replaced: the Task
    state's Parameters, ResultSelector, Retry and Catch still run as defined. The call is reported to
    on_sdk_call like every other (see route_sdk_calls_by_account)."""
    orig = aws_sdk_mod.StateTaskServiceAwsSdk._eval_service_task

    def _eval(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        handler = stubs.get(self.resource.api_name)
        if handler is None:
            return orig(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        action = self._get_boto_service_action()
        on_sdk_call(getattr(_THREAD, "machine", None), self.resource.api_name,
                    "".join(w.capitalize() for w in action.split("_")), dict(normalised_parameters),
                    getattr(_THREAD, "express", False))
        env.stack.append(handler(action, normalised_parameters))
    mp.setattr(aws_sdk_mod.StateTaskServiceAwsSdk, "_eval_service_task", _eval)


def sdk_request_and_response_shapes(mp) -> None:
    """Gaps in aws-sdk integrations: (1) parameters go to boto3 verbatim, so PascalCase names work only
    for services whose boto3 members are PascalCase (s3, glue, dynamodb, events) and fail with KeyError for
    sfn/appflow (`ExecutionArn` vs `executionArn`); (2) `eventbridge` is not a boto3 service name (`events`);
    (3) responses keep boto3 casing, StreamingBody and datetimes, where real Step Functions returns
    PascalCase JSON with the body as a string. Fix: normalise request keys and the response through the
    botocore shapes, as real Step Functions does."""
    mp.setitem(base_mod.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, "eventbridge", "events")
    prev = aws_sdk_mod.StateTaskServiceAwsSdk._eval_service_task  # may already be the stub wrapper

    def _eval(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        try:
            client = boto_client_mod.boto_client_for(service=self._get_boto_service_name(),
                                                     region=resource_runtime_part.region)
            op = client.meta.method_to_api_mapping[self._get_boto_service_action()]
            op_model = client.meta.service_model.operation_model(op)
            self._to_boto_request(normalised_parameters, op_model.input_shape)
        except Exception:  # unknown service/action: let the call fail the way moto reports it
            op_model = None
        prev(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        out = env.stack.pop()
        if isinstance(out, dict):
            out.pop("ResponseMetadata", None)
            for key, value in list(out.items()):
                if isinstance(value, StreamingBody):
                    out[key] = value.read().decode("utf-8")
            if op_model is not None and op_model.output_shape is not None:
                self._from_boto_response(out, op_model.output_shape)
        env.stack.append(_jsonable(out))
    mp.setattr(aws_sdk_mod.StateTaskServiceAwsSdk, "_eval_service_task", _eval)


def real_aws_error_names(mp) -> None:
    """Gap: aws-sdk errors are named after the lower-case service of the resource ARN
    (`s3.NoSuchKeyException`, `glue.CrawlerRunningException`); real Step Functions says
    `S3.NoSuchKeyException`, `Glue.CrawlerRunningException` ("ServiceName.ErrorName ... both in Pascal
    case", Step Functions guide, supported-services-awssdk; moto maps only dynamodb, sfn). Only the
    services whose errors our definitions catch are mapped; the API model check holds every caught
    error name to the service's model."""
    for api, name in {"s3": "S3", "glue": "Glue"}.items():
        mp.setitem(aws_sdk_mod._SERVICE_ERROR_NAMES, api, name)


def fix_glue_job_sync(mp, poll_seconds: float = 0.01) -> None:
    """Gap: arn:aws:states:::glue:startJobRun.sync always fails with States.Runtime
    "'NoneType' object has no attribute 'interrupt_all'" (a moto 5.2.5 defect: no moto issue found). Real
    Step Functions waits for the run (Step Functions guide, connect-glue). Replacement: poll GetJobRun until the run ends;
    SUCCEEDED/STOPPED -> output is the JobRun, FAILED/TIMEOUT/ERROR -> States.TaskFailed (moto's own
    resolver decides both), as real Step Functions does."""
    def _eval_integration_pattern(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        resolve = self._build_sync_resolver(env=env, resource_runtime_part=resource_runtime_part,
                                            normalised_parameters=normalised_parameters,
                                            state_credentials=state_credentials)
        while env.is_running():
            result = resolve()
            if result:
                env.stack.append(_jsonable(result))
                return
            time.sleep(poll_seconds)
    mp.setattr(glue_mod.StateTaskServiceGlue, "_eval_integration_pattern", _eval_integration_pattern)


def glue_crawler_like_aws(mp) -> None:
    """Gaps in moto's Glue crawler: (1) a crawl only advances when ListCrawls is called, so GetCrawler
    polling never sees it finish; here each GetCrawler advances the latest crawl one step (use moto's
    state_manager "manual" progression to keep it RUNNING for n polls); (2) GetCrawler reports
    LastCrawl.Status with the crawl's state name `COMPLETED`, where the API says SUCCEEDED|CANCELLED|FAILED
    (Glue API reference, LastCrawlInfo; also botocore's glue model, LastCrawlStatus)."""
    orig_get = glue_models.GlueBackend.get_crawler

    def get_crawler(self, name):
        crawler = orig_get(self, name)
        if crawler.crawls and crawler.crawls[-1].status in ("RUNNING", "STOPPING"):
            crawler.crawls[-1].advance()
        return crawler
    mp.setattr(glue_models.GlueBackend, "get_crawler", get_crawler)

    orig_as_dict = glue_models.FakeCrawler.as_dict

    def as_dict(self):
        data = orig_as_dict(self)
        last = data.get("LastCrawl")
        if last:
            last["Status"] = {"COMPLETED": "SUCCEEDED", "STOPPED": "CANCELLED"}.get(last["Status"], last["Status"])
        return data
    mp.setattr(glue_models.FakeCrawler, "as_dict", as_dict)


def dynamodb_rejects_unused_expression_values(mp) -> None:
    """Gap: moto checks for unused ExpressionAttributeValues only in UpdateItem; real DynamoDB rejects
    them in every operation ("ValidationException: Value provided in ExpressionAttributeValues unused
    in expressions: keys: {:x}"). This adds the check to PutItem and DeleteItem."""
    from moto.dynamodb import responses as ddb_responses

    def check(handler):
        body = handler.body
        used = " ".join(str(body.get(k) or "") for k in
                        ("ConditionExpression", "UpdateExpression", "KeyConditionExpression", "FilterExpression"))
        unused = [k for k in (body.get("ExpressionAttributeValues") or {}) if not re.search(re.escape(k) + r"\b", used)]
        if unused:
            raise ddb_responses.MockValidationException(
                f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{', '.join(unused)}}}")

    for op in ("put_item", "delete_item"):
        orig = getattr(ddb_responses.DynamoHandler, op)

        def wrapped(self, _orig=orig):
            check(self)
            return _orig(self)
        mp.setattr(ddb_responses.DynamoHandler, op, wrapped)


def describe_execution_datetimes(mp) -> None:
    """Gap: DescribeExecution json.dumps the execution output without a datetime encoder, so a timestamp
    left in the output ($$.Execution.StartTime, raw SDK responses) crashes the API call with TypeError
    (a moto 5.2.5 defect; AWS returns the output as the JSON string the execution produced)."""
    mp.setattr(sfn_responses, "json", types.SimpleNamespace(
        dumps=lambda o, *a, **k: to_json_str(o), loads=json.loads, JSONDecodeError=json.JSONDecodeError))


_THREAD = threading.local()


def _copy_source_verbatim(client) -> None:
    """Gap: botocore URL-encodes a string CopySource before sending it (handlers.handle_copy_source_param),
    so a definition that passes the key unencoded still copies on moto. Step Functions sends an aws-sdk
    task's parameters as given, and S3 wants the header URL-encoded ("The value must be URL-encoded",
    Amazon S3 API Reference, CopyObject): the interpreter's S3 clients send it verbatim, so that only an
    encoding done by the definition itself works (moto URL-decodes the header as S3 does)."""
    for op in ("CopyObject", "UploadPartCopy"):
        client.meta.events.unregister(f"before-parameter-build.s3.{op}", botocore_handlers.handle_copy_source_param)


def route_sdk_calls_by_account(mp, on_sdk_call) -> None:
    """Gaps: (1) every SDK call the interpreter makes signs with access key 'ak', which moto maps to its
    default account 123456789012, whichever account the state machine lives in; and moto's PutEvents
    strips a bus ARN to its name and looks the bus up in the caller's account. Fix: each state evaluation
    notes the account of its execution (from $$.Execution.Id); the interpreter's requests carry moto's
    `x-moto-account-id` header with that account, except PutEvents to a bus ARN, which goes to the bus's
    account (as cross-account PutEvents does in AWS). Bucket names are global in moto as in S3.
    (2) The interpreter builds a new boto3 client for every Task (~20 ms of CPU each), which makes a
    Distributed Map over thousands of objects take minutes; clients are cached per service and region
    (botocore clients are thread-safe); they send CopySource verbatim (_copy_source_verbatim). (3) moto enforces no IAM: every call the interpreter sends is
    reported as on_sdk_call(state machine ARN, service, operation, params, express) for the IAM check,
    once botocore has validated its parameters (a call it refuses never reaches AWS)."""
    real_boto3 = boto_client_mod.boto3
    cache: dict[tuple, object] = {}
    lock = threading.Lock()
    picked = threading.local()

    def pick(params, model, **_):
        # Reported in header(), once botocore has validated the parameters: a call it refuses (a
        # required parameter missing) is never sent, so it needs no permission.
        picked.call = (getattr(_THREAD, "machine", None), model.service_model.service_name, model.name,
                       copy.deepcopy(params), getattr(_THREAD, "express", False))
        account = getattr(_THREAD, "account", None)
        if model.name == "PutEvents":
            bus = (params.get("Entries") or [{}])[0].get("EventBusName") or ""
            if bus.startswith("arn:"):
                account = bus.split(":")[4]
        picked.account = account

    def header(params, **_):
        call, picked.call = getattr(picked, "call", None), None
        if call is not None:
            on_sdk_call(*call)
        if getattr(picked, "account", None):
            params["headers"]["x-moto-account-id"] = picked.account

    def client(*args, **kwargs):
        key = (kwargs.get("service_name") or args[0], kwargs.get("region_name"), kwargs.get("endpoint_url"))
        with lock:
            if key not in cache:
                c = real_boto3.client(*args, **kwargs)
                c.meta.events.register("before-parameter-build.*.*", pick)
                c.meta.events.register("before-call.*.*", header)
                _copy_source_verbatim(c)
                cache[key] = c
            return cache[key]
    mp.setattr(boto_client_mod, "boto3", types.SimpleNamespace(client=client))

    # Task states run their service call on a fresh thread (for TimeoutSeconds): hand the account over.
    # A state without TimeoutSeconds has nothing to time out: it runs on its own thread (speed: a run of
    # thousands of objects started a thread per state, and kept every one in moto's TMP_THREADS).
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state as execute_state_mod

    class AccountInheritingThread(threading.Thread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._moto_account = getattr(_THREAD, "account", None)
            self._moto_machine = getattr(_THREAD, "machine", None)
            self._moto_express = getattr(_THREAD, "express", False)

        def run(self):
            _THREAD.account, _THREAD.machine, _THREAD.express = self._moto_account, self._moto_machine, self._moto_express
            super().run()

        def start(self):
            if getattr(_THREAD, "no_timeout", False):
                self.run()
            else:
                super().start()
    mp.setattr(execute_state_mod, "Thread", AccountInheritingThread)
    mp.setattr(execute_state_mod, "TMP_THREADS", types.SimpleNamespace(append=lambda thread: None))

    orig_with_timeout = execute_state_mod.ExecutionState._evaluate_with_timeout

    def _evaluate_with_timeout(self, env):
        before = getattr(_THREAD, "no_timeout", False)
        _THREAD.no_timeout = isinstance(self.timeout, TimeoutSeconds) and self.timeout.is_default_value()
        try:
            return orig_with_timeout(self, env)
        finally:
            _THREAD.no_timeout = before
    mp.setattr(execute_state_mod.ExecutionState, "_evaluate_with_timeout", _evaluate_with_timeout)


def machine_of(execution_arn: str) -> str:
    """The state machine of an execution, also of a Distributed Map child
    (arn:aws:states:<region>:<account>:execution:<machine>[/<map run>]:<name>)."""
    p = execution_arn.split(":")
    return ":".join(p[:5] + ["stateMachine", p[6].split("/")[0]])


def record_entered_states(mp, on_state_entered) -> None:
    """Gap: GetExecutionHistory has no StateEntered events for states run by a DISTRIBUTED Map (only
    MapRunStarted/Succeeded), so history cannot prove coverage. This hook reports every state evaluation
    as on_state_entered(state_machine_arn, execution_arn, state_name, express) before the state runs (tests
    use it for coverage and to act at a precise moment; express: the state runs in an Express child, see
    batched_express_children); it also tells route_sdk_calls_by_account which account and state machine
    the thread's calls come from, and whether they come from an Express child."""
    orig = state_mod.CommonStateField._eval_body

    def _eval_body(self, env):
        express = getattr(self, "leadbridge_express_child", False)
        try:
            ctx = env.states.context_object.context_object_data
            execution_arn, machine_arn = ctx["Execution"]["Id"], ctx["StateMachine"]["Id"]
            _THREAD.account, _THREAD.machine = execution_arn.split(":")[4], machine_of(execution_arn)
        except Exception:
            execution_arn = machine_arn = None
        _THREAD.express = express
        on_state_entered(machine_arn, execution_arn, self.name, express)
        return orig(self, env)
    mp.setattr(state_mod.CommonStateField, "_eval_body", _eval_body)


def jsonata_in_python(mp) -> None:
    """Gap: moto 5.2.5 parses JSONata states (QueryLanguage "JSONata") but leaves the evaluator unset (its
    source evaluates through a JVM bridge that moto does not ship), so any JSONata expression fails with
    "'NoneType' object is not callable". Replacement: jsonata-python, a port of the same jsonata-java
    implementation. Speed: moto writes $states and every variable into the expression's text as JSON
    literals, so each evaluation parsed the state's whole input again (most of the emulation's time on a
    run of thousands of objects); here a JSONata state's own expression (with the Step Functions functions
    it uses) is parsed once, and $states and the variables are passed as bindings, as JSON values."""
    import jsonata
    from moto.stepfunctions.parser.asl.component.common.string import string_expression as string_mod
    from moto.stepfunctions.parser.asl.component.intrinsic.jsonata import get_intrinsic_functions_declarations
    from moto.stepfunctions.parser.asl.jsonata import jsonata as jsonata_mod
    from moto.stepfunctions.parser.asl.jsonata.validations import validate_jsonata_expression_output

    mp.setattr(jsonata_mod, "_eval_jsonata", lambda expression: jsonata.Jsonata(expression).evaluate(None))
    parsed: dict[str, object] = {}

    def compiled(text: str):
        expression = parsed.get(text)
        if expression is None:
            expression = parsed[text] = jsonata.Jsonata(text)
        return expression

    def _eval_body(self, env):
        references = jsonata_mod.extract_jsonata_variable_references(self.expression)  # refuses $ and $$
        text = "(" + get_intrinsic_functions_declarations(references) + self.expression + ")"
        store = env.variable_store
        bindings = _jsonable({**store._outer_scope, **store._inner_scope, "states": env.states._states_data})
        result = compiled(text).evaluate(None, bindings)
        if result is None and compiled(f"$exists({text})").evaluate(None, bindings):
            result = None   # null, not undefined
        elif result is None:
            validate_jsonata_expression_output(env, self.expression, text, None)   # raises: undefined
        env.stack.append(result)
    mp.setattr(string_mod.StringJSONata, "_eval_body", _eval_body)


def apply_all(mp, *, sdk_stubs: dict | None = None, on_state_entered=lambda *a: None, on_wait=None,
              on_retry=None, on_children_started=None, on_sdk_call=lambda *a: None) -> None:
    """Every patch above, undone by the monkeypatch at the end of the test. None touches a definition.
    on_sdk_call(state machine ARN, service, operation, params, express) sees every AWS call the interpreter
    makes (express: from an Express child)."""
    check_moto_version()
    instant_retries_and_waits(mp, on_wait, on_retry)
    jsonpath_like_aws(mp)
    paginate_item_reader(mp)
    batched_express_children(mp)
    distributed_map_fails_on_item_failures(mp, on_sdk_call, on_children_started)
    measure_map_results(mp)
    faster_copies(mp)
    query_language_scopes_per_parse(mp)
    stub_sdk_services(mp, sdk_stubs or {}, on_sdk_call)
    sdk_request_and_response_shapes(mp)  # after the stubs: stubs get boto3-cased params, PascalCase out
    real_aws_error_names(mp)
    fix_glue_job_sync(mp)
    glue_crawler_like_aws(mp)
    dynamodb_rejects_unused_expression_values(mp)
    describe_execution_datetimes(mp)
    jsonata_in_python(mp)
    route_sdk_calls_by_account(mp, on_sdk_call)
    record_entered_states(mp, on_state_entered)
