"""Quality gates: Great Expectations suites, inter-annotator agreement, adjudication into gold."""
