"""Facts about AWS that the config is checked against: real lists, not patterns.

Each list names its source; tests compare the region list with the provider's own enum and botocore's
endpoint data, and the provider keys with what pulumi-aws accepts, so that an upgrade that changes them fails
a test instead of a deploy.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
import zoneinfo

# ------------------------------------------------------------------------------------------------ regions

_PARTITION_REGIONS: dict[str, tuple[str, ...]] = {
    "aws": (
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
        "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
        "us-west-1", "us-west-2",
    ),
    "aws-cn": ("cn-north-1", "cn-northwest-1"),
    "aws-us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "aws-iso": ("us-iso-east-1", "us-iso-west-1"),
    "aws-iso-b": ("us-isob-east-1", "us-isob-west-1"),
    "aws-iso-e": ("eu-isoe-west-1",),
    "aws-iso-f": ("us-isof-east-1", "us-isof-south-1"),
    "aws-eusc": ("eusc-de-east-1",),
}  # fmt: skip
"""Every region pulumi-aws 7 knows (its ``Region`` enum), by partition as in botocore's endpoint data."""

REGION_PARTITION = {region: partition for partition, regions in _PARTITION_REGIONS.items() for region in regions}
SUPPORTED_PARTITIONS = ("aws",)
"""airstack is built and tested for the commercial partition only: its ARNs, endpoint names and managed
policies are written for ``aws``, and China, GovCloud and the isolated partitions differ in each of them and in
which of the services it uses (Fargate Spot, Service Connect, ACM) they offer."""
SUPPORTED_REGIONS = tuple(r for r in REGION_PARTITION if REGION_PARTITION[r] in SUPPORTED_PARTITIONS)

AVAILABILITY_ZONES_FOR_NEW_ACCOUNTS = {"us-west-1": 2}
"""Regions where an account may use fewer than three Availability Zones."""


def region_problem(region: str) -> str | None:
    """Why ``region`` cannot host a stack, or None."""
    partition = REGION_PARTITION.get(region)
    if partition is None:
        return "not an AWS region; use one of " + ", ".join(SUPPORTED_REGIONS)
    if partition not in SUPPORTED_PARTITIONS:
        return (
            f"{region} is in the {partition} partition; airstack supports the "
            + ", ".join(SUPPORTED_PARTITIONS)
            + " partition only (ARNs, endpoints and managed policies differ there, and so do the services it uses)"
        )
    return None


# ---------------------------------------------------------------------------------------------------- RDS

POSTGRES_MAJOR_VERSIONS = ("14", "15", "16", "17")
"""PostgreSQL majors that Airflow 3 supports and RDS offers without Extended Support charges."""

_SIZES_TO_16 = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_SIZES_TO_24 = (*_SIZES_TO_16, "24xlarge")
_SIZES_TO_32 = (*_SIZES_TO_24, "32xlarge")
_SIZES_TO_48 = (*_SIZES_TO_24, "48xlarge")
_BURSTABLE = ("micro", "small", "medium", "large", "xlarge", "2xlarge")
_RDS_POSTGRES_FAMILIES: dict[str, tuple[str, ...]] = {
    "t3": _BURSTABLE, "t4g": _BURSTABLE,
    "m5": _SIZES_TO_24, "m5d": _SIZES_TO_24, "m6g": _SIZES_TO_16, "m6gd": _SIZES_TO_16,
    "m6i": _SIZES_TO_32, "m6id": _SIZES_TO_32, "m6idn": _SIZES_TO_32, "m6in": _SIZES_TO_32,
    "m7g": _SIZES_TO_16, "m7i": _SIZES_TO_48, "m8g": _SIZES_TO_48,
    "r5": _SIZES_TO_24, "r5b": _SIZES_TO_24, "r5d": _SIZES_TO_24, "r6g": _SIZES_TO_16, "r6gd": _SIZES_TO_16,
    "r6i": _SIZES_TO_32, "r6id": _SIZES_TO_32, "r6idn": _SIZES_TO_32, "r6in": _SIZES_TO_32,
    "r7g": _SIZES_TO_16, "r7i": _SIZES_TO_48, "r8g": _SIZES_TO_48,
    "x2g": _SIZES_TO_16,
    "x2iedn": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "24xlarge", "32xlarge"),
    "x2idn": ("16xlarge", "24xlarge", "32xlarge"),
}  # fmt: skip
"""Single-AZ and Multi-AZ DB instance classes of RDS for PostgreSQL (the RDS user guide's "Supported DB engines
for DB instance classes"); a class may still be missing in a region, which only RDS can say."""
RDS_POSTGRES_INSTANCE_CLASSES = frozenset(
    f"db.{family}.{size}" for family, sizes in _RDS_POSTGRES_FAMILIES.items() for size in sizes
)


def instance_class_problem(value: str) -> str | None:
    if value in RDS_POSTGRES_INSTANCE_CLASSES:
        return None
    family = value.split(".")[1] if value.count(".") == 2 else None
    if family in _RDS_POSTGRES_FAMILIES:
        return f"db.{family} comes in " + ", ".join(_RDS_POSTGRES_FAMILIES[family])
    return "not an RDS for PostgreSQL instance class; families: " + ", ".join(f"db.{f}" for f in _RDS_POSTGRES_FAMILIES)


GP3_MIN_GB, GP3_MAX_GB = 20, 65_536
"""gp3 storage of RDS for PostgreSQL."""

