"""Which resource types cost money, and how; which are free, and why.

A type in PRICERS is priced by its function (which may still find the resource free, or not
modelled, in a given configuration). A type in FREE costs nothing by itself. Any other type is
listed under "not priced": never dropped, never a silent zero.
"""

from __future__ import annotations

from collections.abc import Callable

from tools.cost.resources import compute, database, edge, network, ops, storage
from tools.cost.template import CostLine, Ctx, Resource
from tools.templates import is_custom_resource

Pricer = Callable[[Ctx, str, Resource], list[CostLine]]

PRICERS: dict[str, Pricer] = {
    "AWS::EC2::NatGateway": network.nat_gateway,
    "AWS::EC2::EIP": network.elastic_ip,
    "AWS::EC2::VPCEndpoint": network.vpc_endpoint,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": network.load_balancer,
    "AWS::CloudFront::Distribution": edge.distribution,
    "AWS::WAFv2::WebACL": edge.web_acl,
    "AWS::Route53::RecordSet": edge.record_set,
    "AWS::Route53::RecordSetGroup": edge.record_set_group,
    "AWS::Route53::HostedZone": edge.hosted_zone,
    "AWS::Route53::HealthCheck": edge.health_check,
    "AWS::ServiceDiscovery::PrivateDnsNamespace": edge.private_dns_namespace,
    "AWS::ECS::Service": compute.ecs_service,
    "AWS::ECS::Cluster": compute.ecs_cluster,
    "AWS::Lambda::Function": compute.lambda_function,
    "AWS::ApplicationAutoScaling::ScalingPolicy": compute.scaling_policy,
    "AWS::ECR::Repository": compute.ecr_repository,
    "AWS::CodeBuild::Project": compute.codebuild_project,
    "AWS::CodePipeline::Pipeline": compute.codepipeline,
    "AWS::RDS::DBInstance": database.db_instance,
    "AWS::RDS::DBCluster": database.db_cluster,
    "AWS::ElastiCache::ReplicationGroup": database.replication_group,
    "AWS::ElastiCache::CacheCluster": database.cache_cluster,
    "AWS::DynamoDB::Table": database.dynamodb_table,
    "AWS::DynamoDB::GlobalTable": database.dynamodb_table,
    "AWS::S3::Bucket": storage.s3_bucket,
    "AWS::Backup::BackupVault": storage.backup_vault,
    "AWS::Backup::RestoreTestingSelection": storage.restore_testing_selection,
    "AWS::SQS::Queue": storage.sqs_queue,
    "AWS::SNS::Topic": storage.sns_topic,
    "AWS::KMS::Key": ops.kms_key,
    "AWS::KMS::ReplicaKey": ops.kms_key,
    "AWS::SecretsManager::Secret": ops.secret,
    "AWS::CloudWatch::Alarm": ops.alarm,
    "AWS::CloudWatch::CompositeAlarm": ops.composite_alarm,
    "AWS::CloudWatch::Dashboard": ops.dashboard,
    "AWS::Logs::LogGroup": ops.log_group,
    "AWS::Logs::MetricFilter": ops.metric_filter,
    "AWS::GuardDuty::Detector": ops.guardduty_detector,
    "AWS::Config::ConfigurationRecorder": ops.config_recorder,
    "AWS::Config::ConfigRule": ops.config_rule,
    "AWS::SecurityHub::Hub": ops.security_hub,
    "AWS::CloudTrail::Trail": ops.trail,
    "AWS::Scheduler::Schedule": ops.scheduler_schedule,
    "AWS::Events::Rule": ops.events_rule,
    "AWS::SSM::Parameter": ops.ssm_parameter,
}

_NETWORK = "VPC plumbing is free"
_PART_OF = "no charge of its own: billed through the resource it configures"

