"""The edge: CloudFront distributions, WAF web ACLs, Route 53 zones and records, Cloud Map DNS."""

from __future__ import annotations

from tools.cost.pricing import CostError
from tools.cost.template import CostLine, Ctx, Free, NotPriced, Resource

# CloudFront's price zones (where viewers are) and which ones each price class serves from.
_ZONES = (
    "united_states",
    "europe",
    "south_africa_middle_east",
    "south_america",
    "japan",
    "australia",
    "asia_pacific",
    "india",
)
_PRICE_CLASS_ZONES = {
    "PriceClass_100": frozenset({"united_states", "europe"}),
    "PriceClass_200": frozenset(set(_ZONES) - {"south_america", "australia"}),
    "PriceClass_All": frozenset(_ZONES),
}
_CHEAPEST_ZONE = "united_states"  # viewers outside the price class are served from these edges

# Managed rule groups with a subscription on top of the $1 a rule (their key prefix).
_PAID_RULE_GROUPS = {
    "AWSManagedRulesBotControlRuleSet": "bot_control",
    "AWSManagedRulesATPRuleSet": "account_takeover_prevention",
    "AWSManagedRulesACFPRuleSet": "account_creation_fraud_prevention",
}


def distribution(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    config = ctx.props(logical_id).get("DistributionConfig", {})
    price_class = config.get("PriceClass", "PriceClass_All")
    zones = _PRICE_CLASS_ZONES.get(price_class)
    if zones is None:
        raise NotPriced(f"PriceClass {price_class} is not modelled")
    viewers = ctx.assume.text("cloudfront_viewer_zone")
    if viewers not in _ZONES:
        raise CostError(f"cloudfront_viewer_zone {viewers!r}: use one of {', '.join(_ZONES)}")
    zone = viewers if viewers in zones else _CHEAPEST_ZONE
    where = zone if zone == viewers else f"{viewers} viewers served from {zone} ({price_class})"
    return [
        ctx.usage(
            logical_id,
            f"CloudFront data out ({where})",
            "cloudfront_gb_per_month",
            "GB",
            f"cloudfront.data_out.{zone}.gb",
            group=False,
        ),
        ctx.usage(
            logical_id,
            f"CloudFront HTTPS requests ({where})",
            "cloudfront_requests_millions_per_month",
            "10k requests",
            f"cloudfront.https.{zone}.10k_requests",
            per=100,
            group=False,
        ),
    ]


def web_acl(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    rules = ctx.props(logical_id).get("Rules", [])
    rules = rules if isinstance(rules, list) else []
    lines = [ctx.line(logical_id, "WAF web ACL", 1, "web ACLs", "waf.web_acl.month")]
    if rules:  # managed rule groups and rule group references count as one rule each
        names = ", ".join(str(rule.get("Name", "?")) for rule in rules)
        lines.append(
            ctx.line(logical_id, "WAF rules", len(rules), "rules", "waf.rule.month", note=names)
        )
    lines.append(
        ctx.usage(
            logical_id,
            "WAF requests inspected",
            "waf_requests_millions_per_month",
            "million requests",
            "waf.request.million",
            group=False,
        )
    )
    for rule in rules:
        group = rule.get("Statement", {}).get("ManagedRuleGroupStatement", {}).get("Name")
        paid = _PAID_RULE_GROUPS.get(str(group))
        if paid:
            lines += [
                ctx.line(logical_id, f"WAF {group} subscription", 1, "months", f"waf.{paid}.month"),
                ctx.usage(
                    logical_id,
                    f"WAF {group} requests",
                    "waf_requests_millions_per_month",
                    "million requests",
                    f"waf.{paid}.request.million",
                    group=False,
                ),
            ]
    return lines


def _queries(ctx: Ctx, logical_id: str, records: int) -> list[CostLine]:
    """Standard queries of `records` records that are not aliases (alias queries are free)."""
    if not records:
        raise Free("alias queries to AWS resources are free")
    return [
        ctx.usage(
            logical_id,
            "Route 53 standard queries",
            "route53_queries_millions_per_record",
            "million queries",
            "route53.standard_query.million",
            per=records,
        )
    ]


def record_set(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return _queries(ctx, logical_id, 0 if "AliasTarget" in ctx.props(logical_id) else 1)


def record_set_group(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    records = ctx.props(logical_id).get("RecordSets", [])
    plain = [r for r in records if isinstance(r, dict) and "AliasTarget" not in r]
    return _queries(ctx, logical_id, len(plain))


def hosted_zone(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [ctx.line(logical_id, "Route 53 hosted zone", 1, "zones", "route53.hosted_zone.month")]


def private_dns_namespace(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    # Cloud Map creates a private Route 53 hosted zone for the namespace.
    return [
        ctx.line(
            logical_id,
            "Cloud Map namespace: Route 53 hosted zone",
            1,
            "zones",
            "route53.hosted_zone.month",
        )
    ]


def health_check(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.line(
            logical_id,
            "Route 53 health check",
            1,
            "checks",
            "route53.health_check.month",
            group=True,
        )
    ]
