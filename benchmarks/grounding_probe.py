"""How much the encoder judge's grounding features alone tell about human factual-consistency labels, on dev rows.

    .venv/bin/python benchmarks/grounding_probe.py        # seconds: no model

No training, no model: for each dev row, `flame.encoder.inputs.grounding` (the share of the claim's content
words, word pairs and names/numbers found in its source field: document, article, knowledge, ..., read whole). Printed: the AUC of each
feature for the task's first label ("Yes" = consistent; 0.5 = no signal, below 0.5 = the other way), and,
for comparison, the AUC the pretrained MiniLM's summary-document cosine had (field_similarity_probe.py). This
probe motivated the grounding features (EXPERIMENTS.md E8); it reads dev splits only.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FACTUAL = (
    "summedits_news_consistency_classification_v1",
    "summedits_podcast_consistency_classification_v1",
    "frank_consistency_classification_v1",
    "qags_cnndm_consistency_classification_v1",
    "qags_xsum_consistency_classification_v1",
    "q2_dialogue_consistency_consistency_classification_v1",
    "halueval_general_hallucination_classification_v1",  # no source field: features are zeros, AUC 0.50
)
FEATURES = ("words", "word pairs", "names/numbers")


def main() -> int:
    import numpy as np
    from scipy.stats import mannwhitneyu

    from flame.data.collection import load_examples
    from flame.encoder.inputs import grounding

    for task in FACTUAL:
        exs = load_examples(task, "dev", limit=200, seed=0)
        if not exs:
            print(f"{task:55s} no dev rows")
            continue
        feats = np.array([grounding(e.inputs) for e in exs])
        first = exs[0].labels[0]
        yes = np.array([e.answer == first for e in exs])
        if yes.all() or not yes.any():
            print(f"{task:55s} n={len(exs):3d}  one label only")
            continue
        aucs = [
            mannwhitneyu(feats[yes, k], feats[~yes, k]).statistic / (yes.sum() * (~yes).sum())
            for k in range(3)
        ]
        cells = "  ".join(f"{name} {auc:.2f}" for name, auc in zip(FEATURES, aucs, strict=True))
        print(f"{task:55s} n={len(exs):3d} P({first})={yes.mean():.2f}  AUC: {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
