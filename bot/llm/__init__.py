"""Language models behind the answerer: the model factory, the llama.cpp chat model, the prompts,
the generated-answer chain, the citation verifier, and the answerer that generates, verifies and
falls back to the extractive answer.

Nothing here imports LangChain or llama.cpp at import time; they load when a model is built.
"""
