"""Alert topics per severity, their recipients, and the functions that forward alerts (the chat
notifier and any the product declares with an `alerts` trigger)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import SecretValue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from constructs_lib.durations import days
from constructs_lib.function import FunctionProps, code_asset, platform_function
from constructs_lib.monitoring import MonitoredFunction
from infra.config.functions import LAMBDA_SRC, AlertsTrigger, FunctionConfig, Severity
from infra.config.observability import Recipients
from infra.stacks.base import pascal, removal

if TYPE_CHECKING:
    from infra.stacks.observability import ObservabilityStack

PUBLISHERS = ("cloudwatch", "events", "budgets")
"""Services that publish to the encrypted topics: each must be allowed to use the key."""
NOTIFIER = FunctionConfig(
    trigger=AlertsTrigger(type="alerts"),
    code="chat_notifier",
    description="Formats alarm state changes for a Slack-style webhook",
    vpc=False,
)


def alerts_key(stack: ObservabilityStack) -> kms.Key:
    key = stack.stage_key("AlertsKey", "alerts", "alert topics")
    for service in PUBLISHERS:
        key.grant(
            iam.ServicePrincipal(f"{service}.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
    return key


def build_topics(stack: ObservabilityStack) -> dict[str, sns.Topic]:
    cfg = stack.cfg
    topics = {}
    for severity in Severity:
        topic = sns.Topic(
            stack,
            f"{severity.value.capitalize()}Topic",
            topic_name=cfg.resource_name(f"alerts-{severity.value}"),
            master_key=stack.key,
            enforce_ssl=True,
        )
        subscribe(topic, cfg.observability.alerts.recipients(severity))
        topics[severity.value] = topic
    return topics


def subscribe(topic: sns.Topic, *recipients: Recipients) -> None:
    """E-mail and pager (HTTPS) subscribers, each named by its endpoint under the topic (as
    CDK's own subscriptions are): adding, removing or reordering a recipient leaves everyone
    else's subscription, and its confirmation, alone. An address listed twice for one topic is
    subscribed once; the same address on two topics is two subscriptions."""
    for address in dict.fromkeys(a for r in recipients for a in r.emails):
        topic.add_subscription(subscriptions.EmailSubscription(address))
    for url in dict.fromkeys(u for r in recipients for u in r.https):
        topic.add_subscription(
            subscriptions.UrlSubscription(url, protocol=sns.SubscriptionProtocol.HTTPS)
        )


def build_forwarders(stack: ObservabilityStack) -> None:
    """Alert-triggered functions: outside the VPC, so alerts still go out when it is broken."""
    cfg = stack.cfg
    forwarders = {
        name: spec
        for name, spec in cfg.functions.items()
        if isinstance(spec.trigger, AlertsTrigger)
    }
    alerts = cfg.observability.alerts
    if alerts.chat:
        forwarders["chat-notifier"] = NOTIFIER.model_copy(
            update={"trigger": AlertsTrigger(type="alerts", severities=alerts.chat_severities)}
        )
    for name, spec in forwarders.items():
        _forwarder(stack, name, spec)


def _forwarder(stack: ObservabilityStack, name: str, spec: FunctionConfig) -> None:
    cfg = stack.cfg
    construct_id = pascal(name)
    failed = sqs.Queue(
        stack,
        f"{construct_id}Failures",
        queue_name=cfg.resource_name(f"{name}-dlq"),
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=stack.key,
        enforce_ssl=True,
        retention_period=days(14),
        removal_policy=removal(cfg.removal_policy),
    )
    environment = dict(spec.environment)
    function = platform_function(
        stack,
        construct_id,
        FunctionProps(
            function_name=cfg.resource_name(name),
            description=spec.description or f"Forwards alerts ({name})",
            code=code_asset(LAMBDA_SRC / spec.code_folder(name)),
            handler=spec.handler,
            runtime=spec.runtime.value,
            architecture=spec.architecture.value,
            key=stack.key,
            log_group=stack.log_group(
                f"{construct_id}Logs",
                cfg.log_name(name),
                stack.key,
                spec.log_retention_days or cfg.retention("functions"),
            ),
            tracing=stack.tracing,
            memory_mib=spec.memory_mib,
            timeout_seconds=spec.timeout_seconds,
            reserved_concurrency=spec.reserved_concurrency,
            dead_letter_queue=failed,
            environment=environment,
        ),
    )
    if name == "chat-notifier":
        webhook = secretsmanager.Secret(
            stack,
            "ChatWebhook",
            secret_name=cfg.secret_name("chat-webhook"),
            description='Incoming-webhook URL for alerts: put {"url": "https://..."} here',
            encryption_key=stack.key,
            # Empty until an operator sets it; the notifier fails loudly (its dead-letter
            # alarm pages the critical recipients) instead of posting nowhere.
            secret_string_value=SecretValue.unsafe_plain_text('{"url": ""}'),
            removal_policy=removal(cfg.removal_policy),
        )
        webhook.grant_read(function)
        function.add_environment("WEBHOOK_SECRET_ARN", webhook.secret_arn)
    assert isinstance(spec.trigger, AlertsTrigger)
    for severity in spec.trigger.severities:
        stack.topics[severity.value].add_subscription(subscriptions.LambdaSubscription(function))
    stack.inventory.functions.append(
        MonitoredFunction(
            name, function, spec.timeout_seconds, dead_letters=failed, forwards_alerts=True
        )
    )


def scope_event_publishers(stack: ObservabilityStack) -> None:
    """CDK's SNS event target lets `events.amazonaws.com` publish with no condition, so another
    account's rule could post to this stage's alert topics. Bound to this account's rules (the
    aws:SourceArn EventBridge sets when it delivers)."""
    rules = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/*"
    for topic in stack.topics.values():
        policy = topic.node.try_find_child("Policy")
        cfn = policy.node.default_child if policy is not None else None
        if not isinstance(cfn, sns.CfnTopicPolicy):
            continue
        document = stack.resolve(cfn.policy_document)
        for statement in document["Statement"]:
            if statement.get("Principal") == {"Service": "events.amazonaws.com"}:
                statement.setdefault("Condition", {})["ArnLike"] = {"aws:SourceArn": rules}
        cfn.policy_document = document
