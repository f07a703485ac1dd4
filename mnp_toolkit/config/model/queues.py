"""Job queues (:class:`JobQueueConfig`: compute environments, timeouts, the watchdog) and their fair-share
scheduling policy (:class:`FairShareConfig`, :class:`ShareConfig`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from mnp_toolkit.config.model.base import Name, RetentionDays, _Model
from mnp_toolkit.core.limits import (
    MAX_QUEUE_COMPUTE_ENVIRONMENTS,
    MAX_STATE_TIME_LIMIT_SECONDS,
    MIN_STATE_TIME_LIMIT_SECONDS,
    SHARE_IDENTIFIER_PATTERN,
)


class ShareConfig(_Model):
    """The weight of one share identifier (or of every identifier with a prefix: ``team-*``)."""

    share_identifier: str = Field(
        pattern=SHARE_IDENTIFIER_PATTERN,
        description="Up to 255 letters, digits, '-' and '_', optionally ending in '*' (a prefix).",
    )
    weight_factor: float = Field(
        default=1.0,
        ge=0.0001,
        le=999.9999,
        description="Lower gets more: 0.125 gets 8 times the compute of 1 (0.0001 to 999.9999).",
    )


class FairShareConfig(_Model):
    """A fair-share scheduling policy for the queue (``AWS::Batch::SchedulingPolicy``). Every job submitted
    to such a queue needs a share identifier (``mnp submit --share-identifier``). A queue created without a
    policy cannot get one, and one created with a policy cannot lose it (API ``CreateJobQueue``): adding or
    removing `fair_share` on a deployed queue needs a new queue name."""

    share_decay_seconds: int = Field(
        default=0, ge=0, le=604_800, description="Time over which past use counts (0 to 604800 = one week)."
    )
    compute_reservation: int = Field(
        default=0, ge=0, le=99, description="Percent of vCPUs held back for share identifiers not yet active."
    )
    shares: list[ShareConfig] = Field(
        default_factory=list,
        max_length=500,
        description="Weights per identifier; identifiers not listed weigh 1.0.",
    )

    @field_validator("shares")
    @classmethod
    def _no_overlap(cls, shares: list[ShareConfig]) -> list[ShareConfig]:
        # "The list of share identifiers in a fair share policy can't overlap" (API ShareAttributes): a
        # prefix entry (`team*`) may not cover another entry.
        names = [share.share_identifier for share in shares]
        for index, name in enumerate(names):
            for other in names[index + 1 :]:
                if (
                    name == other
                    or (name.endswith("*") and other.startswith(name[:-1]))
                    or (other.endswith("*") and name.startswith(other[:-1]))
                ):
                    raise ValueError(
                        f"share identifiers {name!r} and {other!r} overlap, which AWS Batch refuses "
                        "(API ShareAttributes); make them distinct"
                    )
        return shares


class JobQueueConfig(_Model):
    """A job queue over 1-3 of the compute environments above."""

    name: Name
    compute_environments: list[Name] = Field(
        min_length=1, max_length=MAX_QUEUE_COMPUTE_ENVIRONMENTS, description="Names, in order."
    )
    priority: int = Field(default=1, ge=0, le=1000)
    runnable_timeout_minutes: int = Field(
        default=30,
        ge=MIN_STATE_TIME_LIMIT_SECONDS // 60,
        le=MAX_STATE_TIME_LIMIT_SECONDS // 60,
        description="Cancel a job stuck in RUNNABLE (unplaceable) after this long; Batch allows 10 min to 24 h.",
    )
    capacity_timeout_minutes: int | None = Field(
        default=None,
        ge=MIN_STATE_TIME_LIMIT_SECONDS // 60,
        le=MAX_STATE_TIME_LIMIT_SECONDS // 60,
        description="Also cancel a job that has waited this long in RUNNABLE for instance capacity "
        "(CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY). Default: wait, since large cluster-placement jobs often "
        "must; 10 min to 24 h.",
    )
    fair_share: FairShareConfig | None = Field(
        default=None, description="A fair-share scheduling policy (below); default: first in, first out."
    )
    watchdog: bool = Field(default=True, description="Terminate the whole job when a child node fails.")
    watchdog_reserved_concurrency: int | None = Field(
        default=2,
        ge=1,
        description="Concurrent executions reserved for (and capping) the watchdog function; null for none "
        "(accounts whose Lambda concurrency limit is below 100 + this cannot reserve any).",
    )
    watchdog_dead_letter_queue: bool = Field(
        default=True, description="An encrypted SQS queue for events the watchdog could not handle (kept 14 days)."
    )
    watchdog_log_retention_days: RetentionDays = Field(default=90, description="Retention of the watchdog's logs.")
