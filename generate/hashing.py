"""Content hashes of model and adapter folders: what was loaded, not where it lay.

Only the files that define the model's answers are hashed (config, generation config and
weights; an adapter's config and weights), each streamed in 1 MiB chunks, so a copied or
renamed checkpoint keeps its hash and a retrained one in the same folder does not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sidebyside.foundation.errors import ModelLoadError

_CHUNK = 1 << 20
MODEL_FILES = ("config.json", "generation_config.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
ADAPTER_FILES = ("adapter_config.json",)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _folder_hash(folder: Path, names: tuple[str, ...], weights_prefix: str) -> str:
    files = [folder / n for n in names if (folder / n).is_file()]
    files += sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name.startswith(weights_prefix) and p.suffix in WEIGHT_SUFFIXES
    )
    if not any(p.suffix in WEIGHT_SUFFIXES for p in files):
        raise ModelLoadError(f"{folder}: no weights files ({', '.join(WEIGHT_SUFFIXES)}) in it")
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def model_hash(folder: str | Path) -> str:
    """sha256 over (name, sha256) of the config and weights files of a model folder."""
    return _folder_hash(Path(folder), MODEL_FILES, "")


def adapter_hash(folder: str | Path) -> str:
    """sha256 over (name, sha256) of a PEFT adapter's config and weights."""
    folder = Path(folder)
    if not (folder / "adapter_config.json").is_file():
        raise ModelLoadError(f"{folder}: not a PEFT adapter (no adapter_config.json)")
    return _folder_hash(folder, ADAPTER_FILES, "adapter_model")
