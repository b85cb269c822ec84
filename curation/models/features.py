"""Text features shared by the document classifiers (CIM-10 codes, treatment response)."""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion


def tfidf_union(
    word_ngrams: tuple[int, int],
    char_ngrams: tuple[int, int] | None,
    min_df: int,
    max_features: int | None,
) -> FeatureUnion:
    """Word n-grams ("pas de diabète" is not "diabète"), and character n-grams within words
    when ``char_ngrams`` is set (robust to typos, OCR and inflections), both sublinear TF-IDF.
    """
    common = {"min_df": min_df, "max_features": max_features, "sublinear_tf": True}
    parts: list[tuple[str, TfidfVectorizer]] = [
        ("words", TfidfVectorizer(ngram_range=word_ngrams, **common))
    ]
    if char_ngrams is not None:
        parts.append(
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, **common))
        )
    return FeatureUnion(parts)
