"""The pure engine: text in, alerts out. No database, no network, no chat platform.

``analyse`` is the entry point that ``scan``, ``eval`` and the stored pipeline
share; ``text``, ``rules``, ``watchlist``, ``matcher`` (with ``wordscan`` and
its compiled twin ``_wordscan``), ``summarize``, ``stories`` (the MinHash
index) and ``evaluation`` are its parts. Nothing here imports
``bot.runtime``, ``bot.store`` or ``bot.answers``.
"""
