"""boto3 operations tooling of the `mnp` command: `submit`, `status`, `preflight` and shared AWS plumbing."""
