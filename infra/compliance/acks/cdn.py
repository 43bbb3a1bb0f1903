"""Acknowledged findings of the CDN stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.compliance.engine import Ack

if TYPE_CHECKING:
    from infra.stacks.cdn import CdnStack


def acks(stack: CdnStack) -> list[Ack]:
    found = [
        Ack(
            "Distribution/Origin*",
            "Annotation::@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac",
            "The assets bucket lives in the data stack, whose bucket and key policies already "
            "let this account's distributions read and decrypt it via S3; CDK need not edit them.",
        ),
        Ack(
            "Distribution/Resource",
            "AwsSolutions-CFR1",
            "Country restrictions are a product decision made in WAF (edge.waf.geo_allow or "
            "geo_block), where they are logged with every other block; CloudFront's list stays "
            "empty.",
        ),
    ]
    if stack.cfg.domain is None:  # stages that guarantee an encrypted origin refuse this
        found += [
            Ack(
                "Distribution/Resource",
                rule,
                "This stage has no domain (its guarantees allow that; prod's do not): viewers "
                "use *.cloudfront.net, whose TLS floor CloudFront fixes, and CloudFront reaches "
                "the ALB over HTTP admitted only by its prefix list and the secret header.",
            )
            for rule in ("AwsSolutions-CFR4", "AwsSolutions-CFR5")
        ]
    return found
