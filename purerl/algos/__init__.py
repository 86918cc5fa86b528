"""Algorithms, one module per family, each with ``Config``, ``init``, ``update`` and ``train``."""
