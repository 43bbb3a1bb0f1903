"""Edge: the WAF web ACL in front of CloudFront.

CLOUDFRONT-scope web ACLs exist only in us-east-1, so this stack is pinned there whatever the
stage region; only its ARN (stable for the ACL's lifetime) is meant to cross regions.
"""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from constructs_lib.encryption import EncryptedLogGroup, EncryptedLogGroupProps
from infra.config import StageConfig
from infra.stacks.base import PlatformStack

EDGE_REGION = "us-east-1"
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
RATE_LIMIT_PER_5_MIN = 2000


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class EdgeStack(PlatformStack):
    def __init__(self, scope: Construct, cfg: StageConfig) -> None:
        super().__init__(
            scope, cfg, "edge", description="WAF for CloudFront (us-east-1)", region=EDGE_REGION
        )
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
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=len(rules),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=RATE_LIMIT_PER_5_MIN
                    )
                ),
                visibility_config=_visibility("RateLimitPerIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=cfg.resource_name("edge"),
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(cfg.resource_name("edge")),
        )
        key = self.stage_key("EdgeKey", "edge", "WAF logs")
        waf_logs = EncryptedLogGroup(
            self,
            "WafLogs",
            EncryptedLogGroupProps(
                name=f"aws-waf-logs-{cfg.resource_name('edge')}",  # prefix WAF requires
                key=key,
                retention_days=cfg.log_retention_days,
                removal_policy=cfg.removal_policy,
            ),
        ).log_group
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
