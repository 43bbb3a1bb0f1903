#!/usr/bin/env python3
"""CDK entry point: every stage of the selected profile (`cdk deploy "Prod/*"` deploys one).

Bad configuration prints its problems, one per line, and exits 2; an unacknowledged compliance
finding anywhere (inside a Stage too) exits 1 after synthesis, so no deploy can skip the gate.
"""

import os
import sys

from aws_cdk import App

from infra.compliance.gate import findings
from infra.config import ConfigError
from infra.platform import build_platform

app = App()
try:
    build_platform(app, os.environ)
except ConfigError as err:
    print("Invalid configuration:", *(f"  {problem}" for problem in err.problems), sep="\n")
    sys.exit(2)
try:
    app.synth()
except RuntimeError as err:  # jsii raises ValidationFailed where it reports the findings
    # Fail closed: anything else (CDK's ValidationFailedWithErrors from the construct tree, say,
    # raised before any report is written) propagates unless the report shows the findings.
    if "ValidationFailed" not in str(err) or not findings(app.outdir):
        raise
problems = findings(app.outdir)
if problems:
    print("Unacknowledged compliance findings (fix them, or acknowledge them with a true reason")
    print("in infra/compliance/acks/):", *(f"  {line}" for line in problems), sep="\n")
    sys.exit(1)
