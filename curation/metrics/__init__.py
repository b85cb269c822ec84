"""Scorers shared by the pipeline and by evaluators: span, classification and generation metrics.

Every scorer reads the one record format of answer keys, predictions and gold
(:class:`curation.schema.Record`), so an evaluator scores a predictions file exactly as the
pipeline scores its pre-annotations.
"""
