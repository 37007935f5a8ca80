"""Which input changes make the provider replace a resource rather than update it in place.

pulumi-aws and pulumi-random are bridged from the Terraform providers: an attribute marked ``ForceNew`` in the
provider's schema is what the Pulumi docs call "Changing this forces a new resource", and ``pulumi preview``
shows its change as a replacement. The table lists the top-level inputs (Pulumi's camelCase names) with
``ForceNew`` for the types airstack creates and common neighbours. Sources, per entry: the schema in
hashicorp/terraform-provider-aws ``internal/service/<service>/<resource>.go`` (read for rds/instance.go,
sqs/queue.go, ecs/service.go, efs/file_system.go, elbv2/target_group.go, secretsmanager/secret_version.go;
the others from the registry pages https://www.pulumi.com/registry/packages/aws/api-docs/<module>/<resource>/).
A type not listed is assumed to update in place: the diff then under-reports, it never invents a replacement.

Two kinds are not replacements of anything running: every change to an ECS task definition registers a new
revision (the service then rolls its tasks onto it), and a new secret value is a new Secrets Manager version
of the same secret. They are reported as such, and not counted as replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EVERY_INPUT = frozenset({"*"})
"""Every input except tags (the provider has no update for the resource)."""
_TAGS = frozenset({"tags", "tagsAll"})


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Type token -> top-level inputs whose change forces a new resource.
REPLACE_ON_CHANGE: dict[str, frozenset[str]] = {
    # rds/instance.go: identifier(+Prefix), engine, storageEncrypted, kmsKeyId, dbName, username,
    # availabilityZone, characterSetName, ncharCharacterSetName, timezone, snapshotIdentifier,
    # restoreToPointInTime, customIamInstanceProfile are ForceNew.
    "aws:rds/instance:Instance": _names(
        "identifier identifierPrefix engine storageEncrypted kmsKeyId dbName username availabilityZone "
        "characterSetName ncharCharacterSetName timezone snapshotIdentifier restoreToPointInTime "
        "customIamInstanceProfile s3Import"
    ),
    "aws:rds/parameterGroup:ParameterGroup": frozenset({"name", "namePrefix", "family", "description"}),
    "aws:rds/subnetGroup:SubnetGroup": frozenset({"name", "namePrefix"}),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": EVERY_INPUT,
    # s3: a bucket's name is its identity; the bucket's sub-resources are keyed by bucket.
    "aws:s3/bucket:Bucket": frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}),
    "aws:s3/bucketV2:BucketV2": frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}),
    "aws:s3/bucketPolicy:BucketPolicy": frozenset({"bucket"}),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": frozenset({"bucket"}),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": frozenset({"bucket"}),
    "aws:s3/bucketVersioning:BucketVersioning": frozenset({"bucket", "expectedBucketOwner"}),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": frozenset(
        {"bucket", "expectedBucketOwner"}
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": frozenset({"bucket", "expectedBucketOwner"}),
    # sqs/queue.go: name, namePrefix, fifoQueue.
    "aws:sqs/queue:Queue": frozenset({"name", "namePrefix", "fifoQueue"}),
    "aws:sqs/queuePolicy:QueuePolicy": frozenset({"queueUrl"}),
    # ecs/service.go: name, cluster, launchType, iamRole, schedulingStrategy, deploymentController.type.
    "aws:ecs/service:Service": frozenset(
        {"name", "cluster", "launchType", "iamRole", "schedulingStrategy", "deploymentController"}
    ),
    "aws:ecs/cluster:Cluster": frozenset({"name"}),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": frozenset({"clusterName"}),
    # efs/file_system.go: encrypted, kmsKeyId, performanceMode, creationToken, availabilityZoneName.
    "aws:efs/fileSystem:FileSystem": frozenset(
        {"encrypted", "kmsKeyId", "performanceMode", "creationToken", "availabilityZoneName"}
    ),
    "aws:efs/accessPoint:AccessPoint": frozenset({"fileSystemId", "posixUser", "rootDirectory"}),
    "aws:efs/mountTarget:MountTarget": frozenset({"fileSystemId", "subnetId", "ipAddress", "ipAddressType"}),
    "aws:efs/backupPolicy:BackupPolicy": frozenset({"fileSystemId"}),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": frozenset({"fileSystemId"}),
    "aws:ec2/securityGroup:SecurityGroup": frozenset({"name", "namePrefix", "description", "vpcId"}),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": frozenset({"securityGroupId"}),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": frozenset({"securityGroupId"}),
    "aws:ec2/vpcEndpoint:VpcEndpoint": frozenset({"vpcId", "serviceName", "vpcEndpointType"}),
    "aws:ec2/vpc:Vpc": frozenset({"cidrBlock"}),
    "aws:ec2/subnet:Subnet": frozenset({"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"}),
    "aws:ec2/natGateway:NatGateway": frozenset({"allocationId", "subnetId", "connectivityType"}),
    "aws:iam/role:Role": frozenset({"name", "namePrefix", "path"}),
    "aws:iam/rolePolicy:RolePolicy": frozenset({"name", "namePrefix", "role"}),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": frozenset({"role", "policyArn"}),
    "aws:iam/policy:Policy": frozenset({"name", "namePrefix", "path", "description"}),
    "aws:secretsmanager/secret:Secret": frozenset({"name", "namePrefix"}),
    # secretsmanager/secret_version.go: secretId is ForceNew (another secret); a new value is a new version.
    "aws:secretsmanager/secretVersion:SecretVersion": frozenset({"secretId"}),
    "aws:lb/loadBalancer:LoadBalancer": frozenset(
        {"name", "namePrefix", "internal", "loadBalancerType", "customerOwnedIpv4Pool"}
    ),
    # elbv2/target_group.go: name, namePrefix, port, protocol, protocolVersion, vpcId, targetType,
    # ipAddressType.
    "aws:lb/targetGroup:TargetGroup": frozenset(
        {"name", "namePrefix", "port", "protocol", "protocolVersion", "vpcId", "targetType", "ipAddressType"}
    ),
    "aws:lb/listener:Listener": frozenset({"loadBalancerArn"}),
    "aws:cloudwatch/logGroup:LogGroup": frozenset({"name", "namePrefix", "logGroupClass"}),
    "aws:cloudwatch/metricAlarm:MetricAlarm": frozenset({"name"}),
    "aws:kms/key:Key": frozenset({"customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"}),
    "aws:kms/alias:Alias": frozenset({"name", "namePrefix"}),
    "aws:sns/topic:Topic": frozenset({"name", "namePrefix", "fifoTopic"}),
    "aws:sns/topicSubscription:TopicSubscription": frozenset({"topic", "protocol", "endpoint"}),
    "aws:appautoscaling/target:Target": frozenset({"resourceId", "scalableDimension", "serviceNamespace"}),
    "aws:appautoscaling/policy:Policy": frozenset({"name", "resourceId", "scalableDimension", "serviceNamespace"}),
    "aws:appautoscaling/scheduledAction:ScheduledAction": frozenset(
        {"name", "resourceId", "scalableDimension", "serviceNamespace"}
    ),
    "aws:servicediscovery/httpNamespace:HttpNamespace": frozenset({"name"}),
    "aws:ecr/repository:Repository": frozenset({"name"}),
    "aws:lambda/function:Function": frozenset({"name"}),
    "aws:elasticache/replicationGroup:ReplicationGroup": frozenset({"replicationGroupId", "atRestEncryptionEnabled"}),
    # terraform-provider-random: every attribute of these resources is RequiresReplace (a new value).
    "random:index/randomPassword:RandomPassword": EVERY_INPUT,
    "random:index/randomBytes:RandomBytes": EVERY_INPUT,
    "random:index/randomString:RandomString": EVERY_INPUT,
    "random:index/randomId:RandomId": EVERY_INPUT,
    # A provider whose region (or account) changes cannot keep managing what it created.
    "pulumi:providers:aws": frozenset({"region"}),
}

# Type token -> (inputs whose change makes a new version of the same thing, what to call it).
NEW_VERSION_ON_CHANGE: dict[str, tuple[frozenset[str], str]] = {
    "aws:ecs/taskDefinition:TaskDefinition": (EVERY_INPUT, "new revision"),
    "aws:secretsmanager/secretVersion:SecretVersion": (
        frozenset({"secretString", "secretBinary", "secretStringWoVersion"}),
        "new secret version",
    ),
}


def _matches(rule: frozenset[str], top: str) -> bool:
    return top not in _TAGS if rule is EVERY_INPUT else top in rule


@dataclass(frozen=True)
class Verdict:
    action: str
    """``update``, ``replace`` or ``new-version``."""
    because: tuple[str, ...] = ()
    """The changed top-level inputs that force it."""
    label: str = ""
    """For ``new-version``: what the new thing is called (``new revision``)."""


def classify(resource_type: str, changed_tops: Iterable[str]) -> Verdict:
    """How the provider applies changes to these top-level inputs of a resource of this type."""
    tops = list(dict.fromkeys(changed_tops))
    forcing = [t for t in tops if _matches(REPLACE_ON_CHANGE.get(resource_type, frozenset()), t)]
    if forcing:
        return Verdict("replace", tuple(forcing))
    version = NEW_VERSION_ON_CHANGE.get(resource_type)
    if version is not None:
        versioned = [t for t in tops if _matches(version[0], t)]
        if versioned:
            return Verdict("new-version", tuple(versioned), version[1])
    return Verdict("update")