# ------------------------------------------------------------------------------------------------ network

RESERVED_NETWORKS = {
    ipaddress.IPv4Network("0.0.0.0/8"): "'this network' (RFC 1122)",
    ipaddress.IPv4Network("127.0.0.0/8"): "loopback",
    ipaddress.IPv4Network("169.254.0.0/16"): "link-local, where AWS serves instance metadata and DNS",
    ipaddress.IPv4Network("224.0.0.0/4"): "multicast",
    ipaddress.IPv4Network("240.0.0.0/4"): "reserved (RFC 1112)",
}
"""Ranges a VPC cannot use: AWS refuses them or routes them elsewhere."""


def reserved_overlap(network: ipaddress.IPv4Network) -> str | None:
    for reserved, why in RESERVED_NETWORKS.items():
        if network.overlaps(reserved):
            return f"overlaps {reserved}, {why}"
    return None


RULES_PER_SECURITY_GROUP = 60
"""Inbound rules per security group (the default quota)."""

# --------------------------------------------------------------------------------------------------- tags

MAX_TAGS = 50
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
_TAG_PUNCTUATION = set("_.:/=+-@")


def tag_text_problem(text: str, *, key: bool) -> str | None:
    """AWS tag rules (the Tagging API's ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``): None when ``text`` is fine."""
    limit = TAG_KEY_MAX if key else TAG_VALUE_MAX
    what = "a tag key" if key else "a tag value"
    if key and not text:
        return "a tag key cannot be empty"
    if len(text) > limit:
        return f"{what} has at most {limit} characters ({len(text)} here)"
    bad = sorted({c for c in text if unicodedata.category(c)[0] not in "LZN" and c not in _TAG_PUNCTUATION})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return f"{what} may hold letters, digits, spaces and _ . : / = + - @ only (not {shown})"
    if key and text.lower().startswith("aws:"):
        return "the aws: prefix is reserved for AWS's own tags"
    return None


# ------------------------------------------------------------------------------------------------ images

ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
_REPOSITORY_PATH = re.compile(r"^(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_REGISTRY_HOST = re.compile(r"^(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::\d{1,5})?$|^[a-zA-Z0-9-]+:\d{1,5}$")
ECS_IMAGE_MAX = 255


def repository_problem(repository: str) -> str | None:
    """Docker's reference grammar for ``[registry/]path``, and ECR's rules for an ECR repository."""
    host, _, path = repository.partition("/")
    if not path or not _REGISTRY_HOST.match(host):
        host, path = "", repository  # Docker Hub: `apache/airflow`
    if not path or not _REPOSITORY_PATH.match(path):
        if ":" in path or "@" in path:
            return "the repository has no tag or digest; put the tag in image.tag"
        return (
            "not an image repository: lowercase letters and digits separated by '.', '_', '__' or '-', "
            "in path parts joined by '/', after an optional registry host"
        )
    if ECR_HOST.match(host) and not 2 <= len(path) <= 256:
        return "an ECR repository name has 2-256 characters"
    return None


def ecr_region(repository: str) -> str | None:
    match = ECR_HOST.match(repository.partition("/")[0])
    return match.group("region") if match else None


# --------------------------------------------------------------------------------------- ACM and Route 53

CERTIFICATE_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):acm:(?P<region>[a-z0-9-]+):(?P<account>[^:]*):certificate/(?P<id>.*)$"
)
CERTIFICATE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
ACM_FIRST_NAME_MAX = 64
"""ACM refuses a certificate whose first domain name is longer than 64 characters."""
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def domain_problem(domain: str) -> str | None:
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels):
        return "not a DNS name like airflow.example.com (lowercase labels of letters, digits and inner hyphens)"
    if not re.fullmatch(r"[a-z]{2,63}", labels[-1]):
        return "the last label of a DNS name is a top-level domain like com"
    return None


# ----------------------------------------------------------------------------------------------- schedule


@functools.cache
def time_zones() -> frozenset[str]:
    """IANA time zones (Application Auto Scaling takes IANA names), without the system's own aliases."""
    return frozenset(zoneinfo.available_timezones() - {"Factory", "localtime", "posixrules"})


# -------------------------------------------------------------------------------------- the aws: provider

AWS_PROVIDER_KEYS = (
    "accessKey", "allowedAccountIds", "assumeRoleWithWebIdentity", "assumeRoles", "customCaBundle",
    "defaultTags", "ec2MetadataServiceEndpoint", "ec2MetadataServiceEndpointMode", "endpoints",
    "forbiddenAccountIds", "httpProxy", "httpsProxy", "ignoreTags", "insecure", "maxRetries", "noProxy",
    "profile", "region", "retryMode", "s3UsEast1RegionalEndpoint", "s3UsePathStyle", "secretKey",
    "sharedConfigFiles", "sharedCredentialsFiles", "skipCredentialsValidation", "skipMetadataApiCheck",
    "skipRegionValidation", "skipRequestingAccountId", "stsRegion", "tagPolicyCompliance", "token",
    "tokenBucketRateLimiterCapacity", "useDualstackEndpoint", "useFipsEndpoint", "userAgents",
)  # fmt: skip
"""The ``aws:`` config keys pulumi-aws 7 reads (its ``config/vars.py``)."""
AWS_SECRET_KEYS = ("aws:accessKey", "aws:secretKey", "aws:token")
