"""Outputs AWS computes for more resource types than airstack's own: what real programs read back.

Each filler adds a resource's computed outputs to ``out`` (deterministic per name) and returns its ID.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Callable
from typing import Any

from components.naming import partition_of

ACCOUNT_ID = "111122223333"

Filler = Callable[[str, str, str, dict[str, Any]], str]
"""``(region, name, auto-name, outputs) -> id``."""


def _hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:length]


def _arn(region: str, service: str, resource: str) -> str:
    return f"arn:{partition_of(region).name}:{service}:{region}:{ACCOUNT_ID}:{resource}"


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def engine_port(engine: Any) -> int:
    """The default port of a database engine."""
    text = str(engine or "postgres")
    if "mysql" in text or "mariadb" in text:
        return 3306
    return {"sqlserver": 1433, "oracle": 1521}.get(text.split("-", maxsplit=1)[0], 5432)


def _bucket(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
    out.setdefault("bucket", f"{out.get('bucketPrefix', name + '-')}{_hex(name, length=12)}")
    out["arn"] = f"arn:{partition_of(region).name}:s3:::{out['bucket']}"
    out["bucketRegionalDomainName"] = f"{out['bucket']}.s3.{region}.amazonaws.com"
    out["bucketDomainName"] = f"{out['bucket']}.s3.amazonaws.com"
    return out["bucket"]


def _cluster(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
    out.setdefault("clusterIdentifier", auto)
    host = f"{out['clusterIdentifier']}.cluster-c{_hex(name, length=11)}.{region}.rds.amazonaws.com"
    out["endpoint"] = host
    out["readerEndpoint"] = host.replace(".cluster-", ".cluster-ro-", 1)
    out["port"] = _int(out.get("port"), engine_port(out.get("engine")))
    out["arn"] = _arn(region, "rds", f"cluster:{out['clusterIdentifier']}")
    out["clusterResourceId"] = f"cluster-{_hex(name, length=26).upper()}"
    return out["clusterIdentifier"]


def _cluster_instance(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
    out.setdefault("identifier", auto)
    out["endpoint"] = f"{out['identifier']}.c{_hex(name, length=11)}.{region}.rds.amazonaws.com"
    out["port"] = engine_port(out.get("engine"))
    out["arn"] = _arn(region, "rds", f"db:{out['identifier']}")
    return out["identifier"]


def _instance(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
    instance = f"i-{_hex(name)}"
    number = int(_hex("ip", name, length=4), 16)
    out["privateIp"] = f"10.0.{number % 250}.{number // 250 % 250 + 4}"
    if out.get("associatePublicIpAddress") is not False:
        out["publicIp"] = f"203.0.113.{number % 250 + 1}"
    out["arn"] = _arn(region, "ec2", f"instance/{instance}")
    return instance


def _ec2(prefix: str) -> Filler:
    def fill(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
        resource_id = f"{prefix}-{_hex(prefix, name)}"
        out["arn"] = _arn(region, "ec2", f"{prefix}/{resource_id}")
        return resource_id

    return fill


def _repository(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
    out.setdefault("name", auto.lower())
    out["arn"] = _arn(region, "ecr", f"repository/{out['name']}")
    out["repositoryUrl"] = f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{out['name']}"
    out["registryId"] = ACCOUNT_ID
    return out["name"]


def _replication_group(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
    group = str(out.setdefault("replicationGroupId", auto.lower()))
    host = f"{group}.{_hex(name, length=6)}.ng.0001.{region}.cache.amazonaws.com"
    out["primaryEndpointAddress"] = f"master.{host}"
    out["readerEndpointAddress"] = f"replica.{host}"
    out["port"] = _int(out.get("port"), 6379)
    out["arn"] = _arn(region, "elasticache", f"replicationgroup:{group}")
    return group


def _iam(kind: str) -> Filler:
    def fill(region: str, name: str, auto: str, out: dict[str, Any]) -> str:
        out.setdefault("name", auto)
        out["arn"] = f"arn:{partition_of(region).name}:iam::{ACCOUNT_ID}:{kind}/{out['name']}"
        return out["arn"] if kind == "policy" else out["name"]

    return fill


FILLERS: dict[str, Filler] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:rds/cluster:Cluster": _cluster,
    "aws:rds/clusterInstance:ClusterInstance": _cluster_instance,
    "aws:ec2/instance:Instance": _instance,
    "aws:ec2/vpc:Vpc": _ec2("vpc"),
    "aws:ec2/subnet:Subnet": _ec2("subnet"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb"),
    "aws:ecr/repository:Repository": _repository,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile"),
}


AUTONAMED_PROPERTY = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:rds/instance:Instance": "identifier",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:rds/clusterInstance:ClusterInstance": "identifier",
    "aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId",
}
"""Types whose auto-named property is not ``name``."""
LOWER_CASE_SERVICES = frozenset({"s3", "rds", "elasticache", "ecr"})
"""Services that accept only lower-case names: the provider lower-cases the auto-name."""
NAME_LIMITS = {"aws:lb/loadBalancer:LoadBalancer": 32, "aws:lb/targetGroup:TargetGroup": 32}


def autoname(typ: str, name: str) -> str:
    """The name the provider picks for a resource the program did not name: ``<name>-<7 hex>``."""
    auto = f"{name}-{_hex(typ, name, length=7)}"
    service = typ.split(":")[1].split("/", maxsplit=1)[0]
    return (auto.lower() if service in LOWER_CASE_SERVICES else auto)[: NAME_LIMITS.get(typ)]


@functools.cache
def autonamed_property(typ: str) -> str | None:
    """The property pulumi-aws names automatically for this type (``name`` where its args take one), if any."""
    if typ in AUTONAMED_PROPERTY:
        return AUTONAMED_PROPERTY[typ]
    package, _, rest = typ.partition(":")
    module, _, cls = rest.partition(":")
    if package != "aws" or not cls:
        return None
    module = module.split("/", maxsplit=1)[0]
    for candidate in ("pulumi_aws" if module == "index" else f"pulumi_aws.{module}", f"pulumi_aws.{module}_"):
        try:
            args = getattr(importlib.import_module(candidate), f"{cls}Args", None)
        except ImportError:
            continue
        return "name" if isinstance(getattr(args, "name", None), property) else None
    return None


def checked_inputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs after the provider's Check: an auto-named property the program left out is filled in.

    The engine hands these (not the program's own) to the policy analyzer and the preview, so the auto-name
    is known on a first preview."""
    prop = autonamed_property(typ)
    if prop is None or prop in inputs or (prop == "bucket" and "bucketPrefix" in inputs):
        return inputs
    value = autoname(typ, name)
    if typ == "aws:sqs/queue:Queue" and inputs.get("fifoQueue") is True:
        value = f"{value}.fifo"
    elif typ == "aws:kms/alias:Alias":
        value = f"alias/{value}"
    return {**inputs, prop: value}
