"""The replay's calls for CloudWatch dashboards and log metric filters, their grammars as CloudWatch documents them
(neither moto nor botocore checks a dashboard body or a filter pattern), and, once everything exists, whether the
dashboards and alarms name metrics that the stack's metric filters publish."""

from __future__ import annotations

import json
import re
from typing import Any

from airstack.offline import Resource
from tests.replay import Inputs, Replay, handles, policies
from tests.replay.shapes import physical_name, prune

# --------------------------------------------------------------------------------------------- dashboards

# "Dashboard Body Structure and Syntax" (CloudWatch API Reference) and the CloudWatch quotas: a 24-column grid,
# up to 500 widgets, 500 metrics per widget and 2,500 per dashboard; a metric is
# [namespace, name, (dimension name, value)*, {rendering options}], "." repeating the line above's value.
_WIDGET_TYPES = frozenset({"metric", "text", "log", "alarm", "explorer", "custom"})
_BODY_KEYS = frozenset({"widgets", "start", "end", "periodOverride", "variables"})
_WIDGET_KEYS = frozenset({"type", "x", "y", "width", "height", "properties"})
_METRIC_OPTIONS = frozenset({"accountId", "color", "expression", "id", "label", "period", "region", "stat", "visible",
                             "yAxis"})  # fmt: skip
_VIEWS = frozenset({"timeSeries", "singleValue", "gauge", "bar", "pie", "table"})
_STAT = re.compile(r"SampleCount|Average|Sum|Minimum|Maximum|IQM|(p|tm|wm|tc|ts|pr)\d{1,2}(\.\d+)?|"
                   r"(TM|WM|TC|TS|PR)\(\d*%?:\d*%?\)")  # fmt: skip
MAX_WIDGETS, MAX_WIDGET_METRICS, MAX_DASHBOARD_METRICS = 500, 500, 2500
MAX_DIMENSIONS = 30


