"""Write tiny llama GGUF models with the ``gguf`` package, for tests that run llama.cpp for real.

The model is a real llama architecture (2 layers, 64 dims, a few hundred tokens, well under 1 MB,
written in milliseconds) with random weights. Two kinds:

- ``script=None``: every weight random; the model says random tokens (garbage, as an untrained
  model does) until the token limit.
- ``script="Some sentence [1]."``: still random attention and feed-forward weights, but their
  outputs are zeroed so the residual stream is the token embedding, and the embedding / output
  pair is arranged as a bigram chain. Whatever the prompt, greedy decoding then says exactly the
  script's words, one token per word, and stops with ``<|im_end|>``. That makes loading,
  the chat template, prompting, streaming and parsing testable with a known answer.

The tokenizer is SentencePiece-style: a few control tokens, the 256 byte-fallback tokens (any
prompt tokenizes to bytes) and one ``▁word`` token per script word. The GGUF carries a ChatML
chat template, so llama-cpp-python (in process and as ``python -m llama_cpp.server``) formats
chat messages itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_EMBD = 64
N_LAYERS = 2
N_HEAD = 4
N_FF = 128
N_CTX = 16384
CONTROL = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
EOS = CONTROL.index("<|im_end|>")
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def write_tiny_llama(path: Path, script: str | None = None, seed: int = 0) -> Path:
    """Write the model to ``path`` and return it (see the module docstring)."""
    import gguf

    rng = np.random.default_rng(seed)
    words = script.split() if script else []
    if len(set(words)) != len(words):
        raise ValueError("every word of a script must be distinct (one bigram each)")
    tokens = [*CONTROL, *(f"<0x{b:02X}>" for b in range(256)), *(f"▁{w}" for w in words)]
    types = [gguf.TokenType.CONTROL] * len(CONTROL) + [gguf.TokenType.BYTE] * 256
    types += [gguf.TokenType.NORMAL] * len(words)
    types[0] = gguf.TokenType.UNKNOWN
    first_word = len(CONTROL) + 256
    embed, output = _bigram_weights(rng, len(tokens), first_word, len(words), script is not None)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("newsbot-tiny-test-llama")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_vocab_size(len(tokens))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(EOS)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)

    writer.add_tensor("token_embd.weight", embed)
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    blocks_speak = script is None  # a scripted model's blocks add nothing to the residual stream
    for layer in range(N_LAYERS):
        for name, shape in _block_shapes().items():
            if name.endswith("norm"):
                data = np.ones(shape, dtype=np.float32)
            elif name in ("attn_output", "ffn_down") and not blocks_speak:
                data = np.zeros(shape, dtype=np.float32)
            else:
                data = rng.normal(0.0, 0.1, shape).astype(np.float32)
            writer.add_tensor(f"blk.{layer}.{name}.weight", data)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _block_shapes() -> dict[str, tuple[int, ...]]:
    # numpy shapes: gguf reverses them into ggml's (columns, rows)
    return {
        "attn_norm": (N_EMBD,),
        "attn_q": (N_EMBD, N_EMBD),
        "attn_k": (N_EMBD, N_EMBD),
        "attn_v": (N_EMBD, N_EMBD),
        "attn_output": (N_EMBD, N_EMBD),
        "ffn_norm": (N_EMBD,),
        "ffn_gate": (N_FF, N_EMBD),
        "ffn_up": (N_FF, N_EMBD),
        "ffn_down": (N_EMBD, N_FF),
    }


def _bigram_weights(
    rng: np.random.Generator, n_vocab: int, first_word: int, n_words: int, scripted: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Token embeddings and output matrix. Scripted: every non-word token (bytes, controls)
    shares one "start" vector whose best next token is the first word; each word's best next
    token is the following word, and the last word's is ``<|im_end|>``."""
    embed = rng.normal(0.0, 1.0, (n_vocab, N_EMBD)).astype(np.float32)
    output = rng.normal(0.0, 0.1, (n_vocab, N_EMBD)).astype(np.float32)
    if not scripted:
        return embed, output
    start = rng.normal(0.0, 1.0, N_EMBD).astype(np.float32)
    embed[:first_word] = start
    chain = [first_word + i for i in range(n_words)]
    previous = start
    for token in [*chain, EOS]:
        output[token] = previous * 4.0
        previous = embed[token] if token != EOS else previous
    _check_chain(embed, output, chain)
    return embed, output


def _check_chain(embed: np.ndarray, output: np.ndarray, chain: list[int]) -> None:
    """Greedy decoding of the bigram model, as llama.cpp computes it (RMS norm, then logits)."""

    def next_token(token: int) -> int:
        x = embed[token]
        x = x / np.sqrt(np.mean(x * x) + 1e-5)
        return int(np.argmax(output @ x))

    expected = [*chain, EOS]
    token = 260  # any byte token
    for want in expected:
        token = next_token(token)
        if token != want:
            raise RuntimeError("the random seed gave an ambiguous bigram chain; pick another seed")
