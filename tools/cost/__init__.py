"""Monthly cost estimate of a synthesized CDK cloud assembly, priced by CloudFormation type.

Run `python -m tools.cost cdk.out`. Prices live in prices/<region>.json (list prices to verify
before use), usage defaults in assumptions.json; see README.md beside this file.
"""
