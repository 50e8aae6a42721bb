import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.factcheck_bench import claim_row, response_row, revision_row

Q = "Who was the oldest justice in 1980?"
R = "William O. Douglas."


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"prompt": Q, "response": R, "response_label": False, "source": "factcheckgpt"}, "No"),
        ({"prompt": Q, "response": R, "response_label": True, "source": "factool-qa"}, "Yes"),
        ({"prompt": Q, "response": R, "response_label": "true", "source": "factool-qa"}, "Yes"),
        ({"prompt": Q, "response": R, "response_label": "NA", "source": "factcheckgpt"}, Unlabeled),
        ({"prompt": Q, "response": R, "response_label": True, "source": "halueval-dolly15k"}, "Yes"),
        ({"prompt": Q, "response": R, "response_label": False, "source": "felm-wk"}, "No"),
        ({"prompt": Q, "response": R, "response_label": "maybe", "source": "factcheckgpt"}, BadRow),
        ({"prompt": "", "response": R, "response_label": True, "source": "factcheckgpt"}, BadRow),
        ({"prompt": Q, "response": R, "source": "factcheckgpt"}, BadRow),
    ],
)
def test_response_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            response_row(record)
        return
    row = response_row(record)
    assert row.answer == expected
    assert row.inputs == {"prompt": Q, "response": R}


C = "Douglas was alive in 1980."


@pytest.mark.parametrize(
    "record, claim_answer, revision_answer",
    [
        (
            {"claim": C, "label": "false", "revised_claim": "Douglas died in 1980."},
            "No",
            "Douglas died in 1980.",
        ),
        ({"claim": C, "label": "true", "revised_claim": C}, "Yes", Unlabeled),
        ({"claim": C, "label": "not_enough_evidence", "revised_claim": C}, Unlabeled, Unlabeled),
        ({"claim": C, "label": "false", "revised_claim": C}, "No", Unlabeled),
        ({"claim": C, "label": "false", "revised_claim": ""}, "No", Unlabeled),
        ({"claim": C, "label": "wrong", "revised_claim": C}, BadRow, BadRow),
        ({"claim": "", "label": "true", "revised_claim": ""}, BadRow, BadRow),
    ],
)
def test_claim_rows(record, claim_answer, revision_answer):
    for fn, expected in ((claim_row, claim_answer), (revision_row, revision_answer)):
        if isinstance(expected, type):
            with pytest.raises(expected):
                fn(record)
        else:
            row = fn(record)
            assert row.answer == expected
            assert row.inputs == {"claim": C}


@pytest.mark.data
def test_factcheck_bench_real_data():
    o = outcomes("factcheck_bench_response_factuality_classification_v1")
    # The 4507 HaluEval and 184 FELM copies are kept (decontamination keeps one copy); 2 "NA" labels are
    # unlabeled and one row is malformed.
    assert o.counts == {"good": 4832, "bad": 1, "unlabeled": 2}
    assert o.labels == {"Yes": 3837, "No": 995}
    o = outcomes("factcheck_bench_claim_factuality_classification_v1")
    assert o.counts == {"good": 631, "unlabeled": 30}
    assert o.labels == {"Yes": 472, "No": 159}
    o = outcomes("factcheck_bench_claim_revision_generative_v1")
    assert o.counts == {"good": 153, "unlabeled": 508}
