"""The transformers engine: a local (or cached hub) causal LM, optionally with a PEFT LoRA
adapter, batched generation with left padding, batches sorted by prompt length.

torch, transformers and peft are imported inside methods: importing this module is cheap.
Models are loaded here rather than through ``foundation.hf``'s per-process cache because a
PEFT adapter is injected into its base model in place: a cached base shared with another
system would silently become the adapted model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sidebyside.foundation.adapters import load_fresh
from sidebyside.foundation.errors import ConfigError, InputError, ModelLoadError
from sidebyside.foundation.hf import model_source, resolve_device, resolve_dtype
from sidebyside.generate.engines.base import Description, Request, Result
from sidebyside.generate.hashing import adapter_hash, model_hash
from sidebyside.generate.params import DecodingParams, sha256_text
from sidebyside.generate.prompts import Message
from sidebyside.generate.specs import ModelSpec


def library_versions(*names: str) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _local_folder(source: str) -> Path | None:
    """The folder a source's files are in: the path itself, or a hub id's cached snapshot."""
    path = Path(source)
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached: transformers downloads it on load
        return None


class TransformersEngine:
    """One model (and adapter) on one device; ``batch_size`` "auto" is 8 on a CPU, 32 on a
    GPU. Greedy decoding at temperature 0, else sampling with ``top_p``, seeded per batch."""

    def __init__(
        self,
        spec: ModelSpec,
        params: DecodingParams,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int | str = "auto",
        **_: object,
    ) -> None:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            raise ConfigError(
                "the transformers engine needs torch and transformers: "
                "pip install 'sidebyside[local]'"
            ) from None
        self.spec, self.params = spec, params
        self.device = resolve_device(device)
        self.torch_dtype = resolve_dtype(dtype, self.device)
        self.batch_size = (
            (32 if self.device.startswith("cuda") else 8) if batch_size == "auto" else batch_size
        )
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InputError(f"--batch-size {batch_size!r}: use auto or a positive number")
        try:
            self.source = model_source(spec.source)
        except ModelLoadError as exc:
            raise ModelLoadError(f"model {spec.name!r}: {exc}") from None
        self._tokenizer: Any = None
        self._model: Any = None

    # --- what is loaded

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            try:
                tok = AutoTokenizer.from_pretrained(self.source)
            except (OSError, ValueError) as exc:
                raise ModelLoadError(
                    f"model {self.spec.name!r} ({self.spec.source}): cannot load its tokenizer: "
                    f"{_first_line(exc)}"
                ) from exc
            tok.padding_side = "left"  # decoder-only batches: every prompt ends at the edge
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            if self.params.chat_template and not tok.chat_template:
                raise InputError(
                    f"model {self.spec.name!r} ({self.spec.source}) has no chat template: pass "
                    "--no-chat-template to prompt it with plain text (a base model), or give "
                    "it a tokenizer with a chat template"
                )
            self._tokenizer = tok
        return self._tokenizer

    def describe(self) -> Description:
        folder = _local_folder(self.source)
        adapter = self.spec.adapter
        if adapter is not None and not Path(adapter).is_dir():
            raise ModelLoadError(f"model {self.spec.name!r}: no such adapter folder {adapter}")
        tok = self.tokenizer
        template = tok.chat_template if self.params.chat_template else None
        return Description(
            model_hash=model_hash(folder) if folder is not None else None,
            adapter_hash=adapter_hash(adapter) if adapter else None,
            template_hash=sha256_text(template) if isinstance(template, str) else None,
            versions=library_versions("transformers", "torch", "tokenizers", "peft"),
            settings={"dtype": str(self.torch_dtype).removeprefix("torch."), "device": self.device},
        )

    def _load(self) -> Any:
        if self._model is None:
            label = f"model {self.spec.name!r} ({self.spec.source})"
            self._model, _ = load_fresh(
                self.source,
                adapter=self.spec.adapter,
                device=self.device,
                torch_dtype=self.torch_dtype,
                label=label,
            )
        return self._model

    def close(self) -> None:
        self._model = None

    # --- prompts

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt text: the chat template with the assistant's turn opened, or (plain
        text) the messages' contents separated by blank lines."""
        if self.params.chat_template:
            return self.tokenizer.apply_chat_template(
                [dict(m) for m in messages], add_generation_prompt=True, tokenize=False
            )
        return "\n\n".join(m["content"] for m in messages)

    def _encode(self, messages: Sequence[Message]) -> list[int]:
        # A chat template writes its own special tokens (BOS...); plain text gets the
        # tokenizer's usual ones.
        return self.tokenizer(
            self.render(messages), add_special_tokens=not self.params.chat_template
        )["input_ids"]

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._encode(messages))

    def _context(self, model: Any) -> int | None:
        config = model.config
        for name in ("max_position_embeddings", "n_positions"):
            value = getattr(config, name, None)
            if isinstance(value, int):
                return value
        return None

    # --- generation

    def generate(self, requests: Sequence[Request], on_result: Callable[[Result], None]) -> None:
        if not requests:
            return
        model = self._load()
        encoded = [(r, self._encode(r.messages)) for r in requests]
        limit = self._context(model)
        if limit is not None:
            too_long = [
                r.prompt_id for r, ids in encoded if len(ids) + self.params.max_new_tokens > limit
            ]
            if too_long:
                raise InputError(
                    f"model {self.spec.name!r}: prompt(s) {', '.join(too_long[:10])} plus "
                    f"--max-new-tokens {self.params.max_new_tokens} exceed its context of "
                    f"{limit} tokens; lower --max-new-tokens or shorten them"
                )
        # Sorted by length: a batch pads to its longest prompt, so similar lengths pad least.
        encoded.sort(key=lambda item: len(item[1]))
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start : start + self.batch_size]
            for result in self._batch(model, batch):
                on_result(result)

    def _generation_config(self) -> Any:
        from transformers import GenerationConfig

        tok, p = self.tokenizer, self.params
        eos = tok.eos_token_id
        kwargs: dict[str, Any] = {
            "max_new_tokens": p.max_new_tokens,
            "do_sample": not p.greedy,
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": eos,
        }
        if not p.greedy:
            kwargs.update(temperature=p.temperature, top_p=p.top_p, top_k=0)
        if p.stop:
            kwargs["stop_strings"] = list(p.stop)
        return GenerationConfig(**kwargs)

    def _batch(self, model: Any, batch: list[tuple[Request, list[int]]]) -> list[Result]:
        import torch

        tok = self.tokenizer
        padded = tok.pad({"input_ids": [ids for _, ids in batch]}, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in padded.items()}
        torch.manual_seed(self.params.seed)
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                **inputs,
                generation_config=self._generation_config(),
                tokenizer=tok if self.params.stop else None,
            )
        seconds = time.perf_counter() - started
        new = out[:, inputs["input_ids"].shape[1] :].tolist()
        ends = {tok.eos_token_id, tok.pad_token_id} - {None}
        results = []
        for (request, ids), tokens in zip(batch, new, strict=True):
            n = next((i for i, t in enumerate(tokens) if t in ends), len(tokens))
            text = tok.decode(tokens[:n], skip_special_tokens=True)
            finish = "eos" if n < len(tokens) else "length"
            text, stopped = cut_at_stop(text, self.params.stop)
            if stopped:
                finish = "stop"
            results.append(
                Result(
                    key=request.key,
                    prompt_id=request.prompt_id,
                    text=text.replace("\x00", ""),
                    tokens_in=len(ids),
                    tokens_out=n,
                    latency_s=seconds,
                    finish_reason=finish,
                )
            )
        return results


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """The text before the first stop string (which is not kept), and whether one was found.

    >>> cut_at_stop("a\\nQ: b", ["Q:", "\\n\\n"])
    ('a\\n', True)
    """
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)
