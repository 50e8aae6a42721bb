"""FLAMe as an encoder judge: a small bidirectional encoder (MiniLM-L6 by default) with scoring heads.

Why a second model family next to the causal LMs: on a 2-core CPU the training budget, not the recipe, is
the binding limit, and MiniLM-L6 (22M parameters, 6 layers) reads a token several times cheaper than
SmolLM2-135M, so the same minutes buy many more human judgments. It reads the same FLAMe text
(`flame.format.render_input`) and gives a probability for every label of every closed label space:

- pairwise examples are scored one response at a time (a Bradley-Terry reward head), so the judgment
  cannot depend on which response is shown first;
- every other closed label space (Yes/No, 1-5, three-way labels) is scored by matching the text's
  embedding with each label's embedding, so one head serves any label set.

It trains with ``flame train`` (``model.base: minilm``) and rates through ``run:RUN_DIR`` (``--rater minilm``:
fresh heads, untrained). The recipe and the raters reach it through `flame.families.judge`, its
`flame.families.ModelFamily`; this package imports neither.
"""
