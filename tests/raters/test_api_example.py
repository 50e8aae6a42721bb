"""The embedding example proposed for the README, run verbatim (with the model-free ``length`` rater)."""

README_EXAMPLE = """
import flame

judge = flame.load_rater("length")  # "smollm2" (the default local model), "hf:DIR", "openai:MODEL@URL", ...
j = judge.compare("What is the capital of France?", "Paris is the capital of France.", "Rome.")
print(j.prediction, round(j.probs["A"], 3))  # A 1.0
s = judge.score("Explain rain.", "Water vapour condenses and falls.", scale=(1, 5))
print(s.prediction, s.expected_score)
c = judge.classify({"claim": "The sky is green."}, ["true", "false"], "Is the claim true?")
print(sorted(c.probs))
"""


def test_readme_example_runs(capsys):
    exec(compile(README_EXAMPLE, "README example", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "A 1.0" and out[2] == "['false', 'true']"
