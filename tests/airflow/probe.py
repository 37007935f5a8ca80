"""Runs under a real Airflow 3 interpreter (CI's pinned venv): loads what airstack renders and reports back.

Input on stdin: {"check": ..., "env": {...}, ...}; output on stdout: one JSON object. Kept free of airstack
imports: airstack's own venv and Airflow's do not share packages. Each call is one container: one role's
environment and its own AIRFLOW_HOME.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

FREE_FORM_SECTIONS = {"celery_broker_transport_options"}


def unknown_options(env: dict[str, str]) -> dict[str, Any]:
    from airflow.configuration import conf
    from airflow.providers_manager import ProvidersManager

    ProvidersManager().initialize_providers_configuration()
    described = conf.configuration_description
    unknown = []
    for name in env:
        if not name.startswith("AIRFLOW__"):
            continue
        _, section, option = name.lower().split("__", 2)
        if section not in FREE_FORM_SECTIONS and option not in (described.get(section, {}).get("options") or {}):
            unknown.append(name)
    return {"unknown": sorted(unknown)}


def worker_celery(image_dir: str) -> dict[str, Any]:
    sys.path.insert(0, image_dir)
    # The worst order: Celery defaults computed before the providers' configuration is loaded.
    from airflow.providers.celery.executors import default_celery
    from airflow.utils.providers_configuration_loader import providers_configuration_loaded
    from kombu import Connection

    airflow_alone = dict(default_celery.DEFAULT_CELERY_CONFIG["broker_transport_options"])

    @providers_configuration_loaded
    def app() -> Any:
        from airflow.providers.celery.executors import celery_executor_utils

        return celery_executor_utils.app

    conf = app().conf
    with Connection(conf.broker_url, transport_options=conf.broker_transport_options) as connection:
        channel = connection.default_channel
        return {
            "airflowAlone": airflow_alone,
            "channelVisibility": channel.visibility_timeout,
            "channelRegion": channel.region,
            "channelQueues": sorted(channel.predefined_queues),
            "remoteControl": conf.worker_enable_remote_control,
            "concurrency": conf.worker_concurrency,
            "imports": list(conf.imports),
        }


def settings(env: dict[str, str]) -> dict[str, Any]:
    from airflow.configuration import conf
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.models.connection import Connection
    from airflow.sdk.module_loading import import_string

    backend = import_string(env["AIRFLOW__SECRETS__BACKEND"])(**json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"]))
    return {
        "bundles": {b.name: str(b.path) for b in DagBundlesManager().get_all_dag_bundles()},
        "awsDefault": Connection.from_json(env["AIRFLOW_CONN_AWS_DEFAULT"], conn_id="aws_default").extra_dejson,
        "imports": [
            import_string(env[k]).__name__
            for k in ("AIRFLOW__CORE__HOSTNAME_CALLABLE", "AIRFLOW__CORE__AUTH_MANAGER", "AIRFLOW__SECRETS__BACKEND")
        ],
        "secretsPrefixes": [backend.connections_prefix, backend.variables_prefix],
        "taskTimeout": conf.getint("core", "default_task_execution_timeout"),
    }


def cluster_policy(dags: str) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dags)
    return {
        "errors": {k: str(v) for k, v in bag.import_errors.items()},
        "queues": {f"{d.dag_id}.{t.task_id}": t.queue for d in bag.dags.values() for t in d.tasks},
    }


def serve_logs(port: int, logs: dict[str, str]) -> None:
    """A worker's or triggerer's log server, serving ``logs`` (relative path -> text); runs until killed."""
    from airflow.configuration import conf
    from airflow.utils.serve_logs import serve_logs as serve

    base = Path(conf.get("logging", "base_log_folder")).expanduser()
    for relative, text in logs.items():
        (base / relative).parent.mkdir(parents=True, exist_ok=True)
        (base / relative).write_text(text)
    serve(port)


def fetch_log(url: str, relative: str) -> dict[str, Any]:
    """What the api-server gets when the UI shows a running task's log (the same call, the same token)."""
    from airflow.utils.log.file_task_handler import _fetch_logs_from_service

    response = _fetch_logs_from_service(url, relative)
    return {"status": response.status_code, "text": response.text}


def sign_task_token() -> dict[str, Any]:
    """The token the scheduler puts in each workload for the Execution API (the executor's own generator)."""
    from airflow.executors.base_executor import BaseExecutor
    from airflow.executors.workloads.base import BaseWorkloadSchema

    executor = BaseExecutor.__new__(BaseExecutor)  # only its token generator, no executor to run
    return {"token": BaseWorkloadSchema.generate_token("0193d6a4-task-instance", executor.jwt_generator)}


def validate_task_token(token: str) -> dict[str, Any]:
    """The api-server's Execution API checking a workload's token."""
    import jwt
    from airflow.api_fastapi.execution_api.app import _jwt_validator

    try:
        claims = _jwt_validator().validated_claims(token)
    except jwt.InvalidTokenError as error:
        return {"error": f"{type(error).__name__}: {error}"}
    return {"sub": claims["sub"]}


def main() -> None:
    request = json.load(sys.stdin)
    os.environ.update(request["env"])
    check = request["check"]
    if check == "serve-logs":
        serve_logs(request["port"], request["logs"])
        return
    if check == "options":
        result = unknown_options(request["env"])
    elif check == "worker-celery":
        result = worker_celery(request["imageDir"])
    elif check == "settings":
        result = settings(request["env"])
    elif check == "fetch-log":
        result = fetch_log(request["url"], request["path"])
    elif check == "sign-task-token":
        result = sign_task_token()
    elif check == "validate-task-token":
        result = validate_task_token(request["token"])
    else:
        result = cluster_policy(request["dags"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
