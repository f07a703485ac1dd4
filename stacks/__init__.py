"""CDK stacks composing the toolkit's constructs from a typed config."""
