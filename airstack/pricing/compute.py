"""Fargate line items: one per ECS service, by architecture, Spot share, task count, hours on and scale ceiling."""

from __future__ import annotations

from airstack.offline import Resource
from airstack.pricing.context import SERVICE, TASK_DEFINITION, Context
from airstack.pricing.model import LineItem
from airstack.pricing.values import fargate_gb, fargate_vcpu, flag, mapping, number, sequence, text

SCALING_TARGET = "aws:appautoscaling/target:Target"


def task_definition(ctx: Context, service: Resource) -> Resource | None:
    for urn in service.property_dependencies.get("taskDefinition", []):
        found = ctx.resource(urn)
        if found is not None and found.type == TASK_DEFINITION:
            return found
    reference = text(service.inputs.get("taskDefinition"))
    if reference is None:
        return None
    for task in ctx.run.by_type(TASK_DEFINITION):
        family = text(task.inputs.get("family"))
        if reference == text(task.outputs.get("arn")) or (family and reference.split(":")[0] == family):
            return task
    return None


def spot_share(service: Resource) -> float:
    """Share of the service's tasks on FARGATE_SPOT, from its capacity provider weights (base tasks ignored)."""
    weights: dict[str, float] = {}
    for strategy in sequence(service.inputs.get("capacityProviderStrategies")) or []:
        provider = text(mapping(strategy).get("capacityProvider"))
        if provider:
            weight = number(mapping(strategy).get("weight"))
            weights[provider] = weights.get(provider, 0.0) + (1.0 if weight is None else weight)
    total = sum(weights.values())
    return weights.get("FARGATE_SPOT", 0.0) / total if total else 0.0


def scale_ceiling(ctx: Context, service_name: str) -> float | None:
    """The scalable target's maxCapacity for a service (matched by its resourceId), if it has one."""
    for target in ctx.run.by_type(SCALING_TARGET):
        resource_id = text(target.inputs.get("resourceId")) or ""
        if text(target.inputs.get("serviceNamespace")) == "ecs" and resource_id.endswith(f"/{service_name}"):
            return number(target.inputs.get("maxCapacity"))
    return None


def fargate_items(ctx: Context) -> list[LineItem]:
    items = []
    p = ctx.prices
    hours = ctx.hours_on
    for service, count in ctx.service_tasks():
        name = text(service.inputs.get("name")) or service.name
        if text(service.inputs.get("launchType")) == "EC2":
            ctx.notes.append(f"ECS service {name} runs on EC2 capacity: its instances are priced where they are made")
            continue
        task = task_definition(ctx, service)
        vcpu = fargate_vcpu(task.inputs.get("cpu")) if task else None
        gb = fargate_gb(task.inputs.get("memory")) if task else None
        if task is None or vcpu is None or gb is None:
            items.append(LineItem(f"Fargate {name}", 0.0, "task size unknown before deployment: not priced", "compute"))
            continue
        platform = mapping(task.inputs.get("runtimePlatform"))
        if (text(platform.get("operatingSystemFamily")) or "LINUX").startswith("WINDOWS"):
            items.append(
                LineItem(f"Fargate {name} (Windows)", 0.0, "Windows tasks are not in the price table", "compute")
            )
            continue
        arch = "arm" if text(platform.get("cpuArchitecture")) == "ARM64" else "x86"
        on_demand = vcpu * p.usd(f"fargate.{arch}.vcpuHour") + gb * p.usd(f"fargate.{arch}.gbHour")
        spot = spot_share(service)
        hourly = on_demand * (1 - spot * p.factor("fargate.spot.discount")) if spot else on_demand
        counted = f"{count:g} task(s)"
        if number(service.inputs.get("desiredCount")) is None:
            counted = "1 task (desiredCount unknown before deployment)" if count else "0 tasks (desiredCount not set)"
        assumption = f"{counted} x {hours:g} h a month at ${hourly:.4f}/task-hour"
        if spot:
            share = "" if spot == 1 else f"{spot:.0%} of tasks "
            assumption += f"; {share}on Spot at the typical {p.factor('fargate.spot.discount'):.0%} discount"
        ceiling = scale_ceiling(ctx, name)
        at_max = None
        if ceiling is not None and ceiling > count:
            at_max = hourly * ceiling * hours
            assumption += f"; scales to {ceiling:g} tasks (${at_max:,.2f} if all ran all the time)"
        label = f"Fargate {name} ({vcpu:g} vCPU, {gb:g} GB, {'ARM64' if arch == 'arm' else 'x86_64'}"
        items.append(
            LineItem(label + (", Spot)" if spot else ")"), hourly * count * hours, assumption, "compute", at_max)
        )
        public = flag(mapping(service.inputs.get("networkConfiguration")).get("assignPublicIp"))
        if public and count:
            items.append(
                LineItem(
                    f"Public IPv4 for {name} tasks",
                    count * hours * p.usd("ipv4.hour"),
                    f"{count:g} task(s) with assignPublicIp x {hours:g} h",
                    "network",
                )
            )
    return items


def worker_task_hours(ctx: Context) -> float:
    """Hours a month Celery workers are running (they poll the broker while they run)."""
    total = 0.0
    for service, count in ctx.service_tasks():
        name = text(service.inputs.get("name")) or service.name
        tags = mapping(service.inputs.get("tags"))
        if "airstack:team" in tags or name.startswith("worker"):
            total += count * ctx.hours_on
    return total


def task_hours(ctx: Context) -> float:
    return sum(count * ctx.hours_on for service, count in ctx.service_tasks() if service.type == SERVICE)
