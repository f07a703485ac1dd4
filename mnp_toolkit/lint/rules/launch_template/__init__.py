"""Rules that check ``AWS::EC2::LaunchTemplate`` resources, one per module."""
