#!/usr/bin/env bash
# Runs a stage's database migration between its data and compute stacks: the data stack has just
# registered the migration task revision with the release's image; the services roll after it.
# Called by the delivery pipeline's migration step with:
#   ROLE_ARN       the stage's pipeline-migrate role (trusts only this step's role)
#   STAGE_REGION   the stage's region
#   DATA_STACK     outputs MigrationTaskDefinitionArn
#   COMPUTE_STACK  outputs ClusterName
#   NETWORK_STACK  outputs PrivateSubnetIds, MigrationSecurityGroupId
# The task runs exactly as CloudFormation registered it: no new revision, no overrides.
# A stage whose compute stack was never deployed has no cluster yet: the step then succeeds.
set -euo pipefail

creds=$(aws sts assume-role --role-arn "$ROLE_ARN" --role-session-name "migrate-$(date +%s)" \
  --query Credentials --output json)
export AWS_ACCESS_KEY_ID=$(jq -r .AccessKeyId <<<"$creds")
export AWS_SECRET_ACCESS_KEY=$(jq -r .SecretAccessKey <<<"$creds")
export AWS_SESSION_TOKEN=$(jq -r .SessionToken <<<"$creds")
export AWS_DEFAULT_REGION="$STAGE_REGION"

output() {  # output STACK KEY
  aws cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

# Only "does not exist" means a first deployment; any other error (throttling, a missing
# permission) must fail the step, never skip the migration.
if ! described=$(aws cloudformation describe-stacks --stack-name "$COMPUTE_STACK" 2>&1 >/dev/null); then
  if grep -q "does not exist" <<<"$described"; then
    echo "$COMPUTE_STACK is not deployed yet: first deployment, nothing to migrate"
    exit 0
  fi
  echo "$described" >&2
  exit 1
fi
cluster=$(output "$COMPUTE_STACK" ClusterName)
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
