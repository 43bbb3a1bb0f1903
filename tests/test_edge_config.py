"""Edge configuration: bad input is rejected at synth with the field and the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.config import ConfigError, StageConfig, default_stages


def edge(**changes: Any) -> StageConfig:
    cfg = default_stages()["prod"]
    return dataclasses.replace(cfg, edge=dataclasses.replace(cfg.edge, **changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"waf_region": "ap-northeast-2"},
            "prod.edge.waf_region: 'ap-northeast-2'; AWS accepts CLOUDFRONT-scope web ACLs only "
            "in us-east-1",
            id="waf-region-mismatch",
        ),
        pytest.param(
            {"waf_scope": "REGIONAL"},
            "prod.edge.waf_scope: 'REGIONAL'; a web ACL for CloudFront must have scope CLOUDFRONT",
            id="waf-scope-mismatch",
        ),
        pytest.param(
            {"rate_limit_per_5_min": 5},
            "prod.edge.rate_limit_per_5_min: 5 is below the AWS minimum of 10",
            id="rate-limit-below-minimum",
        ),
        pytest.param(
            {"geo_allow": ("KR", "Korea")},
            "prod.edge.geo_allow: 'Korea' is not an ISO 3166 alpha-2 country code such as KR",
            id="bad-country-code",
        ),
        pytest.param(
            {"geo_allow": ("KR",), "geo_block": ("CN",)},
            "prod.edge.geo_allow/geo_block: use one",
            id="allow-and-block",
        ),
        pytest.param(
            {"price_class": "PriceClass_300"},
            "prod.edge.price_class: 'PriceClass_300'; use PriceClass_100, PriceClass_200, "
            "PriceClass_All",
            id="price-class",
        ),
        pytest.param(
            {"static_path": "static"},
            "prod.edge.static_path: 'static'; use a prefix pattern like /static/*",
            id="static-path",
        ),
    ],
)
def test_bad_edge_config_is_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        edge(**changes)
    assert message in str(caught.value)
