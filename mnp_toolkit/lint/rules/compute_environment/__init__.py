"""Rules that check ``AWS::Batch::ComputeEnvironment`` resources, one per module."""
