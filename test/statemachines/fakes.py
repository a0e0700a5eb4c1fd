"""Test doubles for what moto cannot run: AppFlow (not emulated at all), the Glue job's Spark code and the
outcome of a Glue crawl. They sit at the service boundary only; the state machine definitions run as
synthesized. The Glue script itself is tested on Spark in glue-scripts/tests.
"""
from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter
import uuid
import sys
from datetime import datetime, timezone
from pathlib import Path

from moto.glue import exceptions as glue_exceptions
from moto.moto_api import state_manager

import moto_patches
from api_model_check import output_problems
from harness import client_error

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "glue-scripts"))
from filter_leads import appflow_error_record  # noqa: E402  the one place the error-file format is assumed


def marketo_run_prefix(flow_name: str, execution_id: str) -> str:
    """Where one Marketo run's files land: `<BucketPrefix>/<flow name>/<execution id>/`. The execution id
    level is the flow's PrefixConfig PathPrefixHierarchy EXECUTION_ID ("The ID that Amazon AppFlow assigns
    to the flow run", CloudFormation AWS::AppFlow::Flow PrefixConfig); the flow-name level is what AppFlow
    is reported to write and is on the first-run checklist (docs/first-run.md) to confirm."""
    return f"landing/{flow_name}/{execution_id}/"


def rejected_records_key(error_prefix: str, flow_name: str, execution_id: str) -> str:
    """Where AppFlow keeps the records a destination rejected (the flow's ErrorHandlingConfig location).
    The layout below the prefix is not documented: assumed like an S3 destination's, and on the
    first-run checklist to confirm."""
    return f"{error_prefix.rstrip('/')}/{flow_name}/{execution_id}/rejected-records"


