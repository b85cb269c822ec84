"""Label noise in adjudicated gold: what a cross-validated model contradicts with confidence.

After adjudication, gold can still hold slips: a name tagged ``VILLE``, a date nobody tagged,
a common word tagged ``NOM``, a CIM-10 code the letter never supports. This module flags the
places where a model that never saw the document disagrees with its gold *with high
confidence*, so that a reviewer takes a second look (confident learning, simplified).

Method
------
Documents are split into K folds (grouped by document). A fast linear model is trained on
K-1 folds and predicts the held-out fold, so every document gets out-of-fold probabilities.

* Spans (:func:`span_noise`): a regex tokenizer keeps character offsets; each token gets the
  label of the gold span covering it, or ``O`` (no BIO prefix). Tokens are featurised (word,
  shape, affixes, case, line start, the two tokens on each side) with a ``FeatureHasher``,
  and a multinomial ``LogisticRegression`` (SAGA, a few epochs) is trained per fold. A gold
  span whose mean token probability puts another label at or above ``threshold`` is flagged
  ``relabel``, or ``spurious`` when that label is ``O``; a run of consecutive tokens outside
  every gold span that the model gives one entity label at or above ``threshold`` is flagged
  ``missed``.
* Document labels (:func:`label_noise`): TF-IDF (words, 1-2 grams found in at least two
  documents, sublinear tf) and one binary, class-balanced ``LogisticRegression`` per label,
  folds stratified on the label; a gold label whose out-of-fold probability is at most
  ``1 - threshold`` is flagged ``label_absent``, a label outside gold with probability at
  least ``threshold`` is flagged ``label_missing``.

On two CPU cores, :func:`span_noise` takes about 4 s on 400 synthetic documents (7,600 gold
spans) and 25 s on 3,000; :func:`label_noise` about 4 s on 900 letters.

Limits
------
A flag is a prompt to look again, not a verdict: a model trained on the same gold learns its
systematic errors and cannot flag them (only slips against the majority are found), and it is
weak on labels with few examples. The threshold is one fixed probability for every label
(confident learning proper uses a per-class threshold from the model's self-confidence; the
``cleanlab`` package implements it, but it is not a project dependency and the fixed rule is a
few lines). Gold spans of a label the training folds never saw are not flagged (the model has
no opinion), nor are document labels with fewer positives (or negatives) than folds. A
gold span too short shows as a ``missed`` run beside it; one too long is seldom flagged (the
mean over its tokens still favours its label). The token model sees a two-token window, so
long-range cues are lost; bags of n-grams do not read negation, so a code whose words also
appear negated elsewhere ("Pas de SAOS") is rarely found ``label_missing``. TF-IDF is
fitted on every document (it reads no label, so nothing leaks from the held-out fold's gold).
With fewer documents than folds, folds drop to the number of documents; one document alone
(or none) gives no flags.

Flags carry ``doc_id``, offsets, labels and a probability, never document text.
"""

from __future__ import annotations

from curation.quality.noise.common import (
    LABEL_KINDS,
    OUTSIDE,
    SPAN_KINDS,
    NoiseFlag,
    effective_folds,
)
from curation.quality.noise.labels import label_noise
from curation.quality.noise.report import noise_report
from curation.quality.noise.spans import span_noise
from curation.quality.noise.tokens import TOKEN, tokenize, word_shape

__all__ = [
    "LABEL_KINDS",
    "OUTSIDE",
    "SPAN_KINDS",
    "TOKEN",
    "NoiseFlag",
    "effective_folds",
    "label_noise",
    "noise_report",
    "span_noise",
    "tokenize",
    "word_shape",
]
