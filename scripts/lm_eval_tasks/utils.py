"""Document processing for the task YAMLs beside this file (lm-eval `!function utils.…`)."""
from lm_eval.tasks.hellaswag.utils import preprocess


def process_hellaswag_text(dataset):
    """llama.cpp's HellaSwag lines as JSONL {ctx, label, endings} -> lm-eval's processed fields.

    Line 1 of llama.cpp's layout is already "activity_label: ctx", so the query is lm-eval's
    `preprocess` of it; the choices are `preprocess` of each ending, as lm-eval's process_docs.
    """

    def _process(doc):
        return {
            "query": preprocess(doc["ctx"]),
            "choices": [preprocess(ending) for ending in doc["endings"]],
            "gold": int(doc["label"]),
        }

    return dataset.map(_process)
