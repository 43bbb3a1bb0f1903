#!/usr/bin/env bash
# Runs a stage's database migration with the image about to be deployed, before its services
# roll. Called by the delivery pipeline's pre-deploy step with:
#   ROLE_ARN       role in the stage account that may run the migration task
#   STAGE_REGION   the stage's region
#   COMPUTE_STACK  compute stack name (outputs ClusterName, MigrationTaskDefinitionArn)
#   NETWORK_STACK  network stack name (outputs PrivateSubnetIds, ApiSecurityGroupId)
#   IMAGE          image the migration container must run
# A stage that was never deployed has no database to migrate: the step then succeeds.
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

if ! aws cloudformation describe-stacks --stack-name "$COMPUTE_STACK" >/dev/null 2>&1; then
  echo "$COMPUTE_STACK is not deployed yet: first deployment, nothing to migrate"
  exit 0
fi
cluster=$(output "$COMPUTE_STACK" ClusterName)
current=$(output "$COMPUTE_STACK" MigrationTaskDefinitionArn)
subnets=$(output "$NETWORK_STACK" PrivateSubnetIds)
group=$(output "$NETWORK_STACK" ApiSecurityGroupId)

# Same task definition, new image: register it as the next revision of the family.
aws ecs describe-task-definition --task-definition "$current" --query taskDefinition --output json \
  | jq --arg image "$IMAGE" '
      .containerDefinitions |= map(if .name == "migrate" then .image = $image else . end)
      | {family, taskRoleArn, executionRoleArn, networkMode, containerDefinitions, volumes,
         requiresCompatibilities, cpu, memory}' > /tmp/migrate-task.json
revision=$(aws ecs register-task-definition --cli-input-json file:///tmp/migrate-task.json \
  --query taskDefinition.taskDefinitionArn --output text)

task=$(aws ecs run-task --cluster "$cluster" --task-definition "$revision" --launch-type FARGATE \
  --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$group],assignPublicIp=DISABLED}" \
  --query 'tasks[0].taskArn' --output text)
echo "migration task $task ($IMAGE) on $cluster"
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" \
  --query "tasks[0].containers[?name=='migrate'].exitCode | [0]" --output text)
echo "migration exit code: $code"
[ "$code" = "0" ]
