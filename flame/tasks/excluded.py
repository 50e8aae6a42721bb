"""Datasets under the data root that are deliberately not registered as tasks, and why.

``EXCLUDED_DATASETS`` maps a data folder to the reason; ``flame tasks list`` shows it. A dataset belongs here
when the human judgment it carries cannot be made from the text that is in the folder: registering it would
teach a judge to guess labels whose evidence it never sees.
"""

EXCLUDED_DATASETS = {
    "tofueval": (
        "The sentence-level factual-consistency labels (summ_sent -> sent_label yes/no) judge a summary "
        "sentence against a MediaSum/MeetingBank transcript that is not included (doc_id only), so the evidence "
        "for the judgment is missing; the completeness files hold human key points of a topic but no human "
        "judgment of any summary (no coverage labels)."
    ),
    "refchecker_human": (
        "The claim-triplet labels (Entailment/Neutral/Contradiction) judge claims extracted from a response "
        "against the reference (NQ answer passage, MS MARCO or Dolly context) that is not included (ids only); "
        "judged against the response itself every claim would trivially be entailed, since it was extracted "
        "from it."
    ),
}
