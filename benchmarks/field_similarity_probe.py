"""How much the pretrained MiniLM's field-to-field cosine alone tells about human labels, on dev rows.

    .venv/bin/python benchmarks/field_similarity_probe.py        # ~1 minute on 2 cores

No training: each field is embedded alone (mean pooling, 256 tokens). For pairs, the response whose embedding
is closer to the prompt's is predicted better (accuracy over dev pairs without ties, beside the "longer
answer wins" rule on the same pairs). For factual-consistency tasks, the AUC of the summary-document cosine
for the "consistent" label (0.5 = no signal; below 0.5 = the other way). This probe motivated the encoder
judge's field-similarity features (EXPERIMENTS.md E6); it reads dev splits only.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAIRWISE = (
    "hh_rlhf_helpful_base_pairwise_v1",
    "wqrm_writing_quality_preference_pairwise_v1",
    "tulu1_human_eval_preference_pairwise_v1",
    "fgrlhf_qa_feedback_preference_pairwise_v1",
)
FACTUAL = (
    "summedits_news_consistency_classification_v1",
    "frank_consistency_classification_v1",
    "qags_cnndm_consistency_classification_v1",
)


def main() -> int:
    import numpy as np
    import torch
    from scipy.stats import mannwhitneyu
    from transformers import AutoModel, AutoTokenizer

    from flame.data.collection import load_examples
    from flame.encoder.model import mean_pool, minilm_dir

    folder = minilm_dir()
    tok, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()

    def embed(texts: list[str]) -> torch.Tensor:
        out = []
        for i in range(0, len(texts), 16):
            batch = tok(texts[i : i + 16], padding=True, truncation=True, max_length=256, return_tensors="pt")
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            out.append(torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1))
        return torch.cat(out)

    for task in FACTUAL:
        exs = load_examples(task, "dev", limit=80, seed=0)
        first, last = list(exs[0].inputs)[0], list(exs[0].inputs)[-1]
        cos = (embed([e.inputs[first] for e in exs]) * embed([e.inputs[last] for e in exs])).sum(-1).numpy()
        yes = np.array([e.answer == "Yes" for e in exs])
        auc = mannwhitneyu(cos[yes], cos[~yes]).statistic / (yes.sum() * (~yes).sum())
        print(f"{task:55s} n={len(exs):3d}  AUC(cosine → consistent) {auc:.3f}")
    for task in PAIRWISE:
        exs = [e for e in load_examples(task, "dev", limit=80, seed=0) if e.answer in ("A", "B")]
        keys = [k for k in exs[0].inputs if not k.startswith("response")]
        prompt = embed([" ".join(e.inputs[k] for k in keys)[-1000:] for e in exs])
        a, b = embed([e.inputs["response A"] for e in exs]), embed([e.inputs["response B"] for e in exs])
        closer_a = ((prompt * a).sum(-1) > (prompt * b).sum(-1)).numpy()
        longer_a = np.array([len(e.inputs["response A"]) > len(e.inputs["response B"]) for e in exs])
        gold_a = np.array([e.answer == "A" for e in exs])
        print(
            f"{task:55s} n={len(exs):3d}  closer-to-prompt accuracy {(closer_a == gold_a).mean():.3f}"
            f"  longer-answer accuracy {(longer_a == gold_a).mean():.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
