"""The stack configuration model: everything that differs between dev, acc, prod and dr.

``load_stack_config`` validates the ``airstack:*`` and ``aws:*`` keys of one stack and either returns a
``StackConfig`` or raises ``ConfigError`` whose message lists every problem (file, key path, value, what is
allowed). It is called by ``__main__.py`` before any resource exists and by the CLI's ``validate``.

One module per concern: ``network``, ``metastore``, ``workloads`` (broker, image, components, teams),
``operations`` (logs, buckets, alerting, ingress, schedule, dr, deployment), ``monitoring`` (alarm thresholds,
Airflow's metrics), ``stack`` (the whole and its tags),
``aws`` (AWS's lists and rules), ``limits`` (derived names, team count) and ``loading``.
"""

from components.config._base import NAMESPACE, PROTECTED_ENVIRONMENTS, Duration, Environment, Name
from components.config.aws import POSTGRES_MAJOR_VERSIONS, RDS_POSTGRES_INSTANCE_CLASSES, REGION_PARTITION
from components.config.loading import (
    NAMESPACES,
    SECRET_KEYS,
    SECRET_PATHS,
    ConfigError,
    Problem,
    decode_config_value,
    load_stack_config,
)
from components.config.metastore import Metastore
from components.config.monitoring import AGENT_IMAGE, Monitoring
from components.config.network import INTERFACE_ENDPOINTS, NAT_FREE_ENDPOINTS, Cidr, Network
from components.config.operations import (
    OFFLINE_SECRET_PREFIX,
    Alerting,
    Buckets,
    Deployment,
    DisasterRecovery,
    Ingress,
    Logs,
    Schedule,
)
from components.config.stack import MAX_TEAMS, PROGRAM_TAGS, REQUIRED_TAGS, RESOURCE_TAGS, AwsDefaultTags, StackConfig
from components.config.workloads import (
    Architecture,
    Broker,
    Components,
    Image,
    ServiceSize,
    Team,
    WorkerScaling,
    WorkerSize,
)

__all__ = [
    "AGENT_IMAGE",
    "INTERFACE_ENDPOINTS",
    "MAX_TEAMS",
    "NAMESPACE",
    "NAMESPACES",
    "NAT_FREE_ENDPOINTS",
    "OFFLINE_SECRET_PREFIX",
    "POSTGRES_MAJOR_VERSIONS",
    "PROGRAM_TAGS",
    "PROTECTED_ENVIRONMENTS",
    "RDS_POSTGRES_INSTANCE_CLASSES",
    "REGION_PARTITION",
    "REQUIRED_TAGS",
    "RESOURCE_TAGS",
    "SECRET_KEYS",
    "SECRET_PATHS",
    "Alerting",
    "Architecture",
    "AwsDefaultTags",
    "Broker",
    "Buckets",
    "Cidr",
    "Components",
    "ConfigError",
    "Deployment",
    "DisasterRecovery",
    "Duration",
    "Environment",
    "Image",
    "Ingress",
    "Logs",
    "Metastore",
    "Monitoring",
    "Name",
    "Network",
    "Problem",
    "Schedule",
    "ServiceSize",
    "StackConfig",
    "Team",
    "WorkerScaling",
    "WorkerSize",
    "decode_config_value",
    "load_stack_config",
]
