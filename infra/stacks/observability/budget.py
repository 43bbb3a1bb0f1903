"""Cost budgets per stage: monthly (actual 80 %, forecast 100 %) and, where the product asks for
it, daily, so a runaway cost shows the next day rather than at the end of the month."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam

if TYPE_CHECKING:
    from infra.stacks.observability import ObservabilityStack

Budget = budgets.CfnBudget


def build_budgets(stack: ObservabilityStack) -> None:
    obs = stack.cfg.observability
    # The warning tier: spending past the plan is something to act on this week.
    topic = stack.topics["warning"]
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["sns:Publish"],
            principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
            resources=[topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        )
    )
    subscribers = [
        Budget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn),
        *(
            Budget.SubscriberProperty(subscription_type="EMAIL", address=a)
            for a in obs.budget.emails
        ),
    ]
    # (construct id, name, time unit, amount in USD, notifications: (type, percent of the amount))
    plans: list[tuple[str, str, str, int, tuple[tuple[str, int], ...]]] = [
        (
            "Budget",
            "monthly",
            "MONTHLY",
            obs.budget.monthly_usd,
            (("ACTUAL", 80), ("FORECASTED", 100)),
        )
    ]
    if obs.budget.daily_usd is not None:
        plans.append(("DailyBudget", "daily", "DAILY", obs.budget.daily_usd, (("ACTUAL", 100),)))
    for construct_id, name, unit, amount, notifications in plans:
        Budget(
            stack,
            construct_id,
            budget=Budget.BudgetDataProperty(
                budget_name=stack.cfg.resource_name(name),
                budget_type="COST",
                time_unit=unit,
                budget_limit=Budget.SpendProperty(amount=amount, unit="USD"),
                # Activate the Stage cost-allocation tag once per account for per-stage figures.
                cost_filters={"TagKeyValue": [f"user:Stage${stack.cfg.name}"]},
            ),
            notifications_with_subscribers=[
                Budget.NotificationWithSubscribersProperty(
                    notification=Budget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, percent in notifications
            ],
        )
