"""Cluster-wide compute settings: operator access, tracing, load balancers, migrations, sleep."""

from __future__ import annotations

from pydantic import Field

from infra.config import aws
from infra.config.base import Model


class MigrationConfig(Model):
    """A one-off task with a service's image, run by the pipeline before services roll."""

    service: str | None = Field(default=None, examples=["api"])
    """Whose image runs the migration; default the first service that uses the database."""
    command: tuple[str, ...] = ("sh", "-c", "echo no migrations yet")


class SleepConfig(Model):
    """Non-prod that sleeps: outside the awake hours every service scales to zero and the
    database stops; both come back before work starts."""

    wake: str = Field(default="0 8 * * MON-FRI", examples=["0 9 * * MON-FRI"])
    """Five-field cron in the stage's time zone: services scale back up."""
    sleep: str = Field(default="0 20 * * MON-FRI", examples=["0 18 * * MON-FRI"])
    """Services scale to zero and the database stops."""
    stop_database: bool = True
    database_lead_minutes: int = Field(default=20, examples=[30])
    """The database starts this long before `wake` (starting takes minutes)."""
    database_wake: str | None = Field(default=None, examples=["40 7 * * MON-FRI"])
    """When the database starts, if not `wake` minus the lead (needed when the lead would
    cross midnight or `wake` names several minutes or hours)."""

    def database_wake_cron(self) -> str:
        if self.database_wake is not None:
            return self.database_wake
        minute, hour, *rest = self.wake.split()
        start = int(hour) * 60 + int(minute) - self.database_lead_minutes
        return " ".join([str(start % 60), str(start // 60), *rest])

    def problems(self) -> list[str]:
        problems = [
            f"{field}: {cron!r} is not a 5-field cron such as 0 8 * * MON-FRI"
            for field, cron in (
                ("wake", self.wake),
                ("sleep", self.sleep),
                ("database_wake", self.database_wake or "0 0 * * *"),
            )
            if not aws.APP_SCALING_CRON.match(cron)
        ]
        if problems or self.database_wake is not None or not self.stop_database:
            return problems
        if not 0 <= self.database_lead_minutes <= 120:  # noqa: PLR2004
            return [f"database_lead_minutes: {self.database_lead_minutes} must be 0-120"]
        minute, hour = self.wake.split()[:2]
        if not (minute.isdigit() and hour.isdigit()) or (
            int(hour) * 60 + int(minute) < self.database_lead_minutes
        ):
            problems.append(
                f"database_wake: cannot derive it from wake {self.wake!r} minus "
                f"{self.database_lead_minutes} minutes (several times, or before midnight); "
                'set it, e.g. database_wake = "40 7 * * MON-FRI"'
            )
        return problems


class ComputeConfig(Model):
    exec_enabled: bool = False
    """ECS Exec for operators through Session Manager (there is no SSH anywhere)."""
    xray_sidecar: bool = False
    """Run the X-Ray daemon beside every service task (apps send traces to 127.0.0.1:2000)."""
    xray_daemon_image: str = "public.ecr.aws/xray/aws-xray-daemon:3.3.4"
    idle_timeout_seconds: int = 120
    """ALB idle timeout: WebSockets ping well within it."""
    load_balancer_deletion_protection: bool = True
    ecr_keep_images: int = 30
    migration: MigrationConfig = MigrationConfig()
    cloudfront_prefix_list_id: str | None = None
    """Override of the region's CloudFront origin-facing prefix list (known regions built in)."""
    lambda_concurrency_quota: int = 1000
    """The account's Lambda concurrency in this region; reserved concurrency must leave
    100 unreserved, or the deploy fails."""

    def problems(self) -> list[str]:
        problems = []
        if not 1 <= self.idle_timeout_seconds <= aws.ALB_MAX_IDLE_TIMEOUT:
            problems.append(
                f"idle_timeout_seconds: {self.idle_timeout_seconds} must be "
                f"1-{aws.ALB_MAX_IDLE_TIMEOUT}"
            )
        if not 1 <= self.ecr_keep_images <= 10000:  # noqa: PLR2004
            problems.append(f"ecr_keep_images: {self.ecr_keep_images} must be 1-10000")
        return problems

    def prefix_list(self, region: str) -> str | None:
        return self.cloudfront_prefix_list_id or aws.CLOUDFRONT_PREFIX_LISTS.get(region)
