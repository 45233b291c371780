"""Expected token ids from HuggingFace, for libs/tokenizer's exactness tests.

Builds the tokenizer the way /work/shared/models/README.md describes (transformers' Qwen2 fast
tokenizer from vocab.json + merges.txt with unk/bos/eos/pad unset, then the added tokens of
added_tokens.json in id order, as special tokens), saves it as tokenizer.json, and encodes texts:

  python hf_reference.py --bpe DIR --texts IN.json --out OUT.json [--save DIR]

IN.json:  {"texts": ["...", ...]}
OUT.json: {"versions": {...}, "ids": [[...], ...],    # transformers, no special tokens added
           "ids_tokenizer_json": [[...], ...],         # tokenizers.Tokenizer.from_file(saved)
           "decoded": ["...", ...]}                    # transformers' decode of ids
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer


def build(bpe_dir):
    # Only vocab.json + merges.txt: transformers reads added_tokens.json as {token: id}, while the
    # shared file is {id: token}.
    tmp = tempfile.mkdtemp(prefix="medtune-tok-")
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(bpe_dir, name), tmp)
    tok = transformers.Qwen2TokenizerFast.from_pretrained(tmp, unk_token=None, bos_token=None, eos_token=None, pad_token=None)
    shutil.rmtree(tmp)
    with open(os.path.join(bpe_dir, "added_tokens.json"), encoding="utf-8") as f:
        added = sorted(((int(k), v) for k, v in json.load(f).items()))
    tok.add_tokens([AddedToken(v, special=True, normalized=False) for _, v in added], special_tokens=True)
    for i, v in added:
        got = tok.convert_tokens_to_ids(v)
        if got != i:
            sys.exit("added token %r got id %r, expected %d" % (v, got, i))
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bpe", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save", help="directory to save the rebuilt tokenizer (tokenizer.json) into")
    args = ap.parse_args()

    tok = build(args.bpe)
    save = args.save or tempfile.mkdtemp(prefix="medtune-tokjson-")
    tok.save_pretrained(save)
    raw = Tokenizer.from_file(os.path.join(save, "tokenizer.json"))

    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    ids = tok(texts, add_special_tokens=False)["input_ids"] if texts else []
    out = {
        "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
        "ids": ids,
        "ids_tokenizer_json": [e.ids for e in raw.encode_batch(texts, add_special_tokens=False)],
        "decoded": [tok.decode(i) for i in ids],
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
