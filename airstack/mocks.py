"""Pulumi mocks that answer like AWS would: realistic ids, ARNs, URLs and endpoints, deterministic per name.

``answer`` is what the offline monitor calls: after ``pulumi up`` every output is known; on the first preview
of a new stack a provider knows only what it was given, so every computed output (ids, ARNs, URLs,
endpoints) is unknown, and so are all outputs of a remote component, whose children do not exist yet.

``call`` answers the program's lookups: from the lookups file first (recorded results), else computed where
the lookup is pure (policy documents, partition, region, zones, caller identity, ARNs, default tags), else it
raises ``UnansweredLookup`` and logs the lookup, so that the run fails naming it instead of going on with an
empty result.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pulumi

from airstack import wire
from airstack.lookups import STACK_REFERENCE, LookupLog, Lookups, UnansweredLookup
from airstack.mock_resources import ACCOUNT_ID, FILLERS, engine_port
from airstack.policy_document import PolicyDocumentError, policy_document
from components.naming import partition_of

_SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:length]


def unwrap_secrets(value: Any) -> tuple[Any, bool]:
    """Strip Pulumi's secret envelopes (as the policy analyzer does); report whether there was one."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            inner, _ = unwrap_secrets(value.get("value"))
            return inner, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], hit = unwrap_secrets(v)
            found |= hit
        return out, found
    if isinstance(value, list):
        pairs = [unwrap_secrets(v) for v in value]
        return [v for v, _ in pairs], any(hit for _, hit in pairs)
    return value, False