def dashboard_problems(body: str) -> list[str]:  # noqa: PLR0912 (one branch per documented rule)
    """A dashboard body as PutDashboard validates it (``DashboardValidationMessages``)."""
    try:
        doc = json.loads(body)
    except ValueError as error:
        return [f"the body is not JSON: {error}"]
    if not isinstance(doc, dict) or not isinstance(doc.get("widgets"), list):
        return ['the body is {"widgets": [...], ...}']
    problems = [f"unknown top-level property {k!r}" for k in sorted(set(doc) - _BODY_KEYS)]
    if doc.get("periodOverride", "auto") not in ("auto", "inherit"):
        problems.append(f"periodOverride {doc['periodOverride']!r} is not auto or inherit")
    widgets: list[Any] = doc["widgets"]
    if len(widgets) > MAX_WIDGETS:
        problems.append(f"{len(widgets)} widgets, a dashboard has at most {MAX_WIDGETS}")
    total = 0
    for n, widget in enumerate(widgets):
        where = f"widgets[{n}]"
        if not isinstance(widget, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += [f"{where}: unknown property {k!r}" for k in sorted(set(widget) - _WIDGET_KEYS)]
        kind = widget.get("type")
        if kind not in _WIDGET_TYPES:
            problems.append(f"{where}: type {kind!r} is not one of {', '.join(sorted(_WIDGET_TYPES))}")
        x, width = widget.get("x", 0), widget.get("width", 6)
        for key, value, low, high in (("x", x, 0, 23), ("y", widget.get("y", 0), 0, None),
                                      ("width", width, 1, 24), ("height", widget.get("height", 6), 1, 1000)):  # fmt: skip
            if not isinstance(value, int) or isinstance(value, bool) or value < low or (high and value > high):
                problems.append(f"{where}: {key} {value!r} is not an integer in {low}..{high or 'any'}")
        if isinstance(x, int) and isinstance(width, int) and x + width > 24:
            problems.append(f"{where}: x {x} + width {width} passes the grid's 24 columns")
        properties = widget.get("properties")
        if not isinstance(properties, dict):
            problems.append(f"{where}: properties is an object")
            continue
        if kind == "text" and not isinstance(properties.get("markdown"), str):
            problems.append(f"{where}: a text widget has markdown")
        if kind == "metric":
            found, count = _metric_widget_problems(properties, where)
            problems += found
            total += count
    if total > MAX_DASHBOARD_METRICS:
        problems.append(f"{total} metrics, a dashboard shows at most {MAX_DASHBOARD_METRICS}")
    return problems


def _metric_widget_problems(properties: dict[str, Any], where: str) -> tuple[list[str], int]:  # noqa: PLR0912
    problems: list[str] = []
    metrics = properties.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        return [f"{where}: a metric widget has a non-empty metrics array"], 0
    if len(metrics) > MAX_WIDGET_METRICS:
        problems.append(f"{where}: {len(metrics)} metrics, a widget shows at most {MAX_WIDGET_METRICS}")
    problems += _options_problems(properties, where, widget=True)
    if properties.get("view", "timeSeries") not in _VIEWS:
        problems.append(f"{where}: view {properties['view']!r} is not one of {', '.join(sorted(_VIEWS))}")
    region = properties.get("region")
    if region is not None and region not in policies.known_regions():
        problems.append(f"{where}: region {region!r} is not an AWS region")
    previous: list[str] = []
    for m, metric in enumerate(metrics):
        at = f"{where}.metrics[{m}]"
        if not isinstance(metric, list) or not metric:
            problems.append(f"{at} is not a non-empty array")
            continue
        *fields, last = metric
        options = last if isinstance(last, dict) else None
        fields = fields if options is not None else metric
        if options is not None:
            problems += _options_problems(options, at, widget=False)
        if not fields:
            if options is None or "expression" not in options:
                problems.append(f"{at}: neither a metric nor an expression")
            continue
        if not all(isinstance(f, str) for f in fields):
            problems.append(f"{at}: namespace, name and dimensions are strings")
            continue
        if fields[0] == "...":
            fields = previous[: len(previous) - len(fields) + 1] + fields[1:] if previous else fields
        fields = [previous[i] if f == "." and i < len(previous) else f for i, f in enumerate(fields)]
        if len(fields) < 2 or len(fields) % 2:
            problems.append(f"{at}: [namespace, name, (dimension, value)*], not {fields}")
        elif (len(fields) - 2) // 2 > MAX_DIMENSIONS:
            problems.append(f"{at}: more than {MAX_DIMENSIONS} dimensions")
        previous = fields
    return problems, len(metrics)


def _options_problems(options: dict[str, Any], where: str, *, widget: bool) -> list[str]:
    problems: list[str] = []
    if not widget:
        problems += [f"{where}: unknown rendering option {k!r}" for k in sorted(set(options) - _METRIC_OPTIONS)]
        if options.get("yAxis", "left") not in ("left", "right"):
            problems.append(f"{where}: yAxis {options['yAxis']!r} is not left or right")
    stat = options.get("stat")
    if stat is not None and not (isinstance(stat, str) and _STAT.fullmatch(stat)):
        problems.append(f"{where}: stat {stat!r} is not a CloudWatch statistic")
    period = options.get("period")
    if period is not None and not (
        isinstance(period, int) and (period in (1, 5, 10, 30) or (period > 0 and period % 60 == 0))
    ):
        problems.append(f"{where}: period {period!r} is not 1, 5, 10, 30 or a multiple of 60")
    return problems


Metric = tuple[str, str, str | None, dict[str, str]]
"""A metric a dashboard or alarm names: namespace, name, region (None: the widget's), dimensions."""


def dashboard_metrics(body: str) -> list[Metric]:
    """Each metric a dashboard body shows (shorthands resolved)."""
    found: list[Metric] = []
    for widget in json.loads(body).get("widgets", []):
        properties = widget.get("properties") or {}
        previous: list[str] = []
        for metric in properties.get("metrics") or []:
            options = metric[-1] if metric and isinstance(metric[-1], dict) else {}
            fields = [f for f in metric if isinstance(f, str)]
            if fields and fields[0] == "...":
                fields = previous[: len(previous) - len(fields) + 1] + fields[1:]
            fields = [previous[i] if f == "." and i < len(previous) else f for i, f in enumerate(fields)]
            if len(fields) >= 2:
                region = options.get("region") or properties.get("region")
                found.append((fields[0], fields[1], region, dict(zip(fields[2::2], fields[3::2], strict=False))))
            previous = fields
    return found


@handles("aws:cloudwatch/dashboard:Dashboard")
def dashboard(rp: Replay, r: Resource, i: Inputs) -> None:
    name, body = i["dashboardName"], i["dashboardBody"]
    rp.expect(r, "dashboard", re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name) is not None,
              f"dashboard name {name!r}: 1 to 255 letters, digits, - and _")  # fmt: skip
    problems = dashboard_problems(body)
    rp.check(r, "dashboard", problems)
    rp.call(r, "cloudwatch", "put_dashboard", DashboardName=name, DashboardBody=body)
    if not problems:
        region = rp.region_of(r)
        shown = [(ns, metric, rg or region, dims) for ns, metric, rg, dims in dashboard_metrics(body)]
        rp.facts.setdefault("metrics_shown", []).append((r, shown))


# ------------------------------------------------------------------------------------------ metric filters

