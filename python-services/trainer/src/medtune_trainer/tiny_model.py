"""Builds a tiny Qwen2ForCausalLM with the seed model's real tokenizer, for tests and demos.

No model hub is reachable, so the tokenizer is rebuilt from the Qwen2.5 BPE files in
../shared/models/deepseek-r1-distill-qwen/bpe (see the README there): vocab.json + merges.txt as a
Qwen2 tokenizer with no unk/bos/eos/pad (else a default "<|endoftext|>" takes id 151643), then the
22 added tokens in id order as special tokens. The saved tokenizer then behaves like
DeepSeek-R1-Distill-Qwen's: BOS "<｜begin▁of▁sentence｜>" prepended, EOS and pad
"<｜end▁of▁sentence｜>" (id 151643).
"""

from __future__ import annotations

import json
from pathlib import Path

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"


def build_tokenizer(bpe_dir: Path):
    """The seed model's tokenizer (151,665 tokens) rebuilt from the BPE files in bpe_dir."""
    from tokenizers import AddedToken
    from tokenizers.processors import TemplateProcessing
    from transformers import Qwen2Tokenizer

    vocab = json.loads((bpe_dir / "vocab.json").read_text(encoding="utf-8"))
    merges = [
        tuple(line.split(" "))
        for line in (bpe_dir / "merges.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#version")
    ]
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, eos_token=None, pad_token=None)
    added = json.loads((bpe_dir / "added_tokens.json").read_text(encoding="utf-8"))
    for token_id, content in sorted(added.items(), key=lambda kv: int(kv[0])):
        tok.add_special_tokens(
            {"additional_special_tokens": [AddedToken(content, normalized=False, special=True)]},
            replace_extra_special_tokens=False,
        )
        got = tok.convert_tokens_to_ids(content)
        if got != int(token_id):
            raise ValueError(f"added token {content!r} got id {got}, expected {token_id}")
    tok.bos_token = BOS
    tok.eos_token = EOS
    tok.pad_token = EOS
    bos_id = tok.convert_tokens_to_ids(BOS)
    # Like the published tokenizer (add_bos_token: true): BOS before every encoded text.
    tok.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return tok


def build_tiny_model(out: Path, shared_models: Path, layers: int = 2, hidden: int = 64, seed: int = 0, output_scale: float = 1.0) -> Path:
    """Writes a randomly initialised tiny Qwen2ForCausalLM (vocab 152064, as the real configs), the
    family's generation_config.json (sampling, temperature 0.6, top_p 0.95: what the seed's
    generate() uses) and the rebuilt tokenizer to out; returns out.

    output_scale multiplies the random lm_head. LoRA leaves lm_head and the norms frozen, so with
    the default init (std 0.02) no hidden state can push a logit far above the other 152k: the loss
    cannot fall much below ln(vocab). The demo's model uses 4 (with hidden 128) so that a LoRA can
    learn; tests keep 1."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    family = shared_models / "deepseek-r1-distill-qwen"
    real = json.loads((family / "14B" / "config.json").read_text())
    tok = build_tokenizer(family / "bpe")
    config = Qwen2Config(
        vocab_size=real["vocab_size"],
        hidden_size=hidden,
        intermediate_size=hidden * 3,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_theta=real.get("rope_theta", 1000000.0),
        rms_norm_eps=real.get("rms_norm_eps", 1e-5),
        tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    if output_scale != 1.0:
        with torch.no_grad():
            model.lm_head.weight.mul_(output_scale)
    model.generation_config = GenerationConfig.from_pretrained(family / "14B")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