_VPC_RESOURCE_LISTS = (
    "subnets", "routeTables", "routeTableAssociations", "routes", "natGateways", "eips", "vpcEndpoints",
)  # fmt: skip


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class AwsMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, lookups: Lookups | None = None, config: dict[str, str] | None = None) -> None:
        self.region = region
        self.lookups = lookups or Lookups()
        self.config = config or {}
        self.log = LookupLog()
        """Lookups that neither the lookups file nor a computation answered (the run fails with them)."""

    # ---------------------------------------------------------------------------------------- resources

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs, _ = unwrap_secrets(dict(args.inputs))
        recorded = self.lookups.find(args.typ, {"id": args.resource_id}) if args.resource_id else None
        if recorded is not None:  # an existing resource read with `.get(...)` or imported: its recorded state
            return args.resource_id, {**inputs, **recorded}
        if args.typ == STACK_REFERENCE:
            return str(inputs.get("name") or args.name), self._stack_reference(args.name, inputs)
        if args.typ == "awsx:ec2:Vpc":
            return f"{args.name}", self._vpc(args.name, inputs)
        if not args.custom:
            return None, {}
        outputs = dict(inputs)
        own = inputs.get("region")
        # pulumi-aws v7's per-resource region: the resource, its ARN and endpoints live there.
        region = own if args.typ.startswith("aws:") and isinstance(own, str) and own else self.region
        return self._fill(args.typ, args.name, outputs, region), outputs

    def answer(self, args: pulumi.runtime.MockResourceArgs, *, preview: bool) -> tuple[str | None, dict[str, Any]]:
        """The provider's answer to a registration: after ``up``, or on the first preview of a new stack."""
        resource_id, outputs = self.new_resource(args)
        if not preview:
            return resource_id, outputs
        inputs = dict(args.inputs)
        if args.typ == "awsx:ec2:Vpc":
            return None, dict.fromkeys(outputs, wire.UNKNOWN)
        known = dict(inputs)
        for key, value in outputs.items():
            # Pulumi's auto-name is chosen in the provider's Check, before the preview: it is known.
            autonamed = key == "name" and "name" not in inputs
            if key not in inputs and not autonamed:
                known[key] = wire.UNKNOWN
            elif autonamed:
                known[key] = value
        return None, known

    def _vpc(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        azs = _int(inputs.get("numberOfAvailabilityZones"), 3)
        kinds = {str(spec.get("type", "")).lower() for spec in inputs.get("subnetSpecs") or []} or {"public", "private"}
        # Only the component's outputs: several share a name with an input of another shape (natGateways).
        outputs: dict[str, Any] = {name_: [] for name_ in _VPC_RESOURCE_LISTS}
        outputs["vpcId"] = f"vpc-{_hex(name)}"
        for kind in ("public", "private", "isolated"):
            outputs[f"{kind}SubnetIds"] = (
                [f"subnet-{_hex(name, kind, str(i))}" for i in range(azs)] if kind in kinds else []
            )
        return outputs

    def _fill(self, typ: str, name: str, out: dict[str, Any], region: str) -> str:  # noqa: PLR0911, PLR0912
        """Add the outputs the provider would compute for a resource in ``region``; return the resource id."""
        auto = f"{name}-{_hex(typ, name, length=7)}"
        service = typ.split(":")[1].split("/", maxsplit=1)[0]
        if typ == "aws:sqs/queue:Queue":
            out.setdefault("name", auto)
            out["arn"] = _arn(region, "sqs", out["name"])
            out["url"] = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{out['name']}"
            return out["url"]
        fill = FILLERS.get(typ)
        if fill is not None:
            return fill(region, name, auto, out)
        if typ == "aws:rds/instance:Instance":
            out.setdefault("identifier", auto)
            out["address"] = f"{out['identifier']}.c{_hex(name, length=11)}.{region}.rds.amazonaws.com"
            out["port"] = port = _int(out.get("port"), engine_port(out.get("engine")))
            out["endpoint"] = f"{out['address']}:{port}"
            if out.get("manageMasterUserPassword"):
                secret = f"rds!db-{_hex('rds', name, length=8)}-{_hex('rds2', name, length=4)}"
                arn = _arn(region, "secretsmanager", f"secret:{secret}-{_hex(name, length=6)}")
                out["masterUserSecrets"] = [{"secretArn": arn, "secretStatus": "active", "kmsKeyId": ""}]
            out["arn"] = _arn(region, "rds", f"db:{out['identifier']}")
            return f"db-{_hex(name, length=26).upper()}"
        if typ == "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication":
            # Its id is the replicated backups' ARN in the destination region (what a restore names).
            return _arn(region, "rds", f"auto-backup:ab-{_hex('backups', name, length=26)}")
        if typ == "aws:efs/fileSystem:FileSystem":
            fs = f"fs-{_hex(name)}"
            out["arn"] = _arn(region, "elasticfilesystem", f"file-system/{fs}")
            return fs
        if typ == "aws:efs/accessPoint:AccessPoint":
            ap = f"fsap-{_hex(name)}"
            out["arn"] = _arn(region, "elasticfilesystem", f"access-point/{ap}")
            return ap
        if typ == "aws:ec2/securityGroup:SecurityGroup":
            sg = f"sg-{_hex(name)}"
            out["arn"] = _arn(region, "ec2", f"security-group/{sg}")
            out.setdefault("name", auto)
            return sg
        if typ == "aws:lb/loadBalancer:LoadBalancer":
            lb_name = out.setdefault("name", auto[:32])
            out["arn"] = _arn(region, "elasticloadbalancing", f"loadbalancer/app/{lb_name}/{_hex(name, length=16)}")
            prefix = "internal-" if out.get("internal") else ""
            out["dnsName"] = f"{prefix}{lb_name}-{int(_hex(name, length=8), 16)}.{region}.elb.amazonaws.com"
            out["zoneId"] = "Z32O12XQLNTSW2"
            return out["arn"]
        if typ in ("aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener"):
            kind = "targetgroup" if "targetGroup" in typ else "listener/app"
            out.setdefault("name", auto[:32])
            out["arn"] = _arn(region, "elasticloadbalancing", f"{kind}/{out['name']}/{_hex(name, length=16)}")
            return out["arn"]
        if typ == "aws:iam/role:Role":
            out.setdefault("name", auto)
            out["arn"] = f"arn:{partition_of(region).name}:iam::{ACCOUNT_ID}:role/{out['name']}"
            return out["name"]
        if typ == "aws:secretsmanager/secret:Secret":
            out.setdefault("name", auto)
            out["arn"] = _arn(region, "secretsmanager", f"secret:{out['name']}-{_hex(name, length=6)}")
            return out["arn"]
        if typ == "aws:ecs/cluster:Cluster":
            out.setdefault("name", auto)
            out["arn"] = _arn(region, "ecs", f"cluster/{out['name']}")
            return out["arn"]
        if typ == "aws:ecs/taskDefinition:TaskDefinition":
            out["revision"] = 1
            out["arn"] = _arn(region, "ecs", f"task-definition/{out.get('family', auto)}:1")
            return out.get("family", auto)
        if typ == "aws:ecs/service:Service":
            out.setdefault("name", auto)
            out["arn"] = _arn(region, "ecs", f"service/{out['name']}")
            return out["arn"]
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            out.setdefault("name", auto)
            out["arn"] = _arn(region, "logs", f"log-group:{out['name']}")
            return out["name"]
        if typ == "random:index/randomPassword:RandomPassword":
            length = _int(out.get("length"), 16)
            out["result"] = (_hex("password", name, length=64) * 2)[:length]
            out["bcryptHash"] = "$2a$10$" + _hex("bcrypt", name, length=53)
            return "none"
        if typ == "random:index/randomBytes:RandomBytes":
            raw = hashlib.sha256(name.encode()).digest()[: _int(out.get("length"), 32)]
            out["base64"] = base64.b64encode(raw).decode()
            out["hex"] = raw.hex()
            return "none"
        if typ == "aws:acm/certificate:Certificate":
            domain = str(out.get("domainName", name))
            token = _hex("acm", name, length=32)
            certificate = f"{_hex(name, length=8)}-{_hex(name, 'a', length=4)}-4000-8000-{_hex(name, 'b', length=12)}"
            out["arn"] = _arn(region, "acm", f"certificate/{certificate}")
            out["domainValidationOptions"] = [
                {"domainName": domain, "resourceRecordName": f"_{token}.{domain}.", "resourceRecordType": "CNAME",
                 "resourceRecordValue": f"_{_hex('v', name, length=32)}.acm-validations.aws."}
            ]  # fmt: skip
            out["status"] = "ISSUED"
            return out["arn"]
        if typ == "aws:route53/record:Record":
            out["fqdn"] = str(out.get("name", name)).rstrip(".")
            return f"{out.get('zoneId')}_{out['fqdn']}_{out.get('type')}"
        if typ == "aws:sns/topic:Topic":
            out.setdefault("name", auto)
            out["arn"] = _arn(region, "sns", out["name"])
            return out["arn"]
        out.setdefault("arn", _arn(region, service, f"{typ.rsplit(':', maxsplit=1)[-1].lower()}/{auto}"))
        if "name" in out or typ.endswith(("Namespace", "Topic")):
            out.setdefault("name", auto)
        return f"{service}-{_hex(typ, name)}"

    # -------------------------------------------------------------------------------------------- calls

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """A lookup's result: recorded in the lookups file, else computed where pure; never an empty guess."""
        inputs = dict(args.args)
        recorded = self.lookups.find(args.token, inputs)
        if recorded is not None:
            return recorded, []
        computed = self._computed(args.token, inputs)
        if computed is not None:
            return computed, []
        raise UnansweredLookup(self.log.add(args.token, inputs), self.lookups)

    def _computed(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:  # noqa: PLR0911
        partition = partition_of(self.region)
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            try:
                return policy_document(args)
            except PolicyDocumentError as error:
                raise ValueError(f"invalid arguments to aws.iam.get_policy_document: {error}") from None
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:{partition.name}:iam::{ACCOUNT_ID}:user/airstack-offline",
                    "userId": "AIDAOFFLINE", "id": ACCOUNT_ID}  # fmt: skip
        if token == "aws:index/getPartition:getPartition":
            reverse = ".".join(reversed(partition.dns_suffix.split(".")))
            return {"partition": partition.name, "dnsSuffix": partition.dns_suffix, "reverseDnsPrefix": reverse,
                    "id": partition.name}  # fmt: skip
        if token == "aws:index/getRegion:getRegion":
            region = str(args.get("region") or args.get("name") or self.region)
            return {"name": region, "region": region, "id": region, "description": region,
                    "endpoint": f"ec2.{region}.{partition_of(region).dns_suffix}"}  # fmt: skip
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return self._zones(args)
        if token == "aws:index/getArn:getArn":
            return _parse_arn(str(args.get("arn", "")))
        if token == "aws:index/getDefaultTags:getDefaultTags":
            return {"tags": self.default_tags(), "id": partition.name}
        if token == "aws:ec2/getPrefixList:getPrefixList":
            return _aws_prefix_list(str(args.get("name") or ""), self.region)
        return None

    def _zones(self, args: dict[str, Any]) -> dict[str, Any]:
        prefix = zone_id_prefix(self.region)
        zones = [(f"{self.region}{s}", f"{prefix}-az{i + 1}") for i, s in enumerate("abc")]
        excluded = set(args.get("excludeNames") or []) | set(args.get("excludeZoneIds") or [])
        zones = [(n, z) for n, z in zones if n not in excluded and z not in excluded]
        return {"names": [n for n, _ in zones], "zoneIds": [z for _, z in zones],
                "groupNames": [self.region for _ in zones], "id": self.region}  # fmt: skip

    def default_tags(self) -> dict[str, str]:
        """``aws:defaultTags`` of the stack config (``{"tags": {...}}``), as the default provider applies them."""
        raw = self.config.get("aws:defaultTags")
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        tags = value.get("tags") if isinstance(value, dict) else None
        return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}

    def _stack_reference(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        stack = str(inputs.get("name") or name)
        recorded = self.lookups.find(STACK_REFERENCE, {"name": stack})
        if recorded is None:
            raise UnansweredLookup(self.log.add(STACK_REFERENCE, {"name": stack}), self.lookups)
        outputs = recorded.get("outputs", {})
        return {"name": stack, "outputs": outputs, "secretOutputNames": recorded.get("secretOutputNames", [])}


_DIRECTIONS = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw", "north": "n",
               "south": "s", "east": "e", "west": "w", "central": "c", "gov": "g", "iso": "i"}  # fmt: skip


