"""AWS Batch limits and reserved names for multi-node parallel (MNP) jobs, each with its source.

One place for every number: a change to a limit is one edit here.
"""

from __future__ import annotations

from typing import Final

MNP_DOCS_URL: Final = "https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html"
NODE_GROUPS_DOCS_URL: Final = "https://docs.aws.amazon.com/batch/latest/userguide/mnp-node-groups.html"
MNP_CE_DOCS_URL: Final = "https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html"
NODE_RANGE_API_URL: Final = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeRangeProperty.html"
NODE_PROPERTIES_API_URL: Final = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeProperties.html"
NODE_OVERRIDES_API_URL: Final = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeOverrides.html"
RETRY_STRATEGY_API_URL: Final = "https://docs.aws.amazon.com/batch/latest/APIReference/API_RetryStrategy.html"
CONTAINER_PROPERTIES_API_URL: Final = (
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerProperties.html"
)

#: A job has at least one node (API ``NodeProperties.numNodes``).
MIN_NODES: Final = 1
#: "You can have up to 1,000 nodes in a single job. This is the default limit for instances in an Amazon ECS
#: cluster. You can request to increase this limit." (user guide, "Node groups"): a warning (MNP109), not an
#: error, since it can be raised.
DEFAULT_MAX_NODES: Final = 1000
#: "You can use AWS Batch to specify up to five distinct node groups for each job." (user guide, "Node groups")
MAX_NODE_RANGES: Final = 5
#: ``RetryStrategy.attempts``: "You can specify between 1 and 10 attempts." (API ``RetryStrategy``)
MIN_RETRY_ATTEMPTS: Final = 1
MAX_RETRY_ATTEMPTS: Final = 10
#: RetryStrategy ``evaluateOnExit``: "Array of up to 5 objects that specify the conditions where jobs are
#: retried or failed. If this parameter is specified, then the attempts parameter must also be specified."
#: (API reference, RetryStrategy). EvaluateOnExit ``action``: "Valid Values: RETRY | EXIT", "The values aren't
#: case sensitive"; every pattern "can contain up to 512 characters"; ``onExitCode`` "can contain only
#: numbers, and can end with an asterisk (*)" (API reference, EvaluateOnExit).
MAX_EVALUATE_ON_EXIT: Final = 5
MAX_EXIT_PATTERN_LENGTH: Final = 512
RETRY_ACTIONS: Final = ("RETRY", "EXIT")
EXIT_CODE_PATTERN: Final = r"[0-9]*\*?"
#: ``ResourceRequirement`` MEMORY: "you must specify at least 4 MiB of memory for a job" (API
#: ``ResourceRequirement``); VCPU: "you must specify at least one vCPU" for EC2 resources.
MIN_MEMORY_MIB: Final = 4
MIN_VCPUS: Final = 1
#: Batch on EKS takes CPU in steps of 0.25, the smallest being 0.25 ("Memory and vCPU considerations for AWS
#: Batch on Amazon EKS").
MIN_EKS_VCPUS: Final = 0.25
#: ``JobTimeout.attemptDurationSeconds``: "The minimum value for the timeout is 60 seconds." (API ``JobTimeout``)
MIN_TIMEOUT_SECONDS: Final = 60
#: The Batch docs give no maximum for ``attemptDurationSeconds``; its API type is ``Integer``, which AWS APIs
#: define as a 32-bit signed integer (Smithy ``integer``), so 2,147,483,647 seconds (68 years) is the most a
#: request can carry.
MAX_TIMEOUT_SECONDS: Final = 2**31 - 1
#: "Your compute environment might have no more than five security groups associated with it." (user guide,
#: mnp-ce)
MAX_SECURITY_GROUPS: Final = 5
#: A job queue has at most three compute environments (API ``CreateJobQueue.computeEnvironmentOrder``).
MAX_QUEUE_COMPUTE_ENVIRONMENTS: Final = 3
#: The largest job definition Batch registers (Batch service quotas: "Maximum job definition size", 24 KiB).
MAX_JOB_DEFINITION_BYTES: Final = 24 * 1024
#: ``JobStateTimeLimitAction.maxTimeSeconds``: 600 to 86,400 seconds (API ``JobStateTimeLimitAction``).
MIN_STATE_TIME_LIMIT_SECONDS: Final = 600
MAX_STATE_TIME_LIMIT_SECONDS: Final = 86_400
#: SubmitJob ``shareIdentifier`` / ShareAttributes ``shareIdentifier``: "limited to 255 alphanumeric characters,
#: and can be followed by an asterisk (*)"; the API reference's own example (``UserA-1``) has a hyphen, so
#: '-' and '_' are allowed too. SubmitJob: "If the job queue has a fair-share scheduling policy, then this
#: parameter must be specified" (and must not be on other queues).
SHARE_IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9_-]{1,255}[*]?$"
#: SubmitJob ``jobName``: "It can be up to 128 characters long. It can contain uppercase and lowercase
#: letters, numbers, hyphens (-), and underscores (_), and must start with an alphanumeric character."
JOB_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
#: SubmitJob ``schedulingPriorityOverride``: "The minimum supported value is 0 and the maximum supported value
#: is 9999" (fair-share queues only).
MIN_SCHEDULING_PRIORITY: Final = 0
MAX_SCHEDULING_PRIORITY: Final = 9999
#: Environment variables "cannot start with AWS_BATCH; this naming convention is reserved for variables that
#: AWS Batch sets" (API ``ContainerProperties.environment``).
RESERVED_ENVIRONMENT_PREFIX: Final = "AWS_BATCH"

#: Host devices of an Elastic Fabric Adapter (``/dev/infiniband/uverbs0``...), per the Batch EFA guide.
EFA_DEVICE_PREFIX: Final = "/dev/infiniband/"
#: The Kubernetes extended resource an EKS pod requests EFA devices with.
EKS_EFA_RESOURCE: Final = "vpc.amazonaws.com/efa"

#: Resource metadata that marks a job queue as one that runs MNP jobs (the toolkit's own convention).
MNP_QUEUE_METADATA_KEY: Final = "mnp:queue"
#: The tag the constructs put on MNP queues, for ``mnp audit`` of a live account.
MNP_QUEUE_TAG: Final = "mnp:queue"

#: DescribeJobs takes "a list of up to 100 job IDs" (API ``DescribeJobs.jobs``).
MAX_DESCRIBE_JOBS: Final = 100
#: ``TerminateJob``/``CancelJob`` ``reason``: "up to 1024 characters" (API reference).
MAX_STOP_REASON_LENGTH: Final = 1024
#: How long ECS waits between SIGTERM and SIGKILL when a task is stopped (the ECS agent's default
#: ``ECS_CONTAINER_STOP_TIMEOUT``, 30 s): the grace a stopped node gets.
NODE_STOP_GRACE_SECONDS: Final = 30.0
