"""The token strip: [CLS] A [SEP] B [SEP] as coloured chips, and the same data as a table.

Every token is HTML-escaped here, so text a user typed can never become markup on the page.
"""

from __future__ import annotations

import html

import pandas as pd

from explorer.encoding import PairEncoding
from explorer.plots import ROLE_COLORS

_CHIP = (
    '<span class="nsp-chip" style="border-color:{color};background:{bg}" title="{title}">'
    '<span class="nsp-tok">{token}</span>'
    '<span class="nsp-meta">id {id} · seg {seg} · pos {pos}</span></span>'
)
_STYLE = """<style>
.nsp-strip{display:flex;flex-wrap:wrap;gap:6px;font-family:ui-monospace,Menlo,Consolas,monospace;}
.nsp-chip{display:inline-flex;flex-direction:column;align-items:center;border:2px solid;border-radius:8px;
 padding:3px 7px;min-width:34px;}
.nsp-tok{font-size:15px;font-weight:600;color:#111827;white-space:pre;}
.nsp-meta{font-size:10px;color:#4b5563;}
.nsp-cont{border-style:dashed;}
.nsp-cut{opacity:.45;text-decoration:line-through;}
</style>"""
_BACKGROUNDS = {"A": "#eff6ff", "B": "#fff7ed", "special": "#f3f4f6"}


def _chip(token: str, token_id: int | str, segment: int | str, position: int | str, role: str, extra: str = "") -> str:
    chip = _CHIP.format(
        color=ROLE_COLORS[role],
        bg=_BACKGROUNDS[role],
        title=html.escape(f"{role} token {token!r}", quote=True),
        token=html.escape(token),
        id=token_id,
        seg=segment,
        pos=position,
    )
    classes = "nsp-chip" + (" nsp-cont" if token.startswith("##") else "") + extra
    return chip.replace('class="nsp-chip"', f'class="{classes}"', 1)


def token_strip_html(encoding: PairEncoding) -> str:
    """HTML for the strip; dashed chips are WordPiece continuations (##)."""
    chips = [
        _chip(tok, tid, seg, pos, role)
        for tok, tid, seg, pos, role in zip(
            encoding.tokens, encoding.input_ids, encoding.token_type_ids, encoding.positions, encoding.roles
        )
    ]
    return f'{_STYLE}<div class="nsp-strip">{"".join(chips)}</div>'


def cut_tokens_html(tokens: list[str], role: str, limit: int = 60) -> str:
    """The tokens truncation removed, struck through; long tails are elided."""
    shown = tokens[:limit]
    chips = [_chip(t, "-", "-", "-", role, " nsp-cut") for t in shown]
    more = f"<span> … and {len(tokens) - limit} more</span>" if len(tokens) > limit else ""
    return f'{_STYLE}<div class="nsp-strip">{"".join(chips)}{more}</div>'


def token_table(encoding: PairEncoding) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "position": encoding.positions,
            "token": encoding.tokens,
            "token id": encoding.input_ids,
            "segment id": encoding.token_type_ids,
            "attention mask": encoding.attention_mask,
            "part": encoding.roles,
            "## continuation": encoding.is_continuation,
        }
    )
