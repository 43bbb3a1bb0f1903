"""tools.diagram on small hand-built cloud assemblies (never on a real cdk.out)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tools.diagram import main, render

Template = dict[str, Any]

PARAM = "/cdk/exports/shop-prod-cdn/shopprodedgeuseast1FnGetAttWebAclArnA24FBDBE"


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def export_name(stack: str, logical_id: str, attribute: str = "Ref") -> str:
    return f"{stack}:ExportsOutput{attribute}{logical_id}"


def imp(stack: str, logical_id: str, attribute: str = "Ref") -> dict[str, str]:
    return {"Fn::ImportValue": export_name(stack, logical_id, attribute)}


def exports(stack: str, *items: tuple[str, str]) -> dict[str, Any]:
    """Outputs exporting (logical id, attribute) pairs the way CDK names them."""
    return {
        f"ExportsOutput{attribute}{logical_id}": {
            "Value": ref(logical_id) if attribute == "Ref" else att(logical_id, attribute),
            "Export": {"Name": export_name(stack, logical_id, attribute)},
        }
        for logical_id, attribute in items
    }


def res(resource_type: str, **props: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": props}


IAM_ROLE = res("AWS::IAM::Role", AssumeRolePolicyDocument={})


def network(cidr: str = "10.0.0.0/16") -> Template:
    zone = [{"Fn::Select": [index, {"Fn::GetAZs": ""}]} for index in range(2)]
    return {
        "Resources": {
            "Vpc8378EB38": res("AWS::EC2::VPC", CidrBlock=cidr),
            "SubnetA1111AAAA": res(
                "AWS::EC2::Subnet", VpcId=ref("Vpc8378EB38"), AvailabilityZone=zone[0]
            ),
            "SubnetB2222BBBB": res(
                "AWS::EC2::Subnet", VpcId=ref("Vpc8378EB38"), AvailabilityZone=zone[1]
            ),
            "NatA3333CCCC": res("AWS::EC2::NatGateway", SubnetId=ref("SubnetA1111AAAA")),
            "NatB4444DDDD": res("AWS::EC2::NatGateway", SubnetId=ref("SubnetB2222BBBB")),
            "EndpointEcr5555EEEE": res(
                "AWS::EC2::VPCEndpoint",
                VpcEndpointType="Interface",
                ServiceName="com.amazonaws.eu-west-1.ecr.api",
            ),
            "EndpointLogs6666FFFF": res(
                "AWS::EC2::VPCEndpoint",
                VpcEndpointType="Interface",
                ServiceName="com.amazonaws.eu-west-1.logs",
            ),
            "AppSgA1B2C3D4": res("AWS::EC2::SecurityGroup", GroupDescription="app tier"),
            "DbSgE5F6A7B8": res("AWS::EC2::SecurityGroup", GroupDescription="database tier"),
            "DbSgFromAppC9D0E1F2": res(
                "AWS::EC2::SecurityGroupIngress",
                GroupId=att("DbSgE5F6A7B8", "GroupId"),
                SourceSecurityGroupId=att("AppSgA1B2C3D4", "GroupId"),
                IpProtocol="tcp",
                FromPort=5432,
                ToPort=5432,
            ),
            "FlowLogRoleAAAA1111": IAM_ROLE,
            "NetworkKey12345678": res("AWS::KMS::Key"),
            "NetworkKeyAlias87654321": res(
                "AWS::KMS::Alias", TargetKeyId=ref("NetworkKey12345678")
            ),
            "FlowLogsLogGroupABCDEF12": res("AWS::Logs::LogGroup"),
            "CDKMetadata": res("AWS::CDK::Metadata", Analytics="v2"),
        },
        "Outputs": exports(
            "shop-prod-network",
            ("Vpc8378EB38", "Ref"),
            ("SubnetA1111AAAA", "Ref"),
            ("SubnetB2222BBBB", "Ref"),
            ("AppSgA1B2C3D4", "GroupId"),
            ("DbSgE5F6A7B8", "GroupId"),
        ),
    }


def data() -> Template:
    return {
        "Resources": {
            "DatabaseB269D8BB": res(
                "AWS::RDS::DBInstance",
                DBInstanceIdentifier="shop-db",
                DBInstanceClass="db.t4g.micro",
                Engine="postgres",
                VPCSecurityGroups=[imp("shop-prod-network", "DbSgE5F6A7B8", "GroupId")],
            ),
            "MediaBucket1A2B3C4D": res("AWS::S3::Bucket"),
            "MediaBucketPolicy5E6F7A8B": res(
                "AWS::S3::BucketPolicy", Bucket=ref("MediaBucket1A2B3C4D")
            ),
            "DatabaseSecret9C0D1E2F": res("AWS::SecretsManager::Secret"),
        },
        "Outputs": exports(
            "shop-prod-data", ("DatabaseB269D8BB", "Ref"), ("MediaBucket1A2B3C4D", "Ref")
        ),
    }


def compute() -> Template:
    net = "shop-prod-network"
    return {
        "Resources": {
            "LoadBalancerBE9EEC3A": res(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                Name="shop-alb",
                Type="application",
                Scheme="internet-facing",
                Subnets=[imp(net, "SubnetA1111AAAA"), imp(net, "SubnetB2222BBBB")],
            ),
            "LoadBalancerHttps0C5C99D2": res(
                "AWS::ElasticLoadBalancingV2::Listener",
                LoadBalancerArn=ref("LoadBalancerBE9EEC3A"),
                DefaultActions=[
                    {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}
                ],
            ),
            "ApiRuleE7BB75ED": res(
                "AWS::ElasticLoadBalancingV2::ListenerRule",
                ListenerArn=ref("LoadBalancerHttps0C5C99D2"),
                Priority=10,
                Actions=[{"Type": "forward", "TargetGroupArn": ref("ApiTargetsD685290D")}],
                Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
            ),
            "ApiTargetsD685290D": res(
                "AWS::ElasticLoadBalancingV2::TargetGroup", Port=8000, VpcId=imp(net, "Vpc8378EB38")
            ),
            "ApiService40B436B6": res(
                "AWS::ECS::Service",
                ServiceName="shop-api",
                DesiredCount=2,
                LaunchType="FARGATE",
                TaskDefinition=ref("ApiTask6BD2BFAC"),
                LoadBalancers=[
                    {"ContainerName": "app", "TargetGroupArn": ref("ApiTargetsD685290D")}
                ],
                NetworkConfiguration={
                    "AwsvpcConfiguration": {
                        "SecurityGroups": [imp(net, "AppSgA1B2C3D4", "GroupId")]
                    }
                },
            ),
            "ApiTask6BD2BFAC": res(
                "AWS::ECS::TaskDefinition",
                Family="shop-api",
                TaskRoleArn=att("ApiTaskRoleF71D2990", "Arn"),
                ContainerDefinitions=[
                    {
                        "Name": "app",
                        "Environment": [
                            {"Name": "STAGE", "Value": "prod"},
                            {
                                "Name": "MEDIA_BUCKET",
                                "Value": imp("shop-prod-data", "MediaBucket1A2B3C4D"),
                            },
                        ],
                    }
                ],
            ),
            "ApiTaskRoleF71D2990": IAM_ROLE,
            "ApiTaskRoleDefaultPolicy1A2B3C4D": res("AWS::IAM::Policy", PolicyDocument={}),
            "ApiLogGroup3E7D29D1": res("AWS::Logs::LogGroup"),
            "WorkerLogGroup6F1F3E35": res("AWS::Logs::LogGroup"),
            "InvokePermission9DABA8D7": res(
                "AWS::Lambda::Permission", Action="lambda:InvokeFunction"
            ),
            "ImageTagParameterAB12CD34": res("AWS::SSM::Parameter", Type="String", Value="v1"),
        },
        "Outputs": exports("shop-prod-compute", ("LoadBalancerBE9EEC3A", "DNSName")),
    }


def edge() -> Template:
    return {
        "Resources": {
            "WebAcl": res(
                "AWS::WAFv2::WebACL", Name="shop-acl", Scope="CLOUDFRONT", Rules=[{}, {}]
            ),
            "ExportsWriterEuwest1AC4A0F19": res(
                "Custom::CrossRegionExportWriter",
                ServiceToken=att("CustomCrossRegionExportWriterHandlerD8786E8A", "Arn"),
                WriterProps={"region": "eu-west-1", "exports": {PARAM: att("WebAcl", "Arn")}},
            ),
            "CustomCrossRegionExportWriterHandlerD8786E8A": res(
                "AWS::Lambda::Function", Role=att("WriterHandlerRole11112222", "Arn")
            ),
            "WriterHandlerRole11112222": IAM_ROLE,
        }
    }


def cdn() -> Template:
    reader = "ExportsReader8B249524"
    return {
        "Resources": {
            "Distribution830FAC52": res(
                "AWS::CloudFront::Distribution",
                DistributionConfig={
                    "Aliases": ["shop.example.com"],
                    "WebACLId": att(reader, PARAM),
                    "Origins": [
                        {
                            "Id": "alb",
                            "DomainName": imp(
                                "shop-prod-compute", "LoadBalancerBE9EEC3A", "DNSName"
                            ),
                        }
                    ],
                    "DefaultCacheBehavior": {"TargetOriginId": "alb"},
                },
            ),
            "AshopF5E4FC11": _alias(
                "shop.example.com.", "A", att("Distribution830FAC52", "DomainName")
            ),
            "AAAAshop393693D4": _alias(
                "shop.example.com.", "AAAA", att("Distribution830FAC52", "DomainName")
            ),
            reader: res(
                "Custom::CrossRegionExportReader",
                ServiceToken=att("CustomCrossRegionExportReaderHandler46647B68", "Arn"),
                ReaderProps={
                    "region": "eu-west-1",
                    "imports": {PARAM: f"{{{{resolve:ssm:{PARAM}}}}}"},
                },
            ),
            "CustomCrossRegionExportReaderHandler46647B68": res("AWS::Lambda::Function"),
        }
    }


def _alias(name: str, record_type: str, target: Any) -> dict[str, Any]:
    return res(
        "AWS::Route53::RecordSet", Name=name, Type=record_type, AliasTarget={"DNSName": target}
    )


def prod() -> dict[str, tuple[str, Template]]:
    """Concern -> (region, template) of the Prod stage."""
    return {
        "Network": ("eu-west-1", network()),
        "Data": ("eu-west-1", data()),
        "Compute": ("eu-west-1", compute()),
        "Edge": ("us-east-1", edge()),
        "Cdn": ("eu-west-1", cdn()),
    }


def write_assembly(root: Path, stages: dict[str, dict[str, tuple[str, Template]]]) -> Path:
    """A cloud assembly laid out as `cdk synth` writes one: a nested assembly per stage."""
    root.mkdir(parents=True, exist_ok=True)
    nested = {}
    for stage, stacks in stages.items():
        directory = root / f"assembly-{stage}"
        directory.mkdir()
        artifacts = {}
        for concern, (region, template) in stacks.items():
            key = f"{stage}{concern}0A1B2C3D"
            (directory / f"{key}.template.json").write_text(json.dumps(template))
            artifacts[key] = {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://111111111111/{region}",
                "displayName": f"{stage}/{concern}",
                "properties": {
                    "templateFile": f"{key}.template.json",
                    "stackName": f"shop-{stage.lower()}-{concern.lower()}",
                },
            }
            artifacts[f"{key}.assets"] = {"type": "cdk:asset-manifest", "properties": {}}
        (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
        nested[f"assembly-{stage}"] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": f"assembly-{stage}", "displayName": stage},
        }
    nested["Tree"] = {"type": "cdk:tree", "properties": {"file": "tree.json"}}
    (root / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": nested}))
    return root


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    return write_assembly(
        tmp_path / "cdk.out",
        {"Prod": prod(), "Dev": {"Network": ("eu-west-1", network("10.9.0.0/16"))}},
    )


@pytest.fixture
def diagram(assembly: Path) -> str:
    return render(assembly, "shop")["prod"]


def mermaid(markdown: str) -> str:
    match = re.search(r"```mermaid\n(.*?)```", markdown, re.DOTALL)
    assert match, markdown
    return match.group(1)


def node_ids(markdown: str) -> set[str]:
    return set(re.findall(r"^ {4}(\w+)[\[(]", mermaid(markdown), re.MULTILINE))


def test_one_markdown_file_per_stage_with_title_legend_and_flowchart(assembly: Path) -> None:
    rendered = render(assembly, "shop")

    assert sorted(rendered) == ["dev", "prod"]
    lines = rendered["prod"].splitlines()
    assert lines[0] == "# Architecture: shop / Prod"
    assert lines[1] == ""
    assert "Thick arrows follow a request" in lines[2]
    assert lines[4:6] == ["```mermaid", "flowchart LR"]
    assert "VPC 10.9.0.0/16" in rendered["dev"]


def test_each_stack_is_a_subgraph_labelled_with_concern_and_region(diagram: str) -> None:
    subgraphs = re.findall(r'^  subgraph (\w+)\["(.*)"\]$', mermaid(diagram), re.MULTILINE)

    assert subgraphs == [
        ("Cdn", "Cdn (eu-west-1)"),
        ("Compute", "Compute (eu-west-1)"),
        ("Data", "Data (eu-west-1)"),
        ("Edge", "Edge (us-east-1)"),
        ("Network", "Network (eu-west-1)"),
    ]
    assert mermaid(diagram).count("\n  end\n") == len(subgraphs)


def test_main_resources_are_labelled_from_their_properties(diagram: str) -> None:
    expected = [
        'NetworkVpc8378EB38["VPC 10.0.0.0/16<br/>2 AZs"]',
        'NetworkNatGateways["2 NAT gateways"]',
        'NetworkInterfaceEndpoints["2 interface endpoints<br/>ecr.api, logs"]',
        'NetworkKeys["1 KMS key"]',
        'NetworkLogGroups["1 log group"]',
        'DataDatabaseB269D8BB[("shop-db<br/>RDS postgres · db.t4g.micro")]',
        'DataMediaBucket1A2B3C4D[("MediaBucket<br/>S3 bucket")]',
        'DataSecrets["1 secret"]',
        'ComputeLoadBalancerBE9EEC3A["shop-alb<br/>ALB · internet-facing"]',
        'ComputeApiService40B436B6("shop-api<br/>ECS service · Fargate \N{MULTIPLICATION SIGN} 2")',
        'ComputeLogGroups["2 log groups"]',
        'EdgeWebAcl["shop-acl<br/>WAF web ACL · cloudfront · 2 rules"]',
        'CdnDistribution830FAC52["CloudFront distribution<br/>shop.example.com"]',
        'CdnDns["DNS (Route 53)<br/>shop.example.com"]',
    ]
    for declaration in expected:
        assert f"    {declaration}\n" in diagram


@pytest.mark.parametrize(
    "noise",
    [
        "Role",  # IAM roles and policies
        "Policy",
        "SgA1B2C3D4",  # security groups and their rules
        "DbSgFromApp",
        "Subnet",
        "KeyAlias",
        "Permission",
        "Parameter",  # SSM
        "CDKMetadata",
        "Exports",  # cross-region writer and reader
        "Handler",  # their provider functions
        "ApiTask",  # a service's task definition is part of the service
        "Targets",
        "ApiRule",
        "LoadBalancerHttps",
    ],
)
def test_plumbing_is_left_out(diagram: str, noise: str) -> None:
    assert not [node for node in node_ids(diagram) if noise in node]


def test_cross_stack_references_are_one_edge_per_stack_pair(diagram: str) -> None:
    references = re.findall(r"^  (\w+) -->\|\"(.*)\"\| (\w+)$", mermaid(diagram), re.MULTILINE)

    assert references == [
        ("Compute", "LoadBalancer", "Cdn"),
        ("Data", "MediaBucket", "Compute"),
        # Drawn resources first, then up to three names in all.
        ("Network", "Vpc, AppSg, SubnetA +1", "Compute"),
        ("Network", "DbSg", "Data"),
    ]


def test_cross_region_references_are_dashed(diagram: str) -> None:
    assert '  Edge -.->|"cross-region: WebAcl"| Cdn\n' in diagram
    assert diagram.count("-.->") == 1


def test_request_path_is_bold_from_dns_to_data(diagram: str) -> None:
    traffic = re.findall(r"^  (\w+) ==>(?:\|\"(.*)\"\|)? (\w+)$", mermaid(diagram), re.MULTILINE)

    assert traffic == [  # sorted by source, then target
        ("CdnDistribution830FAC52", "", "EdgeWebAcl"),  # the distribution's WebACLId
        ("CdnDns", "", "CdnDistribution830FAC52"),  # alias records
        ("ComputeApiService40B436B6", "5432", "DataDatabaseB269D8BB"),  # security-group flow
        ("ComputeApiService40B436B6", "", "DataMediaBucket1A2B3C4D"),  # task environment
        # listener rule -> target group -> the service registered with it
        ("ComputeLoadBalancerBE9EEC3A", "/api/*", "ComputeApiService40B436B6"),
        ("EdgeWebAcl", "default", "ComputeLoadBalancerBE9EEC3A"),  # the distribution's origin
    ]


def test_origin_host_record_leads_from_cloudfront_to_the_load_balancer(tmp_path: Path) -> None:
    stages = prod()
    template = stages["Cdn"][1]
    config = template["Resources"]["Distribution830FAC52"]["Properties"]["DistributionConfig"]
    config["Origins"][0]["DomainName"] = "origin.shop.example.com"
    dns_name = {
        "Fn::Join": [
            "",
            ["dualstack.", imp("shop-prod-compute", "LoadBalancerBE9EEC3A", "DNSName")],
        ]
    }
    template["Resources"]["AoriginE10AA9CA"] = _alias("origin.shop.example.com.", "A", dns_name)

    text = render(write_assembly(tmp_path / "out", {"Prod": stages}), "shop")["prod"]

    assert '  EdgeWebAcl ==>|"default"| ComputeLoadBalancerBE9EEC3A\n' in text
    assert "CdnDns ==> ComputeLoadBalancerBE9EEC3A" not in text  # CloudFront's way there only
    assert "origin.shop.example.com" in text  # still listed in the DNS node


def test_a_record_aliasing_a_load_balancer_is_an_entry(tmp_path: Path) -> None:
    stages = prod()
    dns_name = imp("shop-prod-compute", "LoadBalancerBE9EEC3A", "DNSName")
    stages["Cdn"][1]["Resources"]["AapiCD159154"] = _alias("api.shop.example.com.", "A", dns_name)

    text = render(write_assembly(tmp_path / "out", {"Prod": stages}), "shop")["prod"]

    assert "  CdnDns ==> ComputeLoadBalancerBE9EEC3A\n" in text


def test_node_ids_are_mermaid_safe_and_survive_unrelated_changes(
    tmp_path: Path, diagram: str
) -> None:
    before = node_ids(diagram)
    stages = prod()
    stages["Data"][1]["Resources"]["ArchiveBucket0F1E2D3C"] = res("AWS::S3::Bucket")
    stages["Data"][1]["Resources"]["AuditTrail4B5A6978"] = res(
        "AWS::CloudTrail::Trail", TrailName="t"
    )

    after = node_ids(render(write_assembly(tmp_path / "out", {"Prod": stages}), "shop")["prod"])

    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", node) for node in before | after)
    assert after - before == {"DataArchiveBucket0F1E2D3C", "DataAuditTrail4B5A6978"}


def test_output_is_deterministic_whatever_the_template_order(
    tmp_path: Path, assembly: Path
) -> None:
    reordered = {
        concern: (
            region,
            {section: dict(reversed(body.items())) for section, body in template.items()},
        )
        for concern, (region, template) in reversed(prod().items())
    }
    shuffled = write_assembly(tmp_path / "shuffled", {"Prod": reordered})

    assert render(assembly, "shop")["prod"] == render(assembly, "shop")["prod"]
    assert render(shuffled, "shop")["prod"] == render(assembly, "shop")["prod"]


def test_unknown_types_and_custom_resources_stay_visible_generically(tmp_path: Path) -> None:
    stages = prod()
    resources = stages["Data"][1]["Resources"]
    resources["StreamA1A1A1A1"] = res("AWS::KinesisFirehose::DeliveryStream")
    for index in range(3):
        resources[f"Query{index}B2B2B2B2"] = res("AWS::Athena::NamedQuery")
    resources["Seed"] = res("Custom::SeedData", ServiceToken=att("SeedProviderC3C3C3C3", "Arn"))
    resources["SeedProviderC3C3C3C3"] = res(
        "AWS::Lambda::Function",
        FunctionName="seed-provider",
        Environment={
            "Variables": {"USER_ON_EVENT_FUNCTION_ARN": att("SeedHandlerD4D4D4D4", "Arn")}
        },
    )
    resources["SeedHandlerD4D4D4D4"] = res("AWS::Lambda::Function", FunctionName="seed-handler")
    resources["RestrictSg"] = res("Custom::VpcRestrictDefaultSG", ServiceToken="arn")

    text = render(write_assembly(tmp_path / "out", {"Prod": stages}), "shop")["prod"]

    assert 'DataStreamA1A1A1A1["Stream<br/>KinesisFirehose DeliveryStream"]' in text
    assert 'DataAthenaNamedQuery["3 \N{MULTIPLICATION SIGN} Athena NamedQuery"]' in text
    assert 'DataSeed("SeedData<br/>custom resource")' in text
    assert "seed-provider" not in text  # the provider chain is plumbing
    assert "seed-handler" not in text
    assert "VpcRestrictDefaultSG" not in text  # CDK's own custom resources too


def test_cli_writes_one_file_per_stage(
    tmp_path: Path, assembly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no Graphviz: SVG skipped silently
    out = tmp_path / "docs" / "architecture"

    assert main([str(assembly), "--out", str(out), "--profile", "shop"]) == 0

    assert sorted(path.name for path in out.iterdir()) == ["shop-dev.md", "shop-prod.md"]
    assert (out / "shop-prod.md").read_text() == render(assembly, "shop")["prod"]


def test_cli_writes_svg_when_graphviz_is_on_path(
    tmp_path: Path, assembly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_dot = bin_dir / "dot"
    # Keeps the DOT it was given, so the test can check it is an equivalent graph.
    fake_dot.write_text(f'#!/bin/sh\ncat > "{tmp_path}/$$.dot"\necho "<svg/>"\n')
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"

    assert main([str(assembly), "--out", str(out)]) == 0

    assert (out / "default-prod.svg").read_text() == "<svg/>\n"
    assert (out / "default-dev.svg").exists()
    graphs = [path.read_text() for path in tmp_path.glob("*.dot")]
    prod_graph = next(graph for graph in graphs if "default / Prod" in graph)
    assert 'subgraph "cluster_Edge"' in prod_graph
    assert '"EdgeWebAcl" -> "ComputeLoadBalancerBE9EEC3A" [style=bold' in prod_graph
    assert '"Edge__anchor" -> "Cdn__anchor" [style=dashed' in prod_graph


def test_cli_rejects_a_directory_without_manifest(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