class FakeAppFlow:
    """Answers `arn:aws:states:::aws-sdk:appflow:*` Task states (AppFlow is not in moto).

    Knows the flows of the stacks deployed in the World (AWS::AppFlow::Flow FlowName, per account).
    StartFlow is idempotent per clientToken (as the API documents). DescribeFlowExecutionRecords lists
    the flow's runs in an order the API does not promise (by execution id, so neither newest nor oldest
    first), `page_size` at a time with a nextToken; each listing advances the runs it lists one step
    through their `statuses` (default InProgress -> Successful). CancelFlowExecutions turns a run's
    status to CancelStarted for `cancel_steps` listings, then Canceled (a batch API finishes its batch
    after cancellation, AppFlow API change note 2023-05-02). A run that ends with rejected records
    (`Error`, or `rejected_records` > 0 on a `Successful` run, as AppFlow reports a run whose destination
    refused some records) counts them in executionResult.errorInfo.putFailuresCount and writes them to
    the flow's error location as appflow.amazonaws.com. Every response must validate against AppFlow's
    service model (`handle`)."""

    def __init__(self, world):
        self.world = world
        self.calls: list[tuple[str, dict]] = []
        self.statuses = ["InProgress", "Successful"]
        self.start_error = None            # a ClientError to raise from StartFlow
        self.rejected_records = 0          # records the destination refuses in a run that ends Successful
        self.page_size = 100               # records per DescribeFlowExecutionRecords page (API maximum 100)
        self.cancel_steps = 1              # listings a cancelled run stays CancelStarted
        self.refused_keys: set[str] = set()  # upsert keys (MarketoId) the destination refuses, in any run
        # (account, flow, upsert key) -> times a Successful run loaded that row (refused rows excluded)
        self.loads: Counter = Counter()
        self._runs: list[dict] = []
        self._by_token: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    def _flow(self, flow_name: str) -> tuple[str, dict]:
        """(account, resolved AWS::AppFlow::Flow properties) of the flow in the calling account."""
        account = getattr(moto_patches._THREAD, "account", None)
        for stack in self.world.deployed:
            for lid in stack.of_type("AWS::AppFlow::Flow"):
                if stack.physical_name(lid) == flow_name and stack.account == account:
                    return account, stack.resolve(stack.resources[lid]["Properties"])
        raise client_error("ResourceNotFoundException", f"Flow {flow_name} does not exist in {account}",
                           "StartFlow", 404)

    def handle(self, action: str, params: dict) -> dict:
        """Answers one call; a response that the AppFlow service model would not allow fails the test."""
        with self._lock:
            self.calls.append((action, dict(params)))
            response = getattr(self, action)(**params)
        problems = output_problems("appflow", "".join(w.capitalize() for w in action.split("_")), response)
        assert not problems, f"the AppFlow fake answered what AppFlow cannot: {problems}"
        return response

    def _read_source(self, account: str, flow: dict) -> list[dict]:
        """AppFlow lists and reads an S3 source as appflow.amazonaws.com, acting for the flow's account
        (AppFlow guide, s3.html): recorded for the IAM check, which judges it by the bucket policy.
        Returns the CSV records of every file (rows after each file's header), as dicts by column."""
        source = flow["SourceFlowConfig"]["SourceConnectorProperties"].get("S3")
        if source is None:
            return []
        bucket, prefix = source["BucketName"], source["BucketPrefix"].rstrip("/") + "/"
        keys = self.world.keys(bucket, account, prefix)
        if self.world.calls is not None:
            record = lambda op, params: self.world.calls.record(  # noqa: E731
                "appflow.amazonaws.com", "s3", op, params, account, source_account=account)
            record("ListObjectsV2", {"Bucket": bucket, "Prefix": prefix})
            for key in keys:
                record("GetObject", {"Bucket": bucket, "Key": key})
        return [row for k in keys for row in csv.DictReader(io.StringIO(self.world.body(bucket, account, k).decode()))]

    def add_finished_runs(self, flow_name: str, account: str, count: int, status: str = "Successful") -> None:
        """Earlier runs of the flow (say, by hand or by previous executions). Their ids sort first, so
        they are listed before any run started later."""
        for _ in range(count):
            self._runs.append({"account": account, "flow": flow_name, "props": None,
                               "executionId": "0" * 8 + uuid.uuid4().hex[8:],
                               "step": 0, "statuses": [status], "records": 0, "startedAt": datetime.now(timezone.utc)})

    def start_flow(self, flowName, clientToken=None):
        account, flow = self._flow(flowName)
        if self.start_error is not None:
            raise self.start_error
        records = self._read_source(account, flow)
        key = (account, flowName, clientToken)
        if clientToken and key in self._by_token:
            run = self._by_token[key]
        else:
            run = {"account": account, "flow": flowName, "props": flow, "executionId": uuid.uuid4().hex, "step": 0,
                   "statuses": list(self.statuses), "records": len(records), "rows": records,
                   "startedAt": datetime.now(timezone.utc)}
            self._runs.append(run)
            if clientToken:
                self._by_token[key] = run
        return {"flowArn": self._arn(account, flowName), "flowStatus": "Active", "executionId": run["executionId"]}

    def cancel_flow_executions(self, flowName, executionIds=()):
        account = self._flow(flowName)[0]
        known = {r["executionId"]: r for r in self._runs if (r["account"], r["flow"]) == (account, flowName)}
        for eid in executionIds:
            run = known.get(eid)
            if run is not None and self._status(run) not in ("Successful", "Error", "Canceled"):
                run["statuses"] = ["CancelStarted"] * self.cancel_steps + ["Canceled"]
                run["step"] = 0
        return {"invalidExecutions": [e for e in executionIds if e not in known]}

    @staticmethod
    def _status(run: dict) -> str:
        return run["statuses"][min(run["step"], len(run["statuses"]) - 1)]

    def describe_flow_execution_records(self, flowName, maxResults=None, nextToken=None):
        account = self._flow(flowName)[0]
        runs = sorted((r for r in self._runs if (r["account"], r["flow"]) == (account, flowName)),
                      key=lambda r: r["executionId"])
        size = min(maxResults or 100, self.page_size)
        offset = int(nextToken or 0)
        page = runs[offset:offset + size]
        records = []
        for run in page:
            status = self._status(run)
            run["step"] += 1
            rec = {"executionId": run["executionId"], "executionStatus": status,
                   "startedAt": run["startedAt"], "lastUpdatedAt": datetime.now(timezone.utc)}
            refused = self._refused(run, status)
            if status in ("Successful", "Error"):
                rec["executionResult"] = {"recordsProcessed": run["records"]}
            if refused and run["props"] is not None:
                rec["executionResult"]["errorInfo"] = {"putFailuresCount": len(refused),
                                                       "executionMessage": f"Salesforce rejected {len(refused)} records"}
                self._write_rejected(run, refused)
            if status == "Successful":
                self._count_loads(run, refused)
            records.append(rec)
        out = {"flowExecutions": records}
        if offset + size < len(runs):
            out["nextToken"] = str(offset + size)
        return out

    def _refused(self, run: dict, status: str) -> list[dict]:
        """The rows the destination refused: on a Successful run the first `rejected_records` rows and
        every row whose key is in `refused_keys`; a run in Error refused three (and loaded none)."""
        rows = run.get("rows") or []
        if status == "Error":
            return rows[:3] or [{}] * 3
        if status != "Successful":
            return []
        return [r for i, r in enumerate(rows) if i < self.rejected_records or r.get("MarketoId") in self.refused_keys]

    def _count_loads(self, run: dict, refused: list[dict]) -> None:
        """Once per run, when it ends Successful: every row it sent and the destination kept."""
        if run.get("loads_counted") or run["props"] is None:
            return
        run["loads_counted"] = True
        for row in run["rows"]:
            if row not in refused:
                self.loads[(run["account"], run["flow"], row.get("MarketoId"))] += 1

    def loaded(self, account: str, flow: str) -> Counter:
        """upsert key -> loads, of one flow."""
        return Counter({k: n for (a, f, k), n in self.loads.items() if (a, f) == (account, flow)})

    def _write_rejected(self, run: dict, refused: list[dict]) -> None:
        """AppFlow writes the refused records to the flow's error location, once per run, in the format
        the filter job assumes (filter_leads.appflow_error_record, the one place that names it)."""
        if run.get("rejected_written"):
            return
        run["rejected_written"] = True
        dest = run["props"]["DestinationFlowConfigList"][0]["DestinationConnectorProperties"]
        connector = next(iter(dest.values()))
        config = connector.get("ErrorHandlingConfig")
        if not config:
            return
        fields = {t["SourceFields"][0]: t["DestinationField"] for t in run["props"]["Tasks"]
                  if t["TaskType"] == "Map" and t.get("DestinationField")}
        key = rejected_records_key(config["BucketPrefix"], run["flow"], run["executionId"])
        body = "".join(json.dumps(appflow_error_record({fields.get(c, c): v for c, v in row.items()},
                                                       "REQUIRED_FIELD_MISSING: Required fields are missing")) + "\n"
                       for row in refused)
        self.world.put(config["BucketName"], run["account"], key, body)
        if self.world.calls is not None:
            self.world.calls.record("appflow.amazonaws.com", "s3", "PutObject",
                                    {"Bucket": config["BucketName"], "Key": key}, run["account"],
                                    source_account=run["account"])

    @staticmethod
    def _arn(account, flow):
        return f"arn:aws:appflow:eu-west-1:{account}:flow/{flow}"

    def started(self) -> list[dict]:
        return [p for a, p in self.calls if a == "start_flow"]


