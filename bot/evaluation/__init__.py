"""Evaluation: the RealTime QA news benchmark run through the real index and answer service.

``dataset`` reads folders of upstream ``YYYYMMDD_{qa,gold,gcs}.jsonl`` files into an
:class:`~bot.evaluation.dataset.EvalCorpus`; ``scoring`` holds answer matching,
multiple-choice selection and retrieval metrics; ``run`` is ``newsbot eval``; ``generation``
has the figures of generated answers; ``measure`` checks the citation verifier on corrupted
answers (``python -m bot.evaluation.measure``).
"""
