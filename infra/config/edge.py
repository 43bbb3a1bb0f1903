"""Edge: the domain, the WAF web ACL and the CloudFront distribution."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field

from infra.config import aws
from infra.config.base import Model

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self' wss:; frame-ancestors 'none'; base-uri 'self'"
)
MIN_RATE_LIMIT, MAX_RATE_LIMIT = 10, 2_000_000_000  # AWS WAF rate-based rule limits
RATE_WINDOWS = (60, 120, 300, 600)  # seconds AWS WAF evaluates a rate-based rule over
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PREFIX_PATH = re.compile(r"^/[A-Za-z0-9_\-./]*\*?$")
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


class PriceClass(StrEnum):
    PRICE_CLASS_100 = "PriceClass_100"
    PRICE_CLASS_200 = "PriceClass_200"
    """Serves Korea and Japan from nearby edges at lower cost than _All."""
    PRICE_CLASS_ALL = "PriceClass_All"


class DomainConfig(Model):
    zone_name: str = Field(examples=["example.com"])
    hosted_zone_id: str = Field(examples=["Z0123456789ABCDEFGHIJ"])
    cdn_hosts: tuple[str, ...] = Field(default=("app",), examples=[["app", "@"]])
    """Names CloudFront answers for (@ is the zone apex); services exposed on the ALB or an NLB
    bring their own hosts."""
    origin_host: str = "origin"
    """The ALB's name for CloudFront's HTTPS origin connection."""

    def fqdn(self, host: str) -> str:
        return self.zone_name if host == "@" else f"{host}.{self.zone_name}"

    @property
    def is_placeholder(self) -> bool:
        return self.hosted_zone_id == aws.PLACEHOLDER_ZONE_ID

    def problems(self) -> list[str]:
        problems = []
        if not aws.DNS_NAME.match(self.zone_name):
            problems.append(f"zone_name: {self.zone_name!r} is not a DNS name like example.com")
        if not aws.ZONE_ID.match(self.hosted_zone_id):
            problems.append(
                f"hosted_zone_id: {self.hosted_zone_id!r} is not a Route 53 hosted zone id "
                "(Z...); a domain needs the zone its records and certificate validation live in"
            )
        problems += [
            f"cdn_hosts: {host!r} is not a DNS label such as app (or @ for the apex)"
            for host in (*self.cdn_hosts, self.origin_host)
            if not aws.HOST_LABEL.match(host)
        ]
        if not self.cdn_hosts:
            problems.append("cdn_hosts: name at least one host for CloudFront, e.g. ['app']")
        return problems


class WafConfig(Model):
    rate_limit: int = Field(default=2000, examples=[2000])
    """Requests per client IP in `rate_window_seconds` before WAF blocks it."""
    rate_window_seconds: int = 300
    managed_rule_groups: tuple[str, ...] = MANAGED_RULE_GROUPS
    ip_reputation: bool = True
    """AWS's IP reputation list, evaluated first with the rate limit."""
    block_anonymous_ips: bool = False
    """AWS managed anonymous-IP list (VPNs, Tor, hosting providers)."""
    geo_allow: tuple[str, ...] = ()
    """ISO 3166 country codes; when set, every other country is blocked."""
    geo_block: tuple[str, ...] = ()
    large_body_paths: tuple[str, ...] = Field(default=(), examples=[["/api/uploads*"]])
    """Path prefixes that may carry bodies over the common rule set's 8 KB limit (uploads);
    elsewhere oversized bodies stay blocked."""

    def problems(self) -> list[str]:
        problems = []
        if not MIN_RATE_LIMIT <= self.rate_limit <= MAX_RATE_LIMIT:
            problems.append(
                f"rate_limit: {self.rate_limit} must be {MIN_RATE_LIMIT}-{MAX_RATE_LIMIT}"
            )
        if self.rate_window_seconds not in RATE_WINDOWS:
            problems.append(
                f"rate_window_seconds: {self.rate_window_seconds}; AWS WAF evaluates over "
                f"{', '.join(map(str, RATE_WINDOWS))} seconds"
            )
        for field in ("geo_allow", "geo_block"):
            problems += [
                f"{field}: {code!r} is not an ISO 3166 alpha-2 country code such as KR"
                for code in getattr(self, field)
                if not _COUNTRY.match(code)
            ]
        if self.geo_allow and self.geo_block:
            problems.append("geo_allow/geo_block: use one; an allow list already blocks the rest")
        problems += [
            f"large_body_paths: {path!r}; use a path prefix like /api/uploads*"
            for path in self.large_body_paths
            if not _PREFIX_PATH.match(path)
        ]
        if len(set(self.managed_rule_groups)) != len(self.managed_rule_groups):
            problems.append("managed_rule_groups: a rule group is listed twice")
        return problems


class EdgeConfig(Model):
    waf: WafConfig = WafConfig()
    price_class: PriceClass = PriceClass.PRICE_CLASS_200
    content_security_policy: str = DEFAULT_CSP
    static_path: str = "/static/*"
    """Served from the assets bucket with long caching."""

    def problems(self) -> list[str]:
        problems = []
        if not re.match(r"^/[A-Za-z0-9_\-./]*\*$", self.static_path):
            problems.append(f"static_path: {self.static_path!r}; use a prefix like /static/*")
        if not self.content_security_policy.strip():
            problems.append("content_security_policy: must not be empty")
        return problems
