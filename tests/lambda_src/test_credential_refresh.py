"""Credential refresh against moto's Secrets Manager and a real ECS client behind botocore's
Stubber: every UpdateService call is checked against the ECS API model and the expected
parameters. (moto's ECS would do, but importing it loads EC2's region data: ~1 s per run.)"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.lambda_src.helpers import AWS, create_secret, load_handler, put_secret, setenv

CLUSTER = "webplat-prod-cluster"
USERS = ("webplat-prod-api", "webplat-prod-worker")
PASSWORD = "N3w:p@ss/w#rd?%&=+ ^,."  # everything a URL would misread
NEW = {
    "username": "app_user_clone",
    "password": PASSWORD,
    "host": "db.internal",
    "port": 5432,
    "dbname": "app",
    "engine": "postgres",
}


@dataclass
class World:
    app: str
    urls: list[str]
    environ: dict[str, str]
    ecs: Any
    stubber: Stubber

    def expect_rollouts(self, *services: str, missing: tuple[str, ...] = ()) -> None:
        """Queue the UpdateService calls that must come, in order; `missing` ones fail."""
        for service in services:
            params = {"cluster": CLUSTER, "service": service, "forceNewDeployment": True}
            if service in missing:
                self.stubber.add_client_error(
                    "update_service",
                    service_error_code="ServiceNotFoundException",
                    service_message="Service not found.",
                    http_status_code=400,
                    expected_params=params,
                )
            else:
                self.stubber.add_response(
                    "update_service",
                    {"service": {"serviceName": service, "clusterArn": CLUSTER}},
                    expected_params=params,
                )


@pytest.fixture
def fn() -> ModuleType:
    return load_handler("credential_refresh")


@pytest.fixture
def world(moto: None) -> Iterator[World]:
    app = create_secret("database/app", json.dumps(NEW))
    urls = [
        create_secret(name, "postgresql://old") for name in ("app/DATABASE_URL", "app/READ_URL")
    ]
    ecs = AWS.client("ecs")
    stubber = Stubber(ecs)
    stubber.activate()
    world = World(
        app=app,
        urls=urls,
        environ={
            "APP_SECRET_ARN": app,
            "URL_SECRET_ARNS": ",".join(urls),
            "CLUSTER_NAME": CLUSTER,
            "SERVICE_NAMES": ",".join(USERS),
        },
        ecs=ecs,
        stubber=stubber,
    )
    yield world
    stubber.assert_no_pending_responses()  # every expected rollout happened


def rotation(secret_id: str | None, name: str = "RotationSucceeded") -> dict[str, Any]:
    """What EventBridge delivers for Secrets Manager's rotation events (CloudTrail)."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager",
        "account": "123456789012",
        "region": "ap-northeast-2",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "awsRegion": "ap-northeast-2",
            "requestParameters": None,
            "responseElements": None,
            "additionalEventData": {"SecretId": secret_id} if secret_id else None,
            "eventType": "AwsServiceEvent",
        },
    }


def value(arn: str) -> str:
    found: str = AWS.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return found


