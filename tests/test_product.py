"""A product unlike the profiles (the "product" job, tests/jobs.py PRODUCT_PROFILE) works without
code changes: five freely named services with different exposures, three functions with
queue, bucket and event triggers, an extra bucket and two secrets.

Every expectation is computed from PRODUCT_PROFILE itself (the platform's documented defaults
filled in here) and compared with the template as an exact set.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.config import StageConfig
from tests.jobs import PRODUCT_PROFILE, product_config
from tests.synth import Pool, Synthesized, Template, resources
from tests.templates import (
    ORIGIN_HEADER,
    actions,
    alarms,
    exported,
    flows,
    lid,
    mentions,
    one_id,
    pascal,
    ref,
    role_statements,
    route,
    security_group_tiers,
)

CFG: StageConfig = product_config()  # the stage exactly as the job builds it
STAGE = CFG.construct_id
PREFIX = f"{PRODUCT_PROFILE['project']}-{next(iter(PRODUCT_PROFILE['stages']))}"
SERVICES: dict[str, dict[str, Any]] = PRODUCT_PROFILE["services"]
FUNCTIONS: dict[str, dict[str, Any]] = PRODUCT_PROFILE["functions"]
BUCKETS: dict[str, dict[str, Any]] = PRODUCT_PROFILE["buckets"]
SECRETS: dict[str, dict[str, Any]] = PRODUCT_PROFILE["secrets"]
ZONE = PRODUCT_PROFILE["domain"]["zone_name"]
CIDRS: list[str] = PRODUCT_PROFILE["network"]["load_balancer_ingress_cidrs"]
ANY = "0.0.0.0/0"
CLOUDFRONT = "pl-22a6434b"  # CloudFront's origin-facing prefix list in ap-northeast-2
HTTPS = 443
DB_PORT = 5432  # the platform's default engine, PostgreSQL
CACHE_PORT = 6379
NLB_PORT = 443
# ALB rule priorities, written out: storefront's is explicit; the others are derived as
# (50 - rank) * 1000 + crc32(name) % 1000, rank being the longest literal path prefix plus 10
# with hosts: backend "/api/" 5 -> 45000 + 201, admin "/" 1 + 10 -> 39000 + 326.
PRIORITIES = {"storefront": 49000, "backend": 45201, "admin": 39326}
BUCKET_ACTIONS = {
    frozenset({"s3:GetObject"}): "read",
    frozenset({"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}): (
        "read-write"
    ),
    frozenset({"s3:PutObject", "s3:AbortMultipartUpload"}): "write",
}
SERVICE_ALARMS = {
    "CPU-Usage-Warning",
    "Memory-Usage-Warning",
    "tasks-missing-Critical",
    "logs-errors-Warning",
}
TARGET_ALARMS = {"Healthy-Tasks-Critical", "Unhealthy-Tasks-Critical"}
FUNCTION_ALARMS = {"Fault-Count-Warning", "Throttled-Count-Warning", "Latency-P99-Warning"}
QUEUE_ALARMS = {"queue-Queue-Message-Age-Max-Warning", "queue-DLQ-Queue-Message-Count-Max-Critical"}
ASYNC_ALARMS = {"dlq-Queue-Message-Count-Max-Critical"}


def expose(name: str) -> str:
    return str(SERVICES[name].get("expose", "cloudfront"))


def uses(spec: dict[str, Any]) -> dict[str, Any]:
    return dict(spec.get("uses", {}))


def trigger(name: str) -> str:
    return str(FUNCTIONS[name]["trigger"]["type"])


def in_vpc(name: str) -> bool:
    return bool(FUNCTIONS[name].get("vpc", True))


def fqdn(host: str) -> str:
    return f"{host}.{ZONE}"


def on_alb(name: str) -> bool:
    return expose(name) in ("cloudfront", "alb")


def principal(role_id: str) -> str:
    """Who a role of the compute stack belongs to, in the profile's names."""
    for name in SERVICES:
        if role_id.startswith(f"Service{lid(name)}TaskTaskRole"):
            return f"service {name}"
        if role_id.startswith(f"Service{lid(name)}TaskExecutionRole"):
            return f"execution {name}"
    for name in FUNCTIONS:
        if role_id.startswith(f"Function{lid(name)}ServiceRole"):
            return f"function {name}"
    return role_id


