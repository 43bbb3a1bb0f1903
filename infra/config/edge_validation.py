"""Checks for the edge configuration (see validation.py for the conventions)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.config.edge import EdgeConfig

MIN_RATE_LIMIT, MAX_RATE_LIMIT = 10, 2_000_000_000  # AWS WAF rate-based rule limits
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PATH = re.compile(r"^/[A-Za-z0-9_\-./]*\*$")


def edge_problems(edge: EdgeConfig) -> list[str]:
    problems = []
    if edge.waf_scope != "CLOUDFRONT":
        problems.append(
            f"waf_scope: {edge.waf_scope!r}; a web ACL for CloudFront must have scope CLOUDFRONT"
        )
    if edge.waf_region != "us-east-1":
        problems.append(
            f"waf_region: {edge.waf_region!r}; AWS accepts CLOUDFRONT-scope web ACLs only in "
            "us-east-1"
        )
    if not MIN_RATE_LIMIT <= edge.rate_limit_per_5_min <= MAX_RATE_LIMIT:
        problems.append(
            f"rate_limit_per_5_min: {edge.rate_limit_per_5_min} is below the AWS minimum of "
            f"{MIN_RATE_LIMIT}"
            if edge.rate_limit_per_5_min < MIN_RATE_LIMIT
            else f"rate_limit_per_5_min: {edge.rate_limit_per_5_min} exceeds {MAX_RATE_LIMIT}"
        )
    for field in ("geo_allow", "geo_block"):
        problems += [
            f"{field}: {code!r} is not an ISO 3166 alpha-2 country code such as KR"
            for code in getattr(edge, field)
            if not _COUNTRY.match(code)
        ]
    if edge.geo_allow and edge.geo_block:
        problems.append("geo_allow/geo_block: use one; an allow list already blocks the rest")
    if edge.price_class not in PRICE_CLASSES:
        problems.append(f"price_class: {edge.price_class!r}; use {', '.join(PRICE_CLASSES)}")
    if not _PATH.match(edge.static_path):
        problems.append(f"static_path: {edge.static_path!r}; use a prefix pattern like /static/*")
    if not edge.content_security_policy.strip():
        problems.append("content_security_policy: must not be empty")
    return [f"edge.{p}" for p in problems]
