"""Stress probes as data: what each one does to a response, read from a small TOML file.

A probe file (``judge/probes/NAME.toml``, or any ``.toml`` path a researcher writes) has a
``description``, a ``kind`` and the kind's ``[params]``. The kinds are the transformations
this module knows; every one is seeded by the pair (``random.Random(f"{seed}|{probe}|
{pair}|{arm}")``), so a rerun shows the judge the same texts and its answers come from the
cache:

``pad``       append ``sentences`` (drawn without replacement, then again) until the text is
              at least ``ratio`` times the other response's length and ``min_chars`` longer
``markdown``  a heading from ``headings``, the first sentence in bold, the rest as bullets
``prepend``   one of ``texts``, then ``separator``, then the response
``append``    the response, ``separator``, one of ``texts``

>>> pad = load_probe("pad")
>>> out = apply(pad, "Short.", "A somewhat longer answer.", seed="0|pad|1|probe")
>>> out.startswith("Short. ") and len(out) >= 2 * len("A somewhat longer answer.") + 0
True
>>> out == apply(pad, "Short.", "A somewhat longer answer.", seed="0|pad|1|probe")
True
>>> print(apply(load_probe("markdown"), "Paris. It is big. Old too.", "", seed="s"))
## Key points
<BLANKLINE>
**Paris.**
<BLANKLINE>
- It is big.
- Old too.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidebyside.foundation.errors import InputError

PROBES_DIR = Path(__file__).resolve().parent / "probes"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Probe:
    name: str
    kind: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)
    #: The file it was read from (shown in errors and the report).
    path: str = ""


def _strings(probe: str, params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InputError(f"probe {probe!r}: [params] {key} must be a non-empty list of strings")
    return value


def _number(probe: str, params: dict[str, Any], key: str, default: float, low: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise InputError(f"probe {probe!r}: [params] {key} must be a number >= {low}")
    return float(value)


def _pad(p: Probe, text: str, other: str, rng: random.Random) -> str:
    sentences = _strings(p.name, p.params, "sentences")
    ratio = _number(p.name, p.params, "ratio", 2.0, 1.0)
    extra = _number(p.name, p.params, "min_chars", 200, 0)
    target = max(ratio * len(other), len(text) + extra)
    out, pool = text.rstrip(), []
    while len(out) < target:
        if not pool:
            pool = rng.sample(sentences, len(sentences))
        out += " " + pool.pop()
    return out


def _markdown(p: Probe, text: str, other: str, rng: random.Random) -> str:
    heading = rng.choice(_strings(p.name, p.params, "headings"))
    parts = [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
    if not parts:
        return f"{heading}\n\n{text}"
    head, rest = parts[0], parts[1:]
    body = f"**{head}**" + ("\n\n" + "\n".join(f"- {s}" for s in rest) if rest else "")
    return f"{heading}\n\n{body}"


def _prepend(p: Probe, text: str, other: str, rng: random.Random) -> str:
    sep = p.params.get("separator", "\n\n")
    return f"{rng.choice(_strings(p.name, p.params, 'texts'))}{sep}{text}"


def _append(p: Probe, text: str, other: str, rng: random.Random) -> str:
    sep = p.params.get("separator", "\n\n")
    return f"{text}{sep}{rng.choice(_strings(p.name, p.params, 'texts'))}"


#: The transformations a probe file can name; (probe, text, other response, rng) -> text.
KINDS: dict[str, Callable[[Probe, str, str, random.Random], str]] = {
    "pad": _pad,
    "markdown": _markdown,
    "prepend": _prepend,
    "append": _append,
}


def bundled() -> list[str]:
    """The probes shipped in judge/probes/."""
    return sorted(p.stem for p in PROBES_DIR.glob("*.toml"))


def load_probe(ref: str) -> Probe:
    """A bundled probe by name, or a ``.toml`` file of one; ``InputError`` saying what is
    wrong (an unknown name lists the known ones)."""
    ref = ref.strip()
    path = Path(ref).expanduser() if ref.endswith(".toml") else PROBES_DIR / f"{ref}.toml"
    if not ref.endswith(".toml") and not _NAME.match(ref):
        raise InputError(f"probe name {ref!r} is not a probe name; known: {', '.join(bundled())}")
    if not path.is_file():
        raise InputError(
            f"unknown probe {ref!r}; known: {', '.join(bundled())} (judge/probes/), or give "
            "the path of a .toml probe file"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML probe file: {exc}") from None
    name = path.stem
    kind = data.get("kind")
    if kind not in KINDS:
        raise InputError(f"{path}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise InputError(f"{path}: [params] must be a table")
    probe = Probe(name, kind, str(data.get("description", "")), params, str(path))
    apply(probe, "Check. The params.", "Other.", seed="check")  # bad params fail here
    return probe


def load_probes(refs: list[str] | str) -> list[Probe]:
    """``pad,markdown`` or a list: every probe loaded before anything is sent."""
    items = refs.split(",") if isinstance(refs, str) else list(refs)
    names = [r.strip() for r in items if r.strip()]
    if not names:
        raise InputError(f"give at least one probe, e.g. --probes {','.join(bundled())}")
    probes = [load_probe(n) for n in names]
    seen = [p.name for p in probes]
    dupes = sorted({n for n in seen if seen.count(n) > 1})
    if dupes:
        raise InputError(f"probe given twice: {', '.join(dupes)}")
    return probes


def apply(probe: Probe, text: str, other: str, *, seed: str) -> str:
    """``text`` transformed by ``probe`` (``other``: the response it is compared with)."""
    return KINDS[probe.kind](probe, text, other, random.Random(seed))
