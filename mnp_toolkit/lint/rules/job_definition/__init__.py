"""Rules that check ``AWS::Batch::JobDefinition`` resources, one per module."""