class GlueJobDouble:
    """Stands in for the Glue job's script: `on_run(job_name, arguments, world)` is called when a run
    starts (write the report / curated files the script would write) and returns the run's final state
    (SUCCEEDED by default, or FAILED / TIMEOUT / ERROR)."""

    def __init__(self, world):
        self.world = world
        self.on_run = lambda job_name, arguments, world: "SUCCEEDED"
        self.runs: list[tuple[str, dict]] = []
        # error codes StartJobRun answers with, one per call, before runs start again
        # (e.g. "ThrottlingException": Glue's "Rate exceeded")
        self.start_errors: list[str] = []

    def install(self, mp, glue_models):
        orig = glue_models.FakeJob.start_job_run
        double = self

        def start_job_run(job, *args, **kwargs):
            if double.start_errors:
                raise glue_exceptions.GlueClientError(double.start_errors.pop(0), "Rate exceeded")
            run_id = orig(job, *args, **kwargs)
            run = next(r for r in job.job_runs if r.job_run_id == run_id)
            double.runs.append((job.name, dict(run.arguments or {})))
            final = double.on_run(job.name, dict(run.arguments or {}), double.world)
            run._transitions = [("STARTING", "RUNNING"), ("RUNNING", final)]
            return run_id
        mp.setattr(glue_models.FakeJob, "start_job_run", start_job_run)

        # crawl outcomes: moto's FakeCrawl goes RUNNING -> COMPLETED; let a test pick FAILED/STOPPED
        orig_start = glue_models.FakeCrawler.start_crawler
        self.crawl_outcome = "COMPLETED"     # moto crawl state; GetCrawler reports it as SUCCEEDED

        def start_crawler(crawler):
            orig_start(crawler)
            crawler.crawls[-1]._transitions = [("RUNNING", double.crawl_outcome), ("STOPPING", "STOPPED")]
        mp.setattr(glue_models.FakeCrawler, "start_crawler", start_crawler)

    @staticmethod
    def crawls_stay_running_for(polls: int):
        """Each crawl reports RUNNING to `polls` GetCrawler calls, then READY (finished)."""
        state_manager.set_transition(model_name="glue::crawl", transition={"progression": "manual", "times": polls + 1})

    @staticmethod
    def reset():
        state_manager.unset_transition("glue::crawl")



