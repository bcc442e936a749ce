"""The pair modes, one module each; importing them registers them, in the order the menus list them."""

from explorer.sampling.modes import bert, sentences, sop  # noqa: F401  (registers the modes)