# "Filter pattern syntax for metric filters" (CloudWatch Logs User Guide): a JSON pattern { selector op value }
# joined by && and || in parentheses, a space-delimited pattern [field, field op value, ...], or terms.
_SELECTOR = r"\$(\.[A-Za-z_@][\w@-]*|\[\d+\]|\.\*)+"
_VALUE = r'"(?:[^"\\]|\\.)*"|-?\d+(\.\d+)?([eE][-+]?\d+)?|[^\s()&|"{}]+'
_COMPARISON = re.compile(rf"\s*({_SELECTOR})\s*(=|!=|<=|>=|<|>)\s*({_VALUE})\s*")
_PREDICATE = re.compile(rf"\s*({_SELECTOR})\s+(IS\s+(NULL|TRUE|FALSE)|NOT\s+EXISTS)\s*")
_NAMED_FIELD = re.compile(r"\s*([A-Za-z_][\w-]*|\.\.\.)\s*((=|!=|<=|>=|<|>)\s*(\"[^\"]*\"|[^\s,\]]+)(\s*\|\|\s*\1\s*"
                          r"(=|!=|<=|>=|<|>)\s*(\"[^\"]*\"|[^\s,\]]+))*)?\s*")  # fmt: skip
MAX_PATTERN = 1024


def filter_pattern_problems(pattern: str) -> list[str]:
    """A metric filter pattern as PutMetricFilter parses it (``InvalidParameterException: Invalid filter pattern``)."""
    if len(pattern) > MAX_PATTERN:
        return [f"the pattern has {len(pattern)} characters, at most {MAX_PATTERN}"]
    text = pattern.strip()
    if text.startswith("{"):
        if not text.endswith("}") or not _json_expression(text[1:-1]):
            return [f"pattern {pattern!r} is not {{ $.selector op value [&&|| ...] }}"]
        return []
    if text.startswith("["):
        fields = text[1:-1].split(",") if text.endswith("]") else []
        if not fields or not all(_NAMED_FIELD.fullmatch(f) for f in fields):
            return [f"pattern {pattern!r} is not [field, field op value, ...]"]
        return []
    if text.count('"') % 2:
        return [f"pattern {pattern!r} has an unclosed quote"]
    return []


def _json_expression(text: str) -> bool:
    """expression := term ((&& | ||) term)*; term := ( expression ) | comparison | predicate."""
    depth, parts, start = 0, [], 0
    quoted = False
    for n, c in enumerate(text):
        if c == '"' and (n == 0 or text[n - 1] != "\\"):
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
            if depth < 0:
                return False
        elif not quoted and depth == 0 and text[n : n + 2] in ("&&", "||"):
            parts.append(text[start:n])
            start = n + 2
    if depth or quoted:
        return False
    parts.append(text[start:])
    for part in parts:
        term = part.strip()
        if term.startswith("(") and term.endswith(")"):
            if not _json_expression(term[1:-1]):
                return False
        elif not (_COMPARISON.fullmatch(term) or _PREDICATE.fullmatch(term)):
            return False
    return True


_METRIC_NAME = re.compile(r"[^:*$]{1,255}")


def metric_transformation_problems(pattern: str, transformation: dict[str, Any]) -> list[str]:
    """A metricTransformation: name and namespace without : * $, a value that is a number or a field the pattern
    selects ($.x of a JSON pattern, $name of a space-delimited one), at most 3 dimensions (fields too), and no
    default value with dimensions."""
    problems: list[str] = []
    for key in ("name", "namespace"):
        value = transformation.get(key)
        if not isinstance(value, str) or not _METRIC_NAME.fullmatch(value):
            problems.append(f"metric {key} {value!r}: 1 to 255 characters, none of : * $")
    kind = pattern.strip()[:1]
    for what, given in [("value", transformation.get("value")), *(("dimension", v) for v in
                                                                  (transformation.get("dimensions") or {}).values())]:  # fmt: skip
        value = str(given)
        if re.fullmatch(r"-?\d+(\.\d+)?", value) and what == "value":
            continue
        if value.startswith("$.") and kind != "{":
            problems.append(f"metric {what} {value!r} selects a JSON field, the pattern is not a JSON pattern")
        elif value.startswith("$") and not value.startswith("$.") and (kind != "[" or not re.search(
                rf"[\[,]\s*{re.escape(value[1:])}\b", pattern)):  # fmt: skip
            problems.append(f"metric {what} {value!r} names no field of the space-delimited pattern")
        elif not value.startswith("$"):
            problems.append(f"metric {what} {value!r} is neither a number nor a field of the pattern")
    dimensions = transformation.get("dimensions") or {}
    if len(dimensions) > 3:
        problems.append(f"{len(dimensions)} dimensions, a metric filter publishes at most 3")
    if dimensions and transformation.get("defaultValue") is not None:
        problems.append("a metric with dimensions has no defaultValue")
    return problems