def _s3_url(url: str) -> tuple[str, str]:
    assert url.startswith("s3://"), url
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def spark_overwrite_calls(bucket: str, folder: str) -> list[tuple[str, dict]]:
    """The S3 requests of a Spark overwrite of s3://bucket/folder/ (df.write.mode("overwrite")), as the
    Glue job makes them. Sources: Hadoop S3A's getFileStatus probes the path's key, then key + "/", then
    lists key + "/" (S3AFileSystem, StatusProbeEnum.ALL; a 403 on the first HEAD fails the job,
    apache/hadoop#6507); mkdirs probes every ancestor the same way and deletes parent directory markers
    after a write; FileOutputCommitter writes under folder/_temporary and renames (copy + delete) into
    folder; EMRFS, which Glue 5.0 writes through, creates and deletes "<dir>_$folder$" markers for every
    folder it creates (EMR guide). DESIGN.md records the S3A run that reproduced the 403 on HEAD curated.
    Not yet seen on Glue 5.0 itself: the first-run checklist asks for one job run with the shipped role."""
    folder = folder.rstrip("/")
    calls = [("ListObjectsV2", {"Bucket": bucket, "Prefix": folder + "/"})]
    level = folder
    while level:
        calls += [("HeadObject", {"Bucket": bucket, "Key": level}), ("HeadObject", {"Bucket": bucket, "Key": level + "/"}),
                  ("DeleteObject", {"Bucket": bucket, "Key": level + "/"})]
        calls += [(op, {"Bucket": bucket, "Key": level + "_$folder$"}) for op in ("HeadObject", "PutObject", "DeleteObject")]
        level = level.rsplit("/", 1)[0] if "/" in level else ""
    for key in (folder + "/", folder + "/_temporary/0/_temporary/attempt_1/part-00000", folder + "/part-00000",
                folder + "/_SUCCESS"):
        calls += [(op, {"Bucket": bucket, "Key": key}) for op in ("PutObject", "HeadObject", "DeleteObject")]
    calls.append(("AbortMultipartUpload", {"Bucket": bucket, "Key": folder + "/part-00000", "UploadId": "u"}))
    return calls


