"""Edge: the WAF web ACL in front of CloudFront, and CloudFront's certificate.

CLOUDFRONT-scope web ACLs and CloudFront certificates exist only in us-east-1, so this stack is
pinned there whatever the stage region; only their ARNs (stable for the resources' lifetime)
cross regions.

Rule order is cost and precision: known-bad addresses and floods are dropped first (IP
reputation, the per-IP rate limit), then country and anonymity rules, then the managed rule
groups that inspect requests. The common rule set's 8 KB body limit only counts; a rule of our
own blocks oversized bodies everywhere except the upload paths the product names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StageConfig
from infra.config.aws import CLOUDFRONT_REGION
from infra.config.edge import WafConfig
from infra.stacks.base import PlatformStack

Rule = wafv2.CfnWebACL.RuleProperty
Statement = wafv2.CfnWebACL.StatementProperty
COMMON_RULES = "AWSManagedRulesCommonRuleSet"
BODY_RULE = "SizeRestrictions_BODY"
BODY_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"


def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _managed(name: str, waf: WafConfig) -> tuple[str, Statement, bool]:
    counted = name == COMMON_RULES and bool(waf.large_body_paths)
    return (
        name,
        Statement(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=(
                    [
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=BODY_RULE,
                            action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                        )
                    ]
                    if counted
                    else None
                ),
            )
        ),
        True,
    )


def waf_rules(waf: WafConfig, passed: Statement | None = None) -> list[Rule]:
    """(name, statement, is a managed group) in evaluation order, as WAF rules. Requests that
    match `passed` are allowed before any other rule (traffic another ACL already checked)."""
    ordered: list[tuple[str, Statement, bool]] = []
    if waf.ip_reputation:
        ordered.append(_managed("AWSManagedRulesAmazonIpReputationList", waf))
    ordered.append(
        (
            "RateLimitPerIp",
            Statement(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=waf.rate_limit,
                    evaluation_window_sec=waf.rate_window_seconds,
                )
            ),
            False,
        )
    )
    if waf.block_anonymous_ips:
        ordered.append(_managed("AWSManagedRulesAnonymousIpList", waf))
    if waf.geo_allow or waf.geo_block:
        countries = Statement(
            geo_match_statement=wafv2.CfnWebACL.GeoMatchStatementProperty(
                country_codes=list(waf.geo_allow or waf.geo_block)
            )
        )
        ordered.append(
            (
                "GeoRestriction",
                Statement(not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=countries))
                if waf.geo_allow
                else countries,
                False,
            )
        )
    ordered += [_managed(name, waf) for name in waf.managed_rule_groups]
    if waf.large_body_paths and COMMON_RULES in waf.managed_rule_groups:
        ordered.append(("OversizedBodyOutsideUploads", _oversized_body(waf), False))
    rules = [
        Rule(
            name=name,
            priority=index + (passed is not None),
            statement=statement,
            visibility_config=visibility(name),
            **(
                {"override_action": wafv2.CfnWebACL.OverrideActionProperty(none={})}
                if managed
                else {"action": wafv2.CfnWebACL.RuleActionProperty(block={})}
            ),
        )
        for index, (name, statement, managed) in enumerate(ordered)
    ]
    if passed is not None:
        rules.insert(
            0,
            Rule(
                name="CheckedAtTheEdge",
                priority=0,
                statement=passed,
                visibility_config=visibility("CheckedAtTheEdge"),
                action=wafv2.CfnWebACL.RuleActionProperty(allow={}),
            ),
        )
    return rules


def web_acl(
    stack: PlatformStack,
    prefix: str,
    *,
    name: str,
    scope: str,
    rules: list[Rule],
    key: Callable[[], kms.IKey],
    redacted_headers: Sequence[str] = (),
) -> wafv2.CfnWebACL:
    """A web ACL (`<prefix>WebAcl`) that allows what no rule blocks, logged to the log group
    `aws-waf-logs-<name>` (`<prefix>WafLogs`; WAF requires the prefix) with the authorization
    and cookie headers, and `redacted_headers`, redacted (`<prefix>WafLogging`). `key`, the
    log group's key, is asked for once the ACL exists: the edge stack makes its own key there,
    and construct order is template order."""
    acl = wafv2.CfnWebACL(
        stack,
        f"{prefix}WebAcl",
        name=name,
        scope=scope,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        rules=rules,
        visibility_config=visibility(name),
    )
    waf_logs = stack.log_group(f"{prefix}WafLogs", f"aws-waf-logs-{name}", key())
    wafv2.CfnLoggingConfiguration(
        stack,
        f"{prefix}WafLogging",
        resource_arn=acl.attr_arn,
        log_destination_configs=[waf_logs.log_group_arn],
        redacted_fields=[
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
            for header in ("authorization", "cookie", *redacted_headers)
        ],
    )
    return acl


def _oversized_body(waf: WafConfig) -> Statement:
    """The common rule set labelled the body as oversized, and the path is not an upload."""
    uploads = [
        Statement(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="STARTS_WITH",
                search_string=path.rstrip("*"),
                text_transformations=[
                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                ],
            )
        )
        for path in waf.large_body_paths
    ]
    upload = (
        uploads[0]
        if len(uploads) == 1
        else Statement(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=uploads))
    )
    return Statement(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                Statement(
                    label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(
                        scope="LABEL", key=BODY_LABEL
                    )
                ),
                Statement(not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=upload)),
            ]
        )
    )


class EdgeStack(PlatformStack):
    def __init__(self, scope: Construct, cfg: StageConfig) -> None:
        super().__init__(
            scope,
            cfg,
            "edge",
            description="WAF and certificate for CloudFront (us-east-1)",
            region=CLOUDFRONT_REGION,
            cross_region_references=True,
        )
        self.web_acl = web_acl(
            self,
            "",
            name=cfg.resource_name("edge"),
            scope="CLOUDFRONT",
            rules=waf_rules(cfg.edge.waf),
            key=lambda: self.stage_key("EdgeKey", "edge", "WAF logs"),
        )
        self.web_acl_arn = self.web_acl.attr_arn
        self.certificate = self._certificate()

    def _certificate(self) -> acm.ICertificate | None:
        """CloudFront's certificate must live in us-east-1; DNS-validated in the stage's zone."""
        domain = self.cfg.domain
        if domain is None:
            return None
        return self.dns_certificate([domain.fqdn(host) for host in domain.cdn_hosts])
