"""Imported once by a server's training forkserver (explorer.training.worker.PRELOAD), never by the app itself.

What every training child would otherwise load at its start is loaded here once, and each child forks
with it in memory: the training modules (torch and transformers come with them) and the default corpus
(pure Python data, safe to fork). No model runs here: a forked child must not inherit thread pools that
computation would have started (OpenMP's, the tokenizers' Rust threads).
"""

from __future__ import annotations

import contextlib

from explorer.corpus import load_default_corpus
from explorer.training import checkpoints, loop, worker  # noqa: F401 - imported to be inherited by the children

# Any exception here would kill the forkserver, and with it every later run; a child that needs the corpus
# then loads it again and reports the problem to its page.
with contextlib.suppress(Exception):
    load_default_corpus()  # cached per process (functools.cache): the children find it loaded
