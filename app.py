#!/usr/bin/env python3
"""CDK entry point: every stage of the platform (`cdk deploy "Prod/*"` deploys one)."""

import os

from aws_cdk import App

from infra.platform import build_platform

app = App()
build_platform(app, os.environ)
app.synth()
