# newsbot in a container. See docs/deploy.md.
#
#   docker build -t newsbot .
#   docker run --rm -v newsbot-data:/data --env-file .env newsbot discord
#
# The image runs `newsbot`; the default command is `discord`. Give another command after the
# image name (index, ask "…", repl, watch, add URL, status, feedback).
FROM python:3.11-slim

# Build arguments:
#   TORCH_INDEX_URL  where the CPU build of torch comes from (PyPI's default torch pulls CUDA)
#   EXTRAS           optional extras of the package, e.g. "llm" for NEWSBOT_LLM=openai:… models
#   EXTRA_PACKAGES   more pip packages, e.g. "langchain-ollama" for NEWSBOT_LLM=ollama:…
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG EXTRAS=""
ARG EXTRA_PACKAGES=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# torch first, pinned to the version in pyproject.toml, from the CPU-only index. The next
# `pip install .` then finds it already satisfied and does not fetch a CUDA build.
RUN pip install torch==2.13.0 --index-url "${TORCH_INDEX_URL}"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY index ./index
COPY prompts ./prompts
RUN pip install ".${EXTRAS:+[${EXTRAS}]}" ${EXTRA_PACKAGES} \
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
