"""Clinical text curation platform: French hospital text to versioned gold benchmarks."""

import os

# Nothing in this package may try the network (closed hospital networks, offline CI):
# switch off every analytics or update check of the stack before any of it is imported.
for _key, _value in {
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_key, _value)

__version__ = "0.1.0"