def _job_s3_calls(args: dict, read_keys: list[str], retry_reads: list[str] = ()) -> list[tuple[str, dict]]:
    """Every S3 call of one run of glue-scripts/filter_leads.py, by its arguments: it lists and reads
    the run's input and (retry_reads) the marker, error files and earlier outputs of the rows the last
    load refused, overwrites its Spark outputs (all but the CSV per run) and puts its report."""
    in_bucket, in_prefix = _s3_url(args["--input_path"])
    calls = [("ListObjectsV2", {"Bucket": in_bucket, "Prefix": in_prefix})]
    calls += [("GetObject", {"Bucket": in_bucket, "Key": k}) for k in read_keys]
    for k in retry_reads:   # Spark lists the folder of each file it reads
        calls += [("ListObjectsV2", {"Bucket": in_bucket, "Prefix": k.rsplit("/", 1)[0] + "/"}),
                  ("GetObject", {"Bucket": in_bucket, "Key": k})]
    outputs = (("--curated_csv_path", False), ("--curated_parquet_path", True), ("--rejected_path", True),
               ("--retry_path", True), ("--quarantine_path", True))
    for arg, per_run in (o for o in outputs if o[0] in args):
        bucket, prefix = _s3_url(args[arg])
        calls += spark_overwrite_calls(bucket, prefix + (f"run_id={args['--run_id']}" if per_run else ""))
    bucket, key = _s3_url(args["--report_path"])
    return calls + [("PutObject", {"Bucket": bucket, "Key": key})]


def _job_role(world, job_name: str) -> tuple[str, str]:
    """(account, role ARN) of the Glue job named job_name, from its template."""
    for stack in world.deployed:
        for lid in stack.of_type("AWS::Glue::Job"):
            if stack.physical_name(lid) == job_name:
                return stack.account, stack.resolve(stack.resources[lid]["Properties"]["Role"])
    raise LookupError(job_name)


def lead_key(run_id: str, inbox_key: str) -> str:
    """The upsert key the job double gives the lead of one input object: one lead per object."""
    return f"{run_id}-{inbox_key.rsplit('/', 1)[-1].split('.')[0]}"


def _job_default_args(world, job_name: str) -> dict:
    """The job's DefaultArguments from its template (--upsert_field, --max_load_attempts, ...)."""
    for stack in world.deployed:
        for lid in stack.of_type("AWS::Glue::Job"):
            if stack.physical_name(lid) == job_name:
                return stack.resolve(stack.resources[lid]["Properties"]).get("DefaultArguments", {})
    raise LookupError(job_name)


def _pending_refusals(world, acct: str, args: dict, defaults: dict):
    """What filter_leads.pending_refusals() finds, on the double's stand-ins: ({key: attempts} to send
    again, [(key, attempts, last error)] to quarantine, the keys it read). The job's Parquet outputs
    are JSON files here (retry/run_id=<run>/attempts.json, quarantine/run_id=<run>/rows.json)."""
    bucket, retry_prefix = _s3_url(args["--retry_path"])
    marker_key = retry_prefix + "pending.json"
    if marker_key not in world.keys(bucket, acct, marker_key):
        return {}, [], [marker_key]
    marker = json.loads(world.body(bucket, acct, marker_key))
    if marker["runId"] == args["--run_id"]:
        return {}, [], [marker_key]
    _, errors_prefix = _s3_url(marker["rejectedRecordsAt"])
    error_keys = world.keys(bucket, acct, errors_prefix)
    field = defaults["--upsert_field"]
    errors = {}
    for k in error_keys:
        for line in world.body(bucket, acct, k).decode().splitlines():
            record = json.loads(line)
            errors[record[field]] = record.get("error", line)
    assert len(errors) == marker["rejected"], "the real job fails here: refused rows not all found"
    attempts_key = f"{retry_prefix}run_id={marker['runId']}/attempts.json"
    prior = json.loads(world.body(bucket, acct, attempts_key)) if world.keys(bucket, acct, attempts_key) else {}
    _, parquet_prefix = _s3_url(args["--curated_parquet_path"])
    reads = [marker_key, *error_keys, f"{parquet_prefix}run_id={marker['runId']}/part-00000.parquet", attempts_key]
    refused = {k: prior.get(k, 0) + 1 for k in errors}
    limit = int(defaults["--max_load_attempts"])
    retry = {k: n for k, n in refused.items() if n < limit}
    quarantine = [(k, n, errors[k]) for k, n in refused.items() if n >= limit]
    return retry, quarantine, reads