@pytest.fixture(scope="module")
def product(pool: Pool) -> Synthesized:
    return pool.result("product")


# -- services ----------------------------------------------------------------------------------


def test_the_profile_is_unlike_the_default_one() -> None:
    """What makes this product a test of the platform rather than of a profile."""
    assert set(SERVICES).isdisjoint({"web", "api", "ws"})
    assert {expose(n) for n in SERVICES} == {"cloudfront", "alb", "nlb", "internal"}
    assert {trigger(n) for n in FUNCTIONS} == {"queue", "bucket", "event"}
    assert len({s["port"] for s in SERVICES.values()}) == len(SERVICES)


def test_exactly_the_declared_services_run_each_on_its_port_and_group(
    product: Synthesized,
) -> None:
    compute = product.template(STAGE, "compute")
    network = product.template(STAGE, "network")
    tiers = security_group_tiers(network)
    services = {
        s["Properties"]["ServiceName"]: s["Properties"]
        for s in resources(compute, "AWS::ECS::Service").values()
    }
    assert set(services) == {f"{PREFIX}-{n}" for n in SERVICES}
    groups = resources(compute, "AWS::ElasticLoadBalancingV2::TargetGroup")
    for name, spec in SERVICES.items():
        service = services[f"{PREFIX}-{name}"]
        task = compute["Resources"][ref(service["TaskDefinition"]) or ""]["Properties"]
        (app,) = [c for c in task["ContainerDefinitions"] if c["Name"] == "app"]
        assert [m["ContainerPort"] for m in app["PortMappings"]] == [spec["port"]], name
        assert {"Name": "PORT", "Value": str(spec["port"])} in app["Environment"]
        (group,) = service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        assert tiers[exported(network, group) or ""] == name  # its own tier
        balancers = service.get("LoadBalancers", [])
        if expose(name) == "internal":
            assert balancers == [], name
            continue
        (balancer,) = balancers
        assert balancer["ContainerPort"] == spec["port"]
        target = groups[ref(balancer["TargetGroupArn"]) or ""]["Properties"]
        protocol = "TCP" if expose(name) == "nlb" else "HTTP"
        assert (target["Port"], target["Protocol"]) == (spec["port"], protocol), name


