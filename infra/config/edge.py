"""Edge configuration: the WAF web ACL and the CloudFront distribution."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self' wss:; frame-ancestors 'none'; base-uri 'self'"
)


@dataclass(frozen=True)
class EdgeConfig:
    waf_scope: str = "CLOUDFRONT"
    waf_region: str = "us-east-1"
    """CloudFront web ACLs exist only in us-east-1."""
    rate_limit_per_5_min: int = 2000
    """Requests per client IP in any 5-minute window before WAF blocks it."""
    block_anonymous_ips: bool = False
    """AWS managed anonymous-IP list (VPNs, Tor, hosting providers)."""
    geo_allow: tuple[str, ...] = ()
    """ISO 3166 country codes; when set, every other country is blocked."""
    geo_block: tuple[str, ...] = ()
    price_class: str = "PriceClass_200"
    """PriceClass_200 serves Korea and Japan from nearby edges at lower cost than _All."""
    content_security_policy: str = DEFAULT_CSP
    static_path: str = "/static/*"
    """Served from the assets bucket with long caching."""