def filter_job(kept: int | None = None, final_state: str = "SUCCEEDED", account: str | None = None,
               values: dict | None = None):
    """A GlueJobDouble.on_run that does what glue-scripts/filter_leads.py does to S3, by its arguments:
    reads the objects under --input_path, writes the report JSON to --report_path (`kept` = number of
    input objects unless given) and, if kept > 0, one curated CSV (one row per kept object, upsert key
    `lead_key`; LastName, Company, Email and FirstName from `values` if given) under --curated_csv_path. Every S3
    call the real job makes for that (`_job_s3_calls`) is recorded as the job role's for the IAM check.
    A run that ends FAILED writes nothing."""
    def on_run(job_name, args, world):
        if final_state != "SUCCEEDED":
            return final_state
        job_account, role = _job_role(world, job_name)
        acct = account or job_account
        s3 = world.client("s3", acct)
        in_bucket, in_prefix = _s3_url(args["--input_path"])
        retry, quarantine, retry_reads = {}, [], []
        if "--retry_path" in args:
            retry, quarantine, retry_reads = _pending_refusals(world, acct, args, _job_default_args(world, job_name))
        if world.calls is not None:
            for op, params in _job_s3_calls(args, world.keys(in_bucket, acct, in_prefix), retry_reads):
                world.calls.record(role, "s3", op, params, acct)
        read = len(world.keys(in_bucket, acct, in_prefix))
        n_kept = read if kept is None else kept
        keys = [lead_key(args["--run_id"], k) for k in world.keys(in_bucket, acct, in_prefix)[:n_kept]] + sorted(retry)
        report = {"runId": args["--run_id"], "read": read, "retried": len(retry), "quarantined": len(quarantine),
                  "kept": len(keys), "rejected": {"doNotCall": read - n_kept} if read > n_kept else {}}
        if "--retry_path" in args:
            bucket, prefix = _s3_url(args["--retry_path"])
            s3.put_object(Bucket=bucket, Key=f"{prefix}run_id={args['--run_id']}/attempts.json", Body=json.dumps(retry).encode())
            bucket, prefix = _s3_url(args["--quarantine_path"])
            s3.put_object(Bucket=bucket, Key=f"{prefix}run_id={args['--run_id']}/rows.json", Body=json.dumps(quarantine).encode())
        bucket, key = _s3_url(args["--report_path"])
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(report).encode())
        bucket, prefix = _s3_url(args["--curated_csv_path"])
        v = values or {}
        rows = "".join(f"{k},{v.get('LastName', f'Lead{i}')},{v.get('Company', f'Co{i}')},false,"
                       f"{v.get('Email', f'lead{i}@example.com')},{v.get('FirstName', f'First{i}')}\n" for i, k in enumerate(keys))
        s3.put_object(Bucket=bucket, Key=f"{prefix}part-00000-{args['--run_id']}.csv",
                      Body=("MarketoId,LastName,Company,DoNotCall,Email,FirstName\n" + rows).encode())
        return "SUCCEEDED"
    return on_run