@handles("aws:cloudwatch/logMetricFilter:LogMetricFilter")
def log_metric_filter(rp: Replay, r: Resource, i: Inputs) -> None:
    name, group, pattern = physical_name(r, i), i["logGroupName"], i["pattern"]
    transformation: dict[str, Any] = i["metricTransformation"]
    region = rp.region_of(r)
    rp.expect(r, "metric-filter", re.fullmatch(r"[^:*]{1,512}", name) is not None,
              f"filter name {name!r}: 1 to 512 characters, none of : *")  # fmt: skip
    rp.check(r, "metric-filter", filter_pattern_problems(pattern))
    rp.check(r, "metric-filter", metric_transformation_problems(pattern, transformation))
    rp.expect(r, "metric-filter", (region, group) in rp.facts.get("log_groups", set()),
              f"log group {group} is not created before the filter (CloudWatch Logs: ResourceNotFoundException)")  # fmt: skip
    default = transformation.get("defaultValue")
    rp.call(r, "logs", "put_metric_filter", logGroupName=group, filterName=name, filterPattern=pattern,
            applyOnTransformedLogs=i.get("applyOnTransformedLogs"),
            metricTransformations=[prune({
                "metricName": transformation["name"], "metricNamespace": transformation["namespace"],
                "metricValue": transformation["value"],
                "defaultValue": float(default) if default not in (None, "") else None,
                "dimensions": transformation.get("dimensions") or None, "unit": transformation.get("unit"),
            })])  # fmt: skip
    published = rp.facts.setdefault("filter_metrics", {})
    published.setdefault((region, transformation["namespace"]), set()).add(transformation["name"])


# ---------------------------------------------------------------------------------------- across resources


def after_all(rp: Replay) -> None:
    """What a dashboard or an alarm names exists: a metric in a namespace the stack's metric filters publish to is
    one of theirs, and a resource an AWS metric's dimension names (queue, function, database, file system, cluster,
    service, load balancer) is there; otherwise a graph stays empty, an alarm never sees data."""
    published: dict[tuple[str, str], set[str]] = rp.facts.get("filter_metrics", {})
    uses = [*rp.facts.get("metrics_shown", []), *rp.facts.get("metrics_alarmed", [])]
    seen: dict[tuple[str, str, str, str], bool] = {}
    for r, metrics in uses:
        for namespace, name, region, dimensions in metrics:
            names = published.get((region, namespace))
            rp.expect(r, "metric-source", names is None or name in names,
                      f"{namespace} {name} in {region}: the stack's metric filters publish only {sorted(names or [])}")  # fmt: skip
            for key, value in dimensions.items():
                if (region, namespace, key, value) not in seen:
                    seen[region, namespace, key, value] = _exists(rp, region, namespace, key, value, dimensions)
                rp.expect(r, "metric-source", seen[region, namespace, key, value],
                          f"{namespace} {name} in {region}: {key} {value} does not exist")  # fmt: skip


def _exists(rp: Replay, region: str, namespace: str, key: str, value: str, dimensions: dict[str, str]) -> bool:
    """Whether the resource a dimension of an AWS namespace names exists; True for what the replay cannot tell."""
    calls: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
        ("AWS/SQS", "QueueName"): ("sqs", "get_queue_url", {"QueueName": value}),
        ("AWS/Lambda", "FunctionName"): ("lambda", "get_function", {"FunctionName": value}),
        ("AWS/RDS", "DBInstanceIdentifier"): ("rds", "describe_db_instances", {"DBInstanceIdentifier": value}),
        ("AWS/EFS", "FileSystemId"): ("efs", "describe_file_systems", {"FileSystemId": value}),
        ("ECS/ContainerInsights", "ClusterName"): ("ecs", "describe_clusters", {"clusters": [value]}),
        ("ECS/ContainerInsights", "ServiceName"): ("ecs", "describe_services", {
            "cluster": dimensions.get("ClusterName", "default"), "services": [value]}),
        # app/<name>/<id>: the ID is the mocks' (the load balancer's ARN carries moto's), the name is checkable.
        ("AWS/ApplicationELB", "LoadBalancer"): ("elbv2", "describe_load_balancers", {"Names": value.split("/")[1:2]}),
    }  # fmt: skip
    call = calls.get((namespace, key))
    if call is None or (key == "LoadBalancer" and value.count("/") != 2):
        return True
    answer = rp.look(call[0], call[1], region, **call[2])
    if answer is None:
        return False
    # ECS answers unknown clusters and services in ``failures`` (or as INACTIVE), not with an error.
    return not answer.get("failures") and all(x.get("status") != "INACTIVE" for x in answer.get("clusters", []) +
                                              answer.get("services", []))  # fmt: skip