FREE: dict[str, str] = {
    **dict.fromkeys(
        (
            "AWS::IAM::Role",
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
            "AWS::IAM::InstanceProfile",
            "AWS::IAM::User",
            "AWS::IAM::Group",
            "AWS::IAM::OIDCProvider",
        ),
        "IAM is free",
    ),
    **dict.fromkeys(
        (
            "AWS::EC2::VPC",
            "AWS::EC2::Subnet",
            "AWS::EC2::RouteTable",
            "AWS::EC2::Route",
            "AWS::EC2::SubnetRouteTableAssociation",
            "AWS::EC2::InternetGateway",
            "AWS::EC2::EgressOnlyInternetGateway",
            "AWS::EC2::VPCGatewayAttachment",
            "AWS::EC2::VPCCidrBlock",
            "AWS::EC2::NetworkAcl",
            "AWS::EC2::NetworkAclEntry",
            "AWS::EC2::SubnetNetworkAclAssociation",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::SecurityGroupIngress",
            "AWS::EC2::SecurityGroupEgress",
            "AWS::EC2::PrefixList",
        ),
        _NETWORK,
    ),
    **dict.fromkeys(
        (
            "AWS::KMS::Alias",
            "AWS::S3::BucketPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy",
            "AWS::SecretsManager::ResourcePolicy",
            "AWS::SecretsManager::SecretTargetAttachment",
            "AWS::Lambda::Permission",
            "AWS::Lambda::Version",
            "AWS::Lambda::Alias",
            "AWS::Lambda::Url",
            "AWS::Lambda::EventInvokeConfig",
            "AWS::Logs::ResourcePolicy",
            "AWS::Logs::QueryDefinition",
            "AWS::ECS::ClusterCapacityProviderAssociations",
            "AWS::ElasticLoadBalancingV2::Listener",
            "AWS::ElasticLoadBalancingV2::ListenerRule",
            "AWS::ElasticLoadBalancingV2::ListenerCertificate",
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            "AWS::ElastiCache::SubnetGroup",
            "AWS::ElastiCache::ParameterGroup",
            "AWS::RDS::DBSubnetGroup",
            "AWS::RDS::DBParameterGroup",
            "AWS::RDS::DBClusterParameterGroup",
            "AWS::RDS::OptionGroup",
            "AWS::CloudFront::OriginAccessControl",
            "AWS::CloudFront::CloudFrontOriginAccessIdentity",
            "AWS::CloudFront::ResponseHeadersPolicy",
            "AWS::CloudFront::CachePolicy",
            "AWS::CloudFront::OriginRequestPolicy",
            "AWS::WAFv2::WebACLAssociation",
            "AWS::Config::DeliveryChannel",
            "AWS::Scheduler::ScheduleGroup",
            "AWS::CodeStarConnections::Connection",
            "AWS::CodePipeline::Webhook",
        ),
        _PART_OF,
    ),
    "AWS::EC2::FlowLog": "billed as log ingestion of its destination log group",
    "AWS::WAFv2::LoggingConfiguration": "billed as log ingestion of its destination",
    "AWS::SNS::Subscription": "deliveries are billed with the topic's publishes",
    "AWS::Lambda::EventSourceMapping": "polling is billed as requests of its queue",
    "AWS::ECS::TaskDefinition": "billed through the services and tasks that run it",
    "AWS::ApplicationAutoScaling::ScalableTarget": "applied to the service it scales",
    "AWS::SecretsManager::RotationSchedule": "its hosted function runs a few times a month",
    "AWS::Backup::BackupPlan": "storage is priced on the backup vault",
    "AWS::Backup::BackupSelection": "storage is priced on the backup vault",
    "AWS::Backup::RestoreTestingPlan": "its restore test jobs are priced on its selections",
    "AWS::Events::EventBus": (
        "a custom bus has no charge of its own: published events are usage (priced on the "
        "rules that match them)"
    ),
    "AWS::SecurityHub::Standard": "its checks are priced on the hub",
    "AWS::CertificateManager::Certificate": "public ACM certificates are free",
    "AWS::Budgets::Budget": "two budgets an account are free; $0.02/day each after (not applied)",
    "AWS::ServiceDiscovery::HttpNamespace": "Cloud Map with ECS Service Connect is free",
    "AWS::ServiceDiscovery::Service": "Cloud Map with ECS Service Connect is free",
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::CloudFormation::WaitConditionHandle": "CloudFormation bookkeeping",
    "AWS::CloudFormation::WaitCondition": "CloudFormation bookkeeping",
}

CUSTOM_RESOURCE_REASON = "custom resource: runs at deploy time (its function is priced as such)"


def free_reason(resource_type: str) -> str | None:
    if is_custom_resource(resource_type):
        return CUSTOM_RESOURCE_REASON
    return FREE.get(resource_type)
