"""Evaluation helpers: load the RealTime QA news benchmark and score answers.

``dataset`` reads folders of upstream ``YYYYMMDD_{qa,gold,gcs}.jsonl`` files into an
:class:`~bot.evaluation.dataset.EvalCorpus`; ``scoring`` holds answer matching,
multiple-choice selection and retrieval metrics.
"""
