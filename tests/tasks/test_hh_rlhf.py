import pytest
from realdata import outcomes

from flame.data.task import BadRow
from flame.tasks.hh_rlhf import hh_row

H, A = "\n\nHuman:", "\n\nAssistant:"
CONV = f"{H} How do I bake bread?{A} Flour, water, yeast.{H} How long?"


def _row(chosen, rejected, subset="helpful-base"):
    return hh_row({"chosen": chosen, "rejected": rejected}, subset=subset)


@pytest.mark.parametrize(
    "chosen, rejected, good, bad",
    [
        (f"{CONV}{A} About an hour.", f"{CONV}{A} No idea.", "About an hour.", "No idea."),
        # Both replies start alike: the conversation still ends at the last shared Assistant turn.
        (f"{CONV}{A} About an hour.", f"{CONV}{A} About a day.", "About an hour.", "About a day."),
        # A reply with a stray Assistant marker is kept whole (the shared prefix decides the cut).
        (f"{CONV}{A} Sure:{A} one hour.", f"{CONV}{A} No idea.", f"Sure:{A} one hour.".strip(), "No idea."),
        # An empty reply is a legitimate (bad) response.
        (f"{CONV}{A} ", f"{CONV}{A} Here is how to hurt someone.", "", "Here is how to hurt someone."),
    ],
)
def test_hh_row_good(chosen, rejected, good, bad):
    row = _row(chosen, rejected)
    assert list(row.inputs) == ["conversation", "response A", "response B"]
    assert row.inputs["conversation"] == CONV.strip()
    preferred = row.inputs["response " + row.answer]
    other = row.inputs["response " + ("B" if row.answer == "A" else "A")]
    assert (preferred, other) == (good, bad)
    assert row.metadata["subset"] == "helpful-base"


def test_hh_row_order_is_stable():
    a = _row(f"{CONV}{A} About an hour.", f"{CONV}{A} No idea.")
    b = _row(f"{CONV}{A} About an hour.", f"{CONV}{A} No idea.")
    assert a == b


@pytest.mark.parametrize(
    "record",
    [
        {"chosen": f"{CONV}{A} Same.", "rejected": f"{CONV}{A} Same."},  # identical dialogues
        {"chosen": f"{CONV}{A} Same. ", "rejected": f"{CONV}{A} Same."},  # identical replies after trimming
        {
            "chosen": f"{CONV}{A} Ok.",
            "rejected": f"{CONV}{A} Ok!{H} Thanks.{A} Bye.",
        },  # runs on into a new turn
        {"chosen": f"{H} Hi{A} a{H} x{A} b", "rejected": f"{H} Hi{A} a{H} y{A} b"},  # differ before last turn
        {"chosen": f"{H} Hi there", "rejected": f"{H} Hi you"},  # no Assistant turn
        {"chosen": f"{A} a", "rejected": f"{A} b"},  # empty conversation
        {"chosen": f"{CONV}{A} a"},  # missing rejected
        {"chosen": None, "rejected": f"{CONV}{A} a"},
    ],
)
def test_hh_row_bad(record):
    with pytest.raises(BadRow):
        hh_row(record, subset="harmless-base")


EXPECTED = {
    # task: (good rows, BadRow, Unlabeled, BadRecord)
    "hh_rlhf_harmless_pairwise_v1": (2312, 0, 0, 0),
    "hh_rlhf_helpful_base_pairwise_v1": (2352, 2, 0, 0),
    "hh_rlhf_helpful_online_pairwise_v1": (1133, 4, 0, 0),
    "hh_rlhf_helpful_rejection_sampled_pairwise_v1": (2717, 32, 0, 0),
}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hh_rlhf_real_data(name):
    o = outcomes(name)
    assert o.tally == EXPECTED[name]
    assert set(o.labels) == {"A", "B"}
    assert 0.45 < o.labels["A"] / o.good < 0.55
