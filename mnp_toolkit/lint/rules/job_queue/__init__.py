"""Rules that check ``AWS::Batch::JobQueue`` resources, one per module."""
