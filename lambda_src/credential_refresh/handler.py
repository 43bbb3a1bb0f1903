"""Credential refresh: after the application's database credentials rotate (EventBridge,
Secrets Manager's RotationSucceeded), rewrite every DATABASE_URL secret from the new
credentials, then roll the services that use the database onto them.

ECS reads secrets only when a task starts. With alternating users the previous login keeps
working until the next rotation, so a rolling deployment (min healthy 100 %) replaces every task
well before its credentials die: no outage, no manual step.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3
from shared import env
from shared.db import database_url

logger = logging.getLogger("credential_refresh")
logger.setLevel(logging.INFO)


def rotated_secret(event: dict[str, Any]) -> str | None:
    detail = event.get("detail", {})
    if detail.get("eventName") != "RotationSucceeded":
        return None
    data = detail.get("additionalEventData") or {}
    secret = data.get("SecretId") or (detail.get("serviceEventDetails") or {}).get("secretId")
    return str(secret) if secret else None


def refresh(
    event: dict[str, Any], secrets: Any, ecs: Any, environ: dict[str, str]
) -> dict[str, Any]:
    expected = environ["APP_SECRET_ARN"]
    rotated = rotated_secret(event)
    if rotated != expected:
        logger.info("ignored event for %s", rotated)
        return {"ignored": rotated}
    credentials = json.loads(secrets.get_secret_value(SecretId=expected)["SecretString"])
    urls = env.listed(environ, "URL_SECRET_ARNS")
    for arn in urls:  # as the bootstrap writes them
        secrets.put_secret_value(SecretId=arn, SecretString=database_url(credentials))
    cluster = environ["CLUSTER_NAME"]
    services = env.listed(environ, "SERVICE_NAMES")
    failed = []
    for service in services:  # one failure must not keep the others on the old credentials
        try:
            ecs.update_service(cluster=cluster, service=service, forceNewDeployment=True)
        except Exception as err:
            logger.error("cannot roll %s: %s", service, err)
            failed.append(service)
    if failed:  # the event is retried, then dead-lettered
        raise RuntimeError(f"new deployment failed for {', '.join(failed)}")
    logger.info(
        "rotated to %s: %d URL secret(s) rewritten, %d service(s) rolling",
        credentials["username"],
        len(urls),
        len(services),
    )
    return {"username": credentials["username"], "urls": len(urls), "services": services}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return refresh(event, boto3.client("secretsmanager"), boto3.client("ecs"), dict(os.environ))
