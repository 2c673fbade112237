"""The answering core: the answer service, the extractive answerer and its answers, follow-ups,
dates in questions, and disagreeing sources. Front ends call :mod:`bot.answering.service`."""