def test_callers_reach_callees_through_service_connect_only(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    services = {
        s["Properties"]["ServiceName"]: s["Properties"]
        for s in resources(compute, "AWS::ECS::Service").values()
    }
    called = {other for spec in SERVICES.values() for other in uses(spec).get("services", [])}
    assert called == {"search"}
    (namespace,) = resources(compute, "AWS::ServiceDiscovery::HttpNamespace").values()
    assert namespace["Properties"]["Name"] == f"{PREFIX}-services"
    for name, spec in SERVICES.items():
        connect = services[f"{PREFIX}-{name}"]["ServiceConnectConfiguration"]
        assert connect["Enabled"] is True
        assert connect["Namespace"] == f"{PREFIX}-services"
        served = connect.get("Services", [])
        if name in called:
            assert served == [
                {
                    "ClientAliases": [{"Port": spec["port"]}],
                    "DiscoveryName": name,
                    "PortName": "http",
                }
            ]
        else:
            assert served == [], name
    for name, spec in SERVICES.items():
        task = next(
            t["Properties"]
            for lid_, t in resources(compute, "AWS::ECS::TaskDefinition").items()
            if lid_.startswith(f"Service{lid(name)}Task")
        )
        (app,) = [c for c in task["ContainerDefinitions"] if c["Name"] == "app"]
        callees = {f"{other.upper()}_URL" for other in SERVICES}
        urls = {e["Name"]: e["Value"] for e in app["Environment"] if e["Name"] in callees}
        assert urls == {
            f"{other.upper()}_URL": f"http://{other}:{SERVICES[other]['port']}"
            for other in uses(spec).get("services", [])
        }, name


# -- network -----------------------------------------------------------------------------------


def expected_ingress() -> set[tuple[str, str, int]]:
    """Every flow PRODUCT_PROFILE implies, written out from its declarations."""
    endpoints = bool(CFG.network.interface_endpoints)
    found = {(CLOUDFRONT, "alb", HTTPS)}  # a domain: CloudFront reaches the ALB over HTTPS
    if any(expose(n) == "alb" for n in SERVICES):
        found |= {(cidr, "alb", port) for cidr in CIDRS for port in (HTTPS, 80)}
    for name, spec in SERVICES.items():
        entry = {"cloudfront": "alb", "alb": "alb", "nlb": "nlb"}.get(expose(name))
        if entry is not None:
            found.add((entry, name, spec["port"]))
        if expose(name) == "nlb":
            found |= {(cidr, "nlb", NLB_PORT) for cidr in CIDRS}
        found |= {(name, o, SERVICES[o]["port"]) for o in uses(spec).get("services", [])}
    clients = {name: uses(spec) for name, spec in SERVICES.items()}
    clients |= {f"fn-{name}": uses(spec) for name, spec in FUNCTIONS.items() if in_vpc(name)}
    for tier, declared in clients.items():
        if declared.get("database"):
            found.add((tier, "database", DB_PORT))
        if declared.get("cache"):
            found.add((tier, "cache", CACHE_PORT))
        if endpoints:
            found.add((tier, "endpoints", HTTPS))
    for tier in ("rotation", "db-admin"):  # the platform's own database clients
        found.add((tier, "database", DB_PORT))
        if "secretsmanager" in CFG.network.interface_endpoints:
            found.add((tier, "endpoints", HTTPS))
    return found


def test_security_groups_are_exactly_the_flows_the_declarations_imply(
    product: Synthesized,
) -> None:
    network = product.template(STAGE, "network")
    tiers = {"alb", "nlb", *SERVICES, "database", "cache", "rotation", "db-admin", "endpoints"}
    tiers |= {f"fn-{name}" for name in FUNCTIONS if in_vpc(name)}
    tiers |= {"restore-test"} if CFG.data.backup.restore_testing else set()  # no flows at all
    assert set(security_group_tiers(network).values()) == tiers
    ingress = expected_ingress()
    assert flows(network, "Ingress") == ingress
    egress = {f for f in ingress if f[0] != CLOUDFRONT and "/" not in f[0]}
    egress |= {(tier, ANY, HTTPS) for tier in (*SERVICES, "fn-indexer")}
    assert flows(network, "Egress") == egress
    # Spelled out, the cases that matter:
    to = {(src, dst) for src, dst, _ in ingress}
    assert {src for src, dst in to if dst == "database"} == {
        "backend",
        "fn-indexer",
        "rotation",
        "db-admin",
    }
    assert {src for src, dst in to if dst == "cache"} == {"backend", "live"}
    assert {src for src, dst in to if dst == "search"} == {"backend"}
    assert {src for src, dst in to if dst == "admin"} == {"alb"}
    assert {src for src, dst in to if dst == "live"} == {"nlb"}


# -- entry points ------------------------------------------------------------------------------


def rules_by_service(compute: Template) -> dict[str, dict[str, Any]]:
    services = {
        ref(lb["TargetGroupArn"]): s["Properties"]["ServiceName"].removeprefix(f"{PREFIX}-")
        for s in resources(compute, "AWS::ECS::Service").values()
        for lb in s["Properties"].get("LoadBalancers", [])
    }
    found = {}
    for rule in resources(compute, "AWS::ElasticLoadBalancingV2::ListenerRule").values():
        (action,) = rule["Properties"]["Actions"]
        found[services[ref(action["TargetGroupArn"])]] = rule["Properties"]
    return found


def test_alb_rules_carry_the_declared_paths_hosts_and_priorities(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    rules = rules_by_service(compute)
    assert set(rules) == {name for name in SERVICES if on_alb(name)}
    (https,) = [
        lid_
        for lid_, listener in resources(compute, "AWS::ElasticLoadBalancingV2::Listener").items()
        if listener["Properties"]["Protocol"] == "HTTPS"
    ]
    assert rules["storefront"]["Priority"] == SERVICES["storefront"]["priority"]
    for name, rule in rules.items():
        assert ref(rule["ListenerArn"]) == https
        assert rule["Priority"] == PRIORITIES[name]  # explicit or derived
        conditions = {c["Field"]: c for c in rule["Conditions"]}
        assert conditions["path-pattern"]["PathPatternConfig"]["Values"] == SERVICES[name]["paths"]
        hosts = conditions.get("host-header", {}).get("HostHeaderConfig", {}).get("Values")
        assert hosts == (
            [fqdn(h) for h in SERVICES[name]["hosts"]] if expose(name) == "alb" else None
        )
        header = conditions.get("http-header", {}).get("HttpHeaderConfig", {}).get("HttpHeaderName")
        assert header == (ORIGIN_HEADER if expose(name) == "cloudfront" else None), name
    assert len({r["Priority"] for r in rules.values()}) == len(rules)


def test_the_nlb_serves_only_its_services_over_tls(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    (nlb_id,) = [
        lid_
        for lid_, lb in resources(compute, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
        if lb["Properties"]["Type"] == "network"
    ]
    listeners = [
        listener["Properties"]
        for listener in resources(compute, "AWS::ElasticLoadBalancingV2::Listener").values()
        if ref(listener["Properties"]["LoadBalancerArn"]) == nlb_id
    ]
    on_nlb = [name for name in SERVICES if expose(name) == "nlb"]
    assert len(listeners) == len(on_nlb) == 1
    (listener,) = listeners
    assert (listener["Port"], listener["Protocol"]) == (NLB_PORT, "TLS")
    (forward,) = listener["DefaultActions"]
    group_id = ref(forward["TargetGroupArn"])
    assert group_id is not None
    assert group_id.startswith(f"Service{lid(on_nlb[0])}Targets")
    group = compute["Resources"][group_id]["Properties"]
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["stickiness.type"] == "source_ip"
    (certificate,) = resources(compute, "AWS::CertificateManager::Certificate").values()
    props = certificate["Properties"]
    assert props["DomainName"] == fqdn("origin")
    direct = [
        fqdn(h) for n in SERVICES if expose(n) in ("alb", "nlb") for h in SERVICES[n]["hosts"]
    ]
    assert props["SubjectAlternativeNames"] == direct


def reaches(compute: Template, path: str, host: str | None, *, via_cloudfront: bool) -> str | None:
    """The declared service the ALB forwards a request to (templates.route, by profile name)."""
    found = route(compute, path, host, via_cloudfront=via_cloudfront)
    return None if found is None else found.removeprefix(f"{PREFIX}-")


@pytest.mark.parametrize(
    "service",
    [name for name in SERVICES if on_alb(name)],
)
def test_each_declared_route_reaches_its_service(product: Synthesized, service: str) -> None:
    compute = product.template(STAGE, "compute")
    spec = SERVICES[service]
    requests = (
        [(fqdn("origin"), True)]
        if expose(service) == "cloudfront"
        else [(fqdn(h), False) for h in spec["hosts"]]
    )
    for host, via_cloudfront in requests:
        for pattern in spec["paths"]:
            path = pattern.replace("*", "x")
            assert reaches(compute, path, host, via_cloudfront=via_cloudfront) == service, path


def test_without_cloudfronts_header_only_the_alb_exposed_hosts_answer(
    product: Synthesized,
) -> None:
    """A direct client gets 403 on CloudFront's paths; on admin.<zone> it reaches admin only."""
    compute = product.template(STAGE, "compute")
    direct = {fqdn(h): n for n in SERVICES if expose(n) == "alb" for h in SERVICES[n]["hosts"]}
    for spec in SERVICES.values():
        for pattern in spec.get("paths", []):
            path = pattern.replace("*", "x")
            assert reaches(compute, path, fqdn("origin"), via_cloudfront=False) is None, path
            for host, owner in direct.items():
                assert reaches(compute, path, host, via_cloudfront=False) == owner, (host, path)


def test_the_health_check_url_reaches_a_service_that_uses_the_database(
    product: Synthesized,
) -> None:
    url = product.template(STAGE, "cdn")["Outputs"]["HealthCheckUrl"]["Value"]
    host, _, path = url.removeprefix("https://").partition("/")
    assert host == fqdn(PRODUCT_PROFILE["domain"]["cdn_hosts"][0])
    compute = product.template(STAGE, "compute")
    reached = reaches(compute, f"/{path}", fqdn("origin"), via_cloudfront=True)
    assert reached in {n for n, s in SERVICES.items() if uses(s).get("database")}


def test_hosts_have_records_and_certificates_where_they_are_served(product: Synthesized) -> None:
    cdn = product.template(STAGE, "cdn")
    (distribution,) = resources(cdn, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    cdn_hosts = PRODUCT_PROFILE["domain"]["cdn_hosts"]
    assert config["Aliases"] == [fqdn(h) for h in cdn_hosts]
    uncached = [
        p
        for n, s in SERVICES.items()
        if expose(n) == "cloudfront" and s.get("cdn_cache") == "disabled"
        for p in s["paths"]
        if p != "/*"
    ]
    assert sorted(b["PathPattern"] for b in config["CacheBehaviors"]) == sorted(
        [*uncached, "/static/*"]
    )
    targets: dict[str, set[str]] = {}
    for record in resources(cdn, "AWS::Route53::RecordSet").values():
        alias = json.dumps(record["Properties"]["AliasTarget"])
        target = (
            "cloudfront"
            if "Distribution" in alias
            else "nlb"
            if "WebSocketLoadBalancer" in alias
            else "alb"
        )
        targets.setdefault(target, set()).add(record["Properties"]["Name"])
    expected = {"cloudfront": {f"{fqdn(h)}." for h in cdn_hosts}, "alb": {f"{fqdn('origin')}."}}
    for name, spec in SERVICES.items():
        if expose(name) in ("alb", "nlb"):  # directly exposed: a record on its load balancer
            expected.setdefault(expose(name), set()).update(f"{fqdn(h)}." for h in spec["hosts"])
    assert targets == expected
    assert len(resources(cdn, "AWS::Route53::RecordSet")) == 2 * sum(map(len, expected.values()))
    (edge_certificate,) = resources(
        product.template(STAGE, "edge"), "AWS::CertificateManager::Certificate"
    ).values()
    assert edge_certificate["Properties"]["DomainName"] == fqdn(cdn_hosts[0])


# -- functions ---------------------------------------------------------------------------------


def functions_by_name(compute: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        f["Properties"]["FunctionName"].removeprefix(f"{PREFIX}-"): (lid_, f["Properties"])
        for lid_, f in resources(compute, "AWS::Lambda::Function").items()
    }


def test_the_declared_functions_exist_in_the_vpc_only_where_asked(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    network = product.template(STAGE, "network")
    tiers = security_group_tiers(network)
    functions = functions_by_name(compute)
    platform = {"credential-refresh"}  # a service uses the database: rotations roll it
    assert set(functions) == {*FUNCTIONS, *platform}
    for name, spec in FUNCTIONS.items():
        _, props = functions[name]
        assert props["Timeout"] == spec.get("timeout_seconds", 30)
        if not in_vpc(name):
            assert "VpcConfig" not in props, name
            continue
        (group,) = props["VpcConfig"]["SecurityGroupIds"]
        assert tiers[exported(network, group) or ""] == f"fn-{name}"


def test_a_queue_trigger_is_its_own_queue_with_the_declared_batch(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    functions = functions_by_name(compute)
    queued = [n for n in FUNCTIONS if trigger(n) == "queue"]
    mappings = resources(compute, "AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == len(queued) == 1
    for name in queued:
        spec = FUNCTIONS[name]
        function_id, props = functions[name]
        (mapping,) = [
            m["Properties"] for m in mappings if ref(m["Properties"]["FunctionName"]) == function_id
        ]
        assert mapping["BatchSize"] == spec["trigger"].get("batch_size", 10)
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        queue_id = ref(mapping["EventSourceArn"])
        assert queue_id is not None
        assert queue_id.startswith(f"{pascal(name)}Queue")
        queue = compute["Resources"][queue_id]["Properties"]
        assert queue["QueueName"] == f"{PREFIX}-{name}-queue"
        assert queue["VisibilityTimeout"] == 6 * spec.get("timeout_seconds", 30)
        assert queue["RedrivePolicy"]["maxReceiveCount"] == spec["trigger"].get(
            "max_receive_count", 5
        )
        assert ref(queue["RedrivePolicy"]["deadLetterTargetArn"]) == next(
            q
            for q in resources(compute, "AWS::SQS::Queue")
            if q.startswith(f"{pascal(name)}DeadLetters")
        )
        assert "DeadLetterConfig" not in props  # failures stay on the queue, then its DLQ


def event_rules(compute: Template) -> dict[str, dict[str, Any]]:
    """Function name -> the EventBridge rule that invokes it."""
    functions = {lid_: n for n, (lid_, _) in functions_by_name(compute).items()}
    found = {}
    for rule in resources(compute, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            name = functions.get(ref(target["Arn"]) or "")
            if name in FUNCTIONS:
                found[name] = rule["Properties"]
    return found


def test_bucket_and_event_triggers_match_exactly_what_is_declared(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    data = product.template(STAGE, "data")
    rules = event_rules(compute)
    assert set(rules) == {n for n in FUNCTIONS if trigger(n) in ("bucket", "event")}
    functions = functions_by_name(compute)
    for name, rule in rules.items():
        spec = FUNCTIONS[name]["trigger"]
        pattern = rule["EventPattern"]
        if spec["type"] == "bucket":
            assert "EventBusName" not in rule  # S3 delivers to the default bus
            assert rule["Name"] == f"{PREFIX}-{name}-objects"
            (bucket,) = pattern["detail"]["bucket"]["name"]
            assert exported(data, bucket) == next(
                b
                for b in resources(data, "AWS::S3::Bucket")
                if b.startswith(f"{pascal(spec['bucket'])}Bucket")
            )
            wildcard = f"{spec.get('prefix', '')}*{spec.get('suffix', '')}"
            assert pattern == {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [bucket]},
                    "object": {"key": [{"wildcard": wildcard}]},
                },
            }
        else:
            assert ref(rule["EventBusName"]) == one_id(compute, "AWS::Events::EventBus")
            assert rule["Name"] == f"{PREFIX}-{name}-events"
            assert pattern == {"source": spec["source"]}
        (target,) = rule["Targets"]
        function_id, props = functions[name]
        assert ref(target["Arn"]) == function_id
        dead_letters = ref(props["DeadLetterConfig"]["TargetArn"])
        assert dead_letters is not None
        assert dead_letters.startswith(f"{pascal(name)}DeadLetters")
        assert ref(target["DeadLetterConfig"]["Arn"]) == dead_letters
    # Only the bucket a function is triggered by sends its events to EventBridge.
    triggered = {FUNCTIONS[n]["trigger"]["bucket"] for n in FUNCTIONS if trigger(n) == "bucket"}
    for bucket_id, bucket in resources(data, "AWS::S3::Bucket").items():
        events = (
            bucket["Properties"]
            .get("NotificationConfiguration", {})
            .get("EventBridgeConfiguration")
        )
        wanted = any(bucket_id.startswith(f"{pascal(b)}Bucket") for b in triggered)
        assert events == ({"EventBridgeEnabled": True} if wanted else None), bucket_id


ASYNC = [n for n in FUNCTIONS if trigger(n) != "queue"] + ["credential-refresh", "chat-notifier"]


@pytest.mark.parametrize("function", ASYNC)
def test_async_functions_can_write_their_dead_letter_queue(
    product: Synthesized, function: str
) -> None:
    stack = "observability" if function == "chat-notifier" else "compute"
    template = product.template(STAGE, stack)
    function_id, props = functions_by_name(template)[function]
    queue = template["Resources"][ref(props["DeadLetterConfig"]["TargetArn"]) or ""]["Properties"]
    key = ref(queue["KmsMasterKeyId"])
    assert key is not None
    role = ref(props["Role"])
    granted = {
        a
        for owner, s in role_statements(template)
        if owner == role and mentions(s["Resource"], key) and _usable_by_sqs(s)
        for a in actions(s)
    }
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= granted, function_id


def _usable_by_sqs(statement: dict[str, Any]) -> bool:
    """No condition, or one that admits calls SQS makes on the caller's behalf."""
    via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
    others = {k for k in statement.get("Condition", {}) if k != "StringEquals"}
    return not others and (via is None or str(via).startswith("sqs."))


def test_the_indexer_has_its_idempotency_table_and_nobody_else_uses_it(
    product: Synthesized,
) -> None:
    compute = product.template(STAGE, "compute")
    tables = resources(compute, "AWS::DynamoDB::GlobalTable")
    wanted = [n for n, f in FUNCTIONS.items() if f.get("idempotency_table")]
    assert len(tables) == len(wanted) == 1
    ((table_id, table),) = tables.items()
    props = table["Properties"]
    assert props["TableName"] == f"{PREFIX}-{wanted[0]}-idempotency"
    assert props["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert ref(replica["SSESpecification"]["KMSMasterKeyId"]) == one_id(compute, "AWS::KMS::Key")
    functions = functions_by_name(compute)
    for name, (_, fn) in functions.items():
        env = fn.get("Environment", {}).get("Variables", {})
        assert (ref(env.get("IDEMPOTENCY_TABLE")) == table_id) is (name in wanted), name
    users = {
        principal(role)
        for role, s in role_statements(compute)
        if mentions(s["Resource"], table_id) and any(a.startswith("dynamodb:") for a in actions(s))
    }
    assert users == {f"function {n}" for n in wanted}
    (grant,) = [s for _, s in role_statements(compute) if mentions(s["Resource"], table_id)]
    assert set(actions(grant)) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}


# -- grants ------------------------------------------------------------------------------------


def declared_bucket_grants() -> set[tuple[str, str, str, str]]:
    """(who, bucket, access, prefix) from every `uses.buckets` of the profile."""
    found = set()
    for kind, entries in (("service", SERVICES), ("function", FUNCTIONS)):
        for name, spec in entries.items():
            for bucket, grant in uses(spec).get("buckets", {}).items():
                access, prefix = (
                    (grant["access"], grant.get("prefix", ""))
                    if isinstance(grant, dict)
                    else (grant, "")
                )
                found.add((f"{kind} {name}", bucket, access, prefix))
    return found


def bucket_policy_grant(data: Template, policy: dict[str, Any]) -> tuple[str, str, str]:
    """(bucket, access, prefix) a data-stack bucket policy grants, read from its statements."""
    document = policy["Properties"]["PolicyDocument"]["Statement"]
    (objects,) = [
        s for s in document if s["Action"] != "s3:ListBucket" and "s3:" in json.dumps(s["Action"])
    ]
    access = BUCKET_ACTIONS[frozenset(actions(objects))]
    bucket_arn, suffix = objects["Resource"]["Fn::Join"][1]
    bucket_id = ref(bucket_arn)
    (bucket,) = [n for n in BUCKETS if (bucket_id or "").startswith(f"{pascal(n)}Bucket")]
    prefix = suffix.removeprefix("/").removesuffix("*")
    listing = [s for s in document if s["Action"] == "s3:ListBucket"]
    if access == "write":
        assert listing == []
    else:
        (lists,) = listing
        assert ref(lists["Resource"]) == bucket_id
        assert ("Condition" in lists) is bool(prefix)
    (key,) = [s for s in document if all(a.startswith("kms:") for a in actions(s))]
    assert set(actions(key)) == {"kms:Decrypt"} | (
        {"kms:GenerateDataKey"} if access != "read" else set()
    )
    assert key["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{CFG.region}.amazonaws.com"}
    }
    assert data["Resources"][bucket_id or ""]["Type"] == "AWS::S3::Bucket"
    return bucket, access, prefix


def test_bucket_grants_are_exactly_the_declared_ones(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    data = product.template(STAGE, "data")
    found = set()
    for role_id, role in resources(compute, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            policy_id = exported(data, arn)
            if policy_id is not None:
                policy = data["Resources"][policy_id]
                found.add((principal(role_id), *bucket_policy_grant(data, policy)))
    assert found == declared_bucket_grants()
    assert ("service backend", "documents", "read-write", "") in found
    assert ("function indexer", "documents", "read", "") in found
    # No role of its own grants S3 object access besides those policies.
    own = {a for _, s in role_statements(compute) for a in actions(s)}
    assert not {a for a in own if a.startswith("s3:")}


def test_queue_and_event_bus_grants_are_exactly_the_declared_ones(product: Synthesized) -> None:
    compute = product.template(STAGE, "compute")
    queues = {
        q: n
        for q in resources(compute, "AWS::SQS::Queue")
        for n in FUNCTIONS
        if q.startswith(f"{pascal(n)}Queue")
    }
    senders = {
        (principal(role), queues[q])
        for role, s in role_statements(compute)
        if "sqs:SendMessage" in actions(s)
        for q in queues
        if mentions(s["Resource"], q)
    }
    declared = {
        (f"{kind} {name}", queue)
        for kind, entries in (("service", SERVICES), ("function", FUNCTIONS))
        for name, spec in entries.items()
        for queue in uses(spec).get("queues", [])
    }
    assert senders == declared == {("service backend", "indexer")}
    bus = one_id(compute, "AWS::Events::EventBus")
    publishers = {
        principal(role)
        for role, s in role_statements(compute)
        if "events:PutEvents" in actions(s) and mentions(s["Resource"], bus)
    }
    assert publishers == {
        f"{kind} {name}"
        for kind, entries in (("service", SERVICES), ("function", FUNCTIONS))
        for name, spec in entries.items()
        if uses(spec).get("events")
    }
    assert not [
        s
        for _, s in role_statements(compute)
        if "events:PutEvents" in actions(s) and not mentions(s["Resource"], bus)
    ]


def test_secrets_are_declared_and_readable_only_by_who_lists_them(product: Synthesized) -> None:
    """Released services (an image_tag) read exactly the secrets they list (backend both, search
    only its own); placeholder images never receive secrets (tests/test_compute.py)."""
    data = product.template(STAGE, "data")
    compute = product.template(STAGE, "compute")
    secrets = {
        s["Properties"]["Name"].rsplit("/", 1)[-1]: (lid_, s["Properties"])
        for lid_, s in resources(data, "AWS::SecretsManager::Secret").items()
        if s["Properties"]["Name"].startswith(f"{PREFIX.replace('-', '/')}/app/")
    }
    assert set(secrets) == set(SECRETS)
    for name, spec in SECRETS.items():
        _, props = secrets[name]
        generated = spec.get("kind", "generated") == "generated"
        assert ("GenerateSecretString" in props) is generated, name
        assert ("SecretString" in props) is (not generated), name
    released = {n for n, s in SERVICES.items() if "image_tag" in s or "image" in s}
    expected = {
        (f"execution {n}", secret)
        for n in released
        for secret in uses(SERVICES[n]).get("secrets", [])
    } | {
        (f"function {n}", secret)
        for n, f in FUNCTIONS.items()
        for secret in uses(f).get("secrets", [])
    }
    by_id = {lid_: name for name, (lid_, _) in secrets.items()}
    readers = {
        (principal(role), by_id[secret])
        for role, s in role_statements(compute)
        if "secretsmanager:GetSecretValue" in actions(s)
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        if (secret := exported(data, resource)) in by_id
    }
    assert readers == expected
    assert ("service search", "JWT_SECRET") not in readers
    for name in set(SERVICES) - released:  # placeholders: no secrets at all
        task = next(
            t["Properties"]
            for lid_, t in resources(compute, "AWS::ECS::TaskDefinition").items()
            if lid_.startswith(f"Service{lid(name)}Task")
        )
        assert not [c for c in task["ContainerDefinitions"] if "Secrets" in c], name


# -- data --------------------------------------------------------------------------------------


def test_the_documents_bucket_has_its_lifecycle(product: Synthesized) -> None:
    data = product.template(STAGE, "data")
    buckets = resources(data, "AWS::S3::Bucket")
    declared = {f"{pascal(n)}Bucket" for n in BUCKETS}
    platform = {"AccessLogsBucket", "AssetsBucket"}
    assert {re.sub(r"[0-9A-F]{8}$", "", b) for b in buckets} == declared | platform
    for name, spec in BUCKETS.items():
        (props,) = [
            b["Properties"]
            for lid_, b in buckets.items()
            if lid_.startswith(f"{pascal(name)}Bucket")
        ]
        (rule,) = props["LifecycleConfiguration"]["Rules"]
        assert [(t["StorageClass"], t["TransitionInDays"]) for t in rule["Transitions"]] == [
            (t["storage_class"], t["after_days"]) for t in spec["transitions"]
        ]
        assert rule["ExpirationInDays"] == spec["expire_after_days"]
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}  # platform default
        assert rule["Status"] == "Enabled"
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
        assert props["LoggingConfiguration"]["LogFilePrefix"] == f"s3/{name}/"


# -- observability -----------------------------------------------------------------------------


def expected_alarms(name: str) -> set[str]:
    if name in SERVICES:
        return SERVICE_ALARMS | (TARGET_ALARMS if expose(name) != "internal" else set())
    if trigger(name) == "queue":
        return FUNCTION_ALARMS | QUEUE_ALARMS
    return FUNCTION_ALARMS | ASYNC_ALARMS


@pytest.mark.parametrize("name", [*SERVICES, *FUNCTIONS])
def test_each_service_and_function_has_its_alarms(product: Synthesized, name: str) -> None:
    observability = product.template(STAGE, "observability")
    mine = {
        a.removeprefix(f"{PREFIX}-{name}-")
        for a in alarms(observability)
        if a.startswith(f"{PREFIX}-{name}-")
    }
    assert mine == expected_alarms(name)
