"""Edge: the WAF web ACL in front of CloudFront.

CLOUDFRONT-scope web ACLs exist only in us-east-1, so this stack is pinned there whatever the
stage region; only its ARN (stable for the ACL's lifetime) is meant to cross regions.
"""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StageConfig
from infra.config.edge import EdgeConfig
from infra.stacks.base import PlatformStack

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
ANONYMOUS_IP_GROUP = "AWSManagedRulesAnonymousIpList"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class EdgeStack(PlatformStack):
    def __init__(self, scope: Construct, cfg: StageConfig) -> None:
        edge = cfg.edge
        super().__init__(
            scope,
            cfg,
            "edge",
            description="WAF and certificate for CloudFront (us-east-1)",
            region=edge.waf_region,
            cross_region_references=True,
        )
        groups = MANAGED_RULE_GROUPS + ((ANONYMOUS_IP_GROUP,) if edge.block_anonymous_ips else ())
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=index,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for index, group in enumerate(groups)
        ]
        rules += self._geo_rules(edge, priority=len(rules))
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=len(rules),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=edge.rate_limit_per_5_min
                    )
                ),
                visibility_config=_visibility("RateLimitPerIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=cfg.resource_name("edge"),
            scope=edge.waf_scope,
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(cfg.resource_name("edge")),
        )
        key = self.stage_key("EdgeKey", "edge", "WAF logs")
        waf_logs = self.log_group(
            "WafLogs", f"aws-waf-logs-{cfg.resource_name('edge')}", key
        )  # prefix WAF requires
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[waf_logs.log_group_arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in ("authorization", "cookie")
            ],
        )
        self.web_acl_arn = self.web_acl.attr_arn
        self.certificate = self._certificate()

    def _certificate(self) -> acm.ICertificate | None:
        """CloudFront's certificate must live in us-east-1; DNS-validated in the stage's zone."""
        domain = self.cfg.compute.domain
        if domain is None:
            return None
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.zone_name
        )
        names = [f"{host}.{domain.zone_name}" for host in viewer_hosts(self.cfg)]
        return acm.Certificate(
            self,
            "Certificate",
            domain_name=names[0],
            subject_alternative_names=names[1:],
            validation=acm.CertificateValidation.from_dns(zone),
        )

    @staticmethod
    def _geo_rules(edge: EdgeConfig, priority: int) -> list[wafv2.CfnWebACL.RuleProperty]:
        if not (edge.geo_allow or edge.geo_block):
            return []
        countries = wafv2.CfnWebACL.StatementProperty(
            geo_match_statement=wafv2.CfnWebACL.GeoMatchStatementProperty(
                country_codes=list(edge.geo_allow or edge.geo_block)
            )
        )
        statement = (
            wafv2.CfnWebACL.StatementProperty(
                not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=countries)
            )
            if edge.geo_allow
            else countries
        )
        return [
            wafv2.CfnWebACL.RuleProperty(
                name="GeoRestriction",
                priority=priority,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=statement,
                visibility_config=_visibility("GeoRestriction"),
            )
        ]


def viewer_hosts(cfg: StageConfig) -> list[str]:
    """Host names CloudFront answers for: app, api, and ws unless an NLB serves WebSockets."""
    domain = cfg.compute.domain
    if domain is None:
        return []
    hosts = [domain.app_host, domain.api_host]
    return hosts if cfg.compute.websocket_entry == "nlb" else [*hosts, domain.ws_host]
