"""Generation throughput: the transformers engine against the textbook loop, and the openai
engine against the concurrency floor of an OpenAI-compatible loopback server.

Same process, same random-weight GPT-2 and prompts for both transformers methods:

* ours     -- generate.engines.hf.TransformersEngine (prompts sorted by length, left-padded
              batches of --batch-size, greedy, stop at EOS);
* textbook -- one prompt at a time: ``model.generate(tokenizer(prompt), max_new_tokens=...)``.

Both decode greedily for exactly --max-new-tokens tokens (the model's EOS is an id the random
model never picks in practice); printed: generated tokens/s of each, the ratio, and the share
of prompts whose batched answer equals the one-at-a-time answer token for token.

The openai part runs the whole ``run_plans`` path (a committed SQLite row per answer) against
``tests/judge_server.py`` in its own process at a fixed latency; the floor is
requests x latency / concurrency, the best any client could do.

    python bench/generation.py                     # CPU, both parts
    python bench/generation.py --device cuda --shape 1b --n-prompts 512 --batch-size 64
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHAPES = {  # GPT-2 family, random weights
    "tiny": dict(n_layer=2, n_embd=128, n_head=4, vocab_size=8192),
    "small": dict(n_layer=6, n_embd=384, n_head=6, vocab_size=50257),
    "1b": dict(n_layer=18, n_embd=2048, n_head=16, vocab_size=50257),
}


def build_model(folder: Path, shape: str, n_positions: int) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    dims = SHAPES[shape]
    vocab = {f"w{i}": i for i in range(dims["vocab_size"] - 1)}
    vocab["<|endoftext|>"] = dims["vocab_size"] - 1
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    eos = dims["vocab_size"] - 1
    config = GPT2Config(n_positions=n_positions, bos_token_id=eos, eos_token_id=eos, **dims)
    GPT2LMHeadModel(config).eval().save_pretrained(folder)
    return folder


def make_prompts(n: int, vocab: int, seed: int) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.uniform(np.log(4), np.log(48), n)).astype(int)
    return [" ".join(f"w{t}" for t in rng.integers(0, vocab - 1, k)) for k in lengths]


def bench_transformers(args: argparse.Namespace) -> None:
    import torch
    from transformers import AutoTokenizer

    from sidebyside.generate.engines.base import Request
    from sidebyside.generate.engines.hf import TransformersEngine
    from sidebyside.generate.params import DecodingParams
    from sidebyside.generate.prompts import build_messages
    from sidebyside.generate.specs import ModelSpec

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_model(Path(tmp) / "m", args.shape, 48 + args.max_new_tokens + 8)
        prompts = make_prompts(args.n_prompts, SHAPES[args.shape]["vocab_size"], args.seed)
        params = DecodingParams(max_new_tokens=args.max_new_tokens, chat_template=False)
        spec = ModelSpec("m", "transformers", str(folder))
        engine = TransformersEngine(
            spec, params, device=args.device, dtype=args.dtype, batch_size=args.batch_size
        )
        requests = [Request(str(i), str(i), build_messages(p)) for i, p in enumerate(prompts)]
        engine.generate(requests[: args.batch_size], lambda r: None)  # warm-up
        ours: dict[str, str] = {}
        tokens = 0
        started = time.perf_counter()

        def keep(result) -> None:
            nonlocal tokens
            ours[result.key] = result.text
            tokens += result.tokens_out or 0

        engine.generate(requests, keep)
        t_ours = time.perf_counter() - started

        # The textbook loop on the very same weights, device and dtype.
        tok = AutoTokenizer.from_pretrained(folder)
        model = engine._load()  # noqa: SLF001 - the very same weights
        n_text = min(len(prompts), args.textbook_prompts)
        textbook: dict[str, str] = {}
        textbook_tokens = 0
        started = time.perf_counter()
        with torch.inference_mode():
            for i, prompt in enumerate(prompts[:n_text]):
                ids = tok(prompt, return_tensors="pt").to(engine.device)
                out = model.generate(
                    **ids,
                    max_new_tokens=args.max_new_tokens,
                    do_sample=False,
                    pad_token_id=tok.eos_token_id,
                )
                new = out[0, ids["input_ids"].shape[1] :]
                textbook_tokens += len(new)
                textbook[str(i)] = tok.decode(new, skip_special_tokens=True)
        t_text = time.perf_counter() - started
    same = sum(ours[k] == v for k, v in textbook.items()) / max(len(textbook), 1)
    ours_rate, text_rate = tokens / t_ours, textbook_tokens / t_text
    print(
        f"transformers ({args.shape}, {args.device}, {args.n_prompts} prompts, "
        f"{args.max_new_tokens} new tokens, batch {args.batch_size})"
    )
    print(f"  ours (batched)   {ours_rate:10.1f} tok/s  ({tokens} tokens in {t_ours:.2f} s)")
    print(
        f"  textbook loop    {text_rate:10.1f} tok/s  ({textbook_tokens} tokens in "
        f"{t_text:.2f} s, first {n_text} prompts)"
    )
    print(f"  speed-up         {ours_rate / text_rate:10.2f}x   (goal >= 4x on CPU)")
    print(f"  same answers     {same:10.0%}   (batched vs one at a time, greedy)")


def bare_sdk(url: str, n: int, concurrency: int) -> float:
    """The same requests through the async SDK with one semaphore and nothing else (no cache
    keys, no database): what the machine and the SDK allow."""
    import asyncio

    import openai

    async def run() -> None:
        client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                await client.chat.completions.create(
                    model="bench",
                    messages=[{"role": "user", "content": f"Question {i}?"}],
                    max_tokens=64,
                )

        await asyncio.gather(*(one(i) for i in range(n)))
        await client.close()

    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


def bench_openai(args: argparse.Namespace) -> None:
    from sqlmodel import Session

    from sidebyside.foundation.db import get_engine, init_db
    from sidebyside.foundation.models import Study
    from sidebyside.generate.engines import make_engine
    from sidebyside.generate.params import DecodingParams
    from sidebyside.generate.prompts import PromptItem, build_messages
    from sidebyside.generate.runner import plan_models, run_plans
    from sidebyside.generate.specs import parse_model_spec

    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "judge_server.py"), "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        port = int(proc.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            db = init_db(get_engine(f"sqlite:///{tmp}/bench.db"))
            n = args.n_requests
            items = [
                PromptItem(f"p{i}", f"Question {i}?", build_messages(f"Question {i}?"))
                for i in range(n)
            ]
            params = DecodingParams(max_new_tokens=64)
            spec = parse_model_spec(f"m=openai:bench@http://127.0.0.1:{port}/v1")
            with Session(db, expire_on_commit=False) as session:
                study = Study(name="bench", rubric={"criteria": []})
                session.add(study)
                session.commit()
                plans = plan_models(
                    session,
                    study=study,
                    specs=[spec],
                    items=items,
                    params=params,
                    make_engine=lambda s: make_engine(s, params, concurrency=args.concurrency),
                )
                session.commit()
            started = time.perf_counter()
            report = run_plans(db, study_id=study.id, plans=plans)
            seconds = time.perf_counter() - started
            db.dispose()
        t_bare = bare_sdk(f"http://127.0.0.1:{port}/v1", n, args.concurrency)
    finally:
        proc.kill()
        proc.wait()
    floor = n * args.latency / args.concurrency
    print(
        f"openai engine ({n} requests, {args.latency * 1000:.0f} ms latency, "
        f"{args.concurrency} in flight, a committed row each)"
    )
    print(f"  run_plans        {seconds:8.2f} s  ({report.generated['m']} stored)")
    print(f"  bare async SDK   {t_bare:8.2f} s  (same requests, nothing else)")
    print(f"  floor            {floor:8.2f} s  (requests x latency / concurrency)")
    print(f"  run / bare SDK   {seconds / t_bare:8.2f}")
    print(f"  run / floor      {seconds / floor:8.2f}   (goal <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "transformers", "openai"), default="all")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--n-prompts", type=int, default=64)
    parser.add_argument("--textbook-prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-requests", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    if args.part in ("all", "transformers"):
        bench_transformers(args)
    if args.part in ("all", "openai"):
        bench_openai(args)


if __name__ == "__main__":
    main()