def refresh(fn: ModuleType, world: World, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = fn.refresh(
        event, AWS.client("secretsmanager"), world.ecs, world.environ
    )
    return result


@pytest.mark.parametrize(("engine", "scheme"), [("postgres", "postgresql"), ("mysql", "mysql")])
def test_rotation_rewrites_the_urls_then_rolls_the_services(
    fn: ModuleType, world: World, engine: str, scheme: str
) -> None:
    put_secret(world.app, json.dumps({**NEW, "engine": engine}))
    world.expect_rollouts(*USERS)
    result = refresh(fn, world, rotation(world.app))
    assert result == {"username": "app_user_clone", "urls": 2, "services": list(USERS)}
    for arn in world.urls:
        url = urlsplit(value(arn))
        assert url.scheme == scheme
        assert url.password is not None
        assert (url.username, unquote(url.password)) == ("app_user_clone", PASSWORD)
        assert (url.hostname, url.port, url.path) == ("db.internal", 5432, "/app")
        tls = {"ssl-mode": ["REQUIRED"]} if engine == "mysql" else {"sslmode": ["require"]}
        assert parse_qs(url.query) == tls


def test_the_user_is_percent_encoded_too(fn: ModuleType) -> None:
    url = urlsplit(fn.database_url({**NEW, "username": "app@corp:x"}))
    assert url.username is not None
    assert unquote(url.username) == "app@corp:x"
    assert url.hostname == "db.internal"


def test_the_secret_id_may_come_in_the_service_event_details(fn: ModuleType, world: World) -> None:
    event = rotation(None)
    event["detail"]["serviceEventDetails"] = {"secretId": world.app}
    world.expect_rollouts(*USERS)
    assert refresh(fn, world, event)["urls"] == 2
    assert value(world.urls[0]).startswith("postgresql://app_user_clone:")


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(rotation("arn:aws:secretsmanager:ap-northeast-2:1:secret:x"), id="other"),
        pytest.param(rotation("APP", name="RotationFailed"), id="failed-rotation"),
        pytest.param(rotation("APP", name="RotationStarted"), id="started"),
        pytest.param({**rotation(None), "detail": {}}, id="empty-detail"),
        pytest.param({"source": "aws.events"}, id="no-detail"),
        pytest.param(
            {
                **rotation(None),
                "detail": {"eventName": "RotationSucceeded", "serviceEventDetails": None},
            },
            id="no-secret-id",
        ),
    ],
)
def test_other_events_change_nothing(fn: ModuleType, world: World, event: dict[str, Any]) -> None:
    event = json.loads(json.dumps(event).replace('"APP"', json.dumps(world.app)))
    assert set(refresh(fn, world, event)) == {"ignored"}  # an UpdateService call would raise
    assert [value(arn) for arn in world.urls] == ["postgresql://old", "postgresql://old"]


def test_a_missing_service_fails_the_event_after_rolling_the_others(
    fn: ModuleType, world: World
) -> None:
    world.environ["SERVICE_NAMES"] = f"webplat-prod-gone,{USERS[1]}"
    world.expect_rollouts("webplat-prod-gone", USERS[1], missing=("webplat-prod-gone",))
    with pytest.raises(RuntimeError, match=r"new deployment failed for webplat-prod-gone$"):
        refresh(fn, world, rotation(world.app))
    assert value(world.urls[0]).startswith("postgresql://app_user_clone:")


def test_an_unwritable_url_secret_fails_the_event_before_any_rollout(
    fn: ModuleType, world: World
) -> None:
    world.environ["URL_SECRET_ARNS"] += ",arn:aws:secretsmanager:ap-northeast-2:1:secret:gone"
    # No rollout queued: a new task must not start before every URL is rewritten.
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        refresh(fn, world, rotation(world.app))


def test_an_unreadable_app_secret_fails_the_event(fn: ModuleType, world: World) -> None:
    AWS.client("secretsmanager").delete_secret(SecretId=world.app, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        refresh(fn, world, rotation(world.app))
    assert value(world.urls[0]) == "postgresql://old"


def test_the_lambda_entry_reads_its_settings_from_the_environment(
    fn: ModuleType, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    setenv(monkeypatch, **world.environ)
    clients = {"ecs": world.ecs, "secretsmanager": AWS.client("secretsmanager")}
    monkeypatch.setattr(fn, "boto3", SimpleNamespace(client=clients.__getitem__))
    world.expect_rollouts(*USERS)
    assert fn.handler(rotation(world.app))["services"] == list(USERS)


def test_nothing_logged_returned_or_raised_holds_the_password(
    fn: ModuleType, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credential_refresh")
    world.expect_rollouts(*USERS)
    texts = [json.dumps(refresh(fn, world, rotation(world.app)))]
    texts.append(json.dumps(refresh(fn, world, rotation("arn:other"))))
    world.environ["SERVICE_NAMES"] = "webplat-prod-gone"
    world.expect_rollouts("webplat-prod-gone", missing=("webplat-prod-gone",))
    with pytest.raises(RuntimeError) as raised:
        refresh(fn, world, rotation(world.app))
    texts += [str(raised.value), caplog.text]
    assert "rotated to app_user_clone" in caplog.text
    assert "cannot roll webplat-prod-gone" in caplog.text
    for text in texts:
        assert PASSWORD not in text
        assert quote(PASSWORD, safe="") not in text  # nor its URL form
