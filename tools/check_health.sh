#!/usr/bin/env bash
# Post-deploy validation: the stage's health URL must answer 200 (retried while CloudFront and
# the services settle); anything else fails the pipeline. HEALTH_URL comes from the CDN stack.
set -euo pipefail
for attempt in $(seq 1 20); do
  code=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 10 "$HEALTH_URL" || true)
  echo "attempt $attempt: $HEALTH_URL -> $code"
  [ "$code" = "200" ] && exit 0
  sleep 15
done
echo "health check failed: $HEALTH_URL never answered 200"
exit 1
