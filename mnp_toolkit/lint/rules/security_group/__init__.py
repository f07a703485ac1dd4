"""Rules that check ``AWS::EC2::SecurityGroup`` resources, one per module."""
