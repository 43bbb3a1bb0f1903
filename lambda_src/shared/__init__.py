"""Code every function shares, copied into each Python function's asset as `shared/` next to its
handler (constructs_lib/function.py), so a handler imports it from the asset root, as the Lambda
runtime does: `from shared import http`. Standard library and the runtime's boto3 only.

- `env`: required environment variables, NotConfiguredError;
- `logs`: one JSON object per log line, with fields;
- `http`: HTTPS calls with timeouts, retries with backoff and no redirects (plain HTTP: loopback);
- `secrets`: Secrets Manager values read when needed, cached for a while, blank counting as unset;
- `metrics`: CloudWatch Embedded Metric Format lines;
- `idempotency`: exactly-once processing with claims in DynamoDB;
- `ai`: the AI provider, its key from a secret and every attempt measured;
- `db`: database drivers over TLS, logins from a secret, one cached connection.
"""
