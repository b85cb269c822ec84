"""Pre-annotators: rules, trainable token classifiers and the policy that merges them."""
