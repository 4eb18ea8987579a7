"""Exports of a conversation study keep the conversation.

- ratings: ``turn`` and each side's own conversation as OpenAI chat messages,
  ``messages_a`` / ``messages_b`` (system message, earlier turns with that system's own
  answers, the judged user turn and the system's answer to it);
- DPO: TRL's *conversational* preference format: ``prompt`` is a list of messages (the
  history and the judged user turn), ``chosen`` and ``rejected`` one assistant message each.
  The two systems answered the earlier turns differently; the prompt holds the **chosen**
  system's own history (the conversation in which the preferred answer was given), so a
  chosen row is exactly a conversation that happened.

A study without conversations exports exactly as before (these functions return None).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlmodel import Session

from sidebyside.foundation.conversation import PairHistory, pair_histories


def _messages(history: PairHistory | None, side: str, user: str) -> list[dict[str, str]]:
    if history is None:
        return [{"role": "user", "content": user}]
    return history.messages(side, user)


def rating_conversations(
    session: Session,
    study_id: int,
    pair_ids: pd.Series,
    read_texts: Callable[[], pd.DataFrame],
) -> pd.DataFrame | None:
    """Columns ``turn, messages_a, messages_b`` for the ratings export, aligned with
    ``pair_ids``; ``read_texts`` gives a frame indexed by pair id with ``prompt, output_a,
    output_b`` (read only for a study with conversations)."""
    histories = pair_histories(session, study_id=study_id)
    if not histories:
        return None
    texts = read_texts()
    rows = []
    for pair_id in pair_ids:
        history, text = histories.get(pair_id), texts.loc[pair_id]
        rows.append(
            {
                "turn": history.turn if history else None,
                "messages_a": _messages(history, "a", text["prompt"])
                + [{"role": "assistant", "content": text["output_a"]}],
                "messages_b": _messages(history, "b", text["prompt"])
                + [{"role": "assistant", "content": text["output_b"]}],
            }
        )
    return pd.DataFrame(rows, index=pair_ids.index)


def conversational_dpo(
    session: Session, study_id: int, winners: pd.Series, texts: pd.DataFrame
) -> pd.DataFrame | None:
    """TRL conversational DPO rows (``prompt`` messages, ``chosen`` / ``rejected`` assistant
    messages) for ``winners`` ({pair id: "a" | "b"}); None for a study without conversations."""
    histories = pair_histories(session, study_id=study_id)
    if not histories:
        return None
    rows = []
    for pair_id, side in winners.items():
        text = texts.loc[pair_id]
        loser = "b" if side == "a" else "a"
        rows.append(
            {
                "prompt": _messages(histories.get(pair_id), side, text["prompt"]),
                "chosen": [{"role": "assistant", "content": text[f"output_{side}"]}],
                "rejected": [{"role": "assistant", "content": text[f"output_{loser}"]}],
            }
        )
    return pd.DataFrame(rows, columns=["prompt", "chosen", "rejected"])