def _arn(region: str, service: str, resource: str) -> str:
    return f"arn:{partition_of(region).name}:{service}:{region}:{ACCOUNT_ID}:{resource}"


def zone_id_prefix(region: str) -> str:
    """``eu-west-1`` -> ``euw1``, ``ap-southeast-2`` -> ``apse2``: the prefix of AWS's zone IDs."""
    country, *words, number = region.split("-")
    return country + "".join(_DIRECTIONS.get(w, w[:1]) for w in words) + number


def _parse_arn(arn: str) -> dict[str, Any]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"aws.get_arn: {arn!r} is not an ARN (arn:partition:service:region:account:resource)")
    _, partition, service, region, account, resource = parts
    return {"arn": arn, "partition": partition, "service": service, "region": region, "account": account,
            "resource": resource, "id": arn}  # fmt: skip


def _aws_prefix_list(name: str, region: str) -> dict[str, Any] | None:
    """AWS's own prefix lists of gateway endpoint services (S3, DynamoDB) exist in every region; a stand-in id."""
    if name not in (f"com.amazonaws.{region}.s3", f"com.amazonaws.{region}.dynamodb"):
        return None
    prefix_list = f"pl-{_hex('prefix-list', name, length=8)}"
    return {"id": prefix_list, "prefixListId": prefix_list, "name": name, "cidrBlocks": []}
