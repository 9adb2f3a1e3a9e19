"""Small display helpers shared by pages (no data access here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from safeguard.auth import AccessDenied


@contextmanager
def denied_guard() -> Iterator[None]:
    """Show a refusal from the access layer as a message, not a stack trace."""
    try:
        yield
    except AccessDenied as exc:
        st.error(f"Not available to your role: {exc.message}")


def term_chart(title: str, frame: pd.DataFrame, dimension: str,
               measure: str | None = None) -> None:
    """A grouped bar chart of one figure per term; suppressed values are left out of
    the bars and said so underneath (never drawn as zero)."""
    st.markdown(f"**{title}**")
    if frame.empty:
        st.caption("Nothing recorded.")
        return
    rows = frame if measure is None else frame[frame["measure"] == measure]
    if rows.empty:
        st.caption("Nothing recorded.")
        return
    shown = rows.dropna(subset=["value"])
    if not shown.empty:
        st.bar_chart(shown, x=dimension, y="value", color="term", stack=False)
    hidden = rows[rows["suppressed"]]
    if not hidden.empty:
        st.caption(f"{len(hidden)} figure(s) under 5 not shown: "
                   + ", ".join(sorted({f"{r.term} {getattr(r, dimension)}"
                                       for r in hidden.itertuples()}))[:300])
