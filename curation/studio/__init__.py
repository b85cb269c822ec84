"""Label Studio: server lifecycle, SDK client, converters, push/pull, simulated annotators."""
