#!/usr/bin/env bash
# Runs a stage's database migration between its data and compute stacks: the data stack has just
# registered the migration task revision with the release's image; the services roll after it.
# Called by the delivery pipeline's migration step with:
#   ROLE_ARN       the stage's pipeline-migrate role (trusts only this step's role)
#   STAGE_REGION   the stage's region
#   DATA_STACK     outputs MigrationTaskDefinitionArn, MigrationClusterName
#   NETWORK_STACK  outputs PrivateSubnetIds, MigrationSecurityGroupId
# The task runs exactly as CloudFormation registered it: no new revision, no overrides, on the
# data stack's own cluster, so a stage's first deploy migrates before any service starts.
# Any failure (a missing output, a refused call, a non-zero exit) fails the step.
set -euo pipefail

creds=$(aws sts assume-role --role-arn "$ROLE_ARN" --role-session-name "migrate-$(date +%s)" \
  --query Credentials --output json)
export AWS_ACCESS_KEY_ID=$(jq -r .AccessKeyId <<<"$creds")
export AWS_SECRET_ACCESS_KEY=$(jq -r .SecretAccessKey <<<"$creds")
export AWS_SESSION_TOKEN=$(jq -r .SessionToken <<<"$creds")
export AWS_DEFAULT_REGION="$STAGE_REGION"

output() {  # output STACK KEY: the value, or a failure when the stack or the output is missing
  local value
  value=$(aws cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text)
  if [ -z "$value" ] || [ "$value" = "None" ]; then
    echo "$1 has no output $2" >&2
    return 1
  fi
  echo "$value"
}

cluster=$(output "$DATA_STACK" MigrationClusterName)
revision=$(output "$DATA_STACK" MigrationTaskDefinitionArn)
subnets=$(output "$NETWORK_STACK" PrivateSubnetIds)
group=$(output "$NETWORK_STACK" MigrationSecurityGroupId)

task=$(aws ecs run-task --cluster "$cluster" --task-definition "$revision" --launch-type FARGATE \
  --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$group],assignPublicIp=DISABLED}" \
  --query 'tasks[0].taskArn' --output text)
echo "migration task $task ($revision) on $cluster"
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" \
  --query "tasks[0].containers[?name=='migrate'].exitCode | [0]" --output text)
echo "migration exit code: $code"
[ "$code" = "0" ]
