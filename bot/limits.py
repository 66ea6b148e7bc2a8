"""Every limit on what one input may be, in one place (the README's "Limits" lists them).

A limit that is hit is a one-line refusal naming it, never a crash. Terms are
measured *after* normalising (:func:`bot.engine.text.normalise`): one
character can become many (NFKC turns U+FDFA into 18, transliteration adds
more), and what the matcher holds is the normalised form. A term becomes a
key of the Aho-Corasick automaton, whose trie is as deep as its longest
key: pyahocorasick frees it recursively and crashes the process (SIGSEGV)
on a key of a few hundred thousand characters, so a key is kept far below.
"""

from __future__ import annotations

# --- watchlists ------------------------------------------------------------

MAX_TERM_CHARS = 200  # one entity alias, keyword or rule phrase, normalised
MAX_TERM_WORDS = 20  # words in one of them
MAX_RULE_CHARS = 5_000  # a rule, normalised
MAX_RULE_TERMS = 500  # words, phrases and @names in one rule
# nodes of a rule with its parts written out: a chain of parts each using the one
# before twice doubles at every step, and explain/render walk the written-out tree
MAX_RULE_NODES = 10_000
MAX_PARTS = 100  # named rule parts in one watchlist (each is parsed and checked)
MAX_WATCHLIST_TERMS = 100_000  # aliases + keywords + group terms in one watchlist (with the
# shared groups its rule uses), and terms in one lexicon

# --- matching ------------------------------------------------------------

MAX_MATCH_CHARS = 1_000_000  # default of an article's text matched (setting MAX_MATCH_CHARS)
SEARCH_TEXT_CHARS = 100_000  # characters of an article's text that full-text search reads
MAX_HITS_KEPT_PER_TERM = 50  # evidence kept per term; every occurrence still counts in the score

# --- input -----------------------------------------------------------------

MAX_URL_CHARS = 2_048  # a URL typed in chat, given to `scan` or declared as a source
MAX_INGEST_BODY = 5_000_000  # bytes of one POST /ingest body
MAX_INGEST_ARTICLES = 1_000  # articles in one POST /ingest body
# bytes of one Telegram webhook request (an update is a few KB; a long message with entities
# and a reply under 100 KB)
MAX_WEBHOOK_BODY = 1_000_000

# --- learning ----------------------------------------------------------------

SUGGEST_TEXT_CHARS = 3_000  # characters of each item (headline and text) suggestions read
SUGGEST_MAX_ITEMS = 2_000  # missed items, and items of "the rest", suggestions compare
SUGGEST_SHOWN = 5  # keyword suggestions offered at once

# --- delivery --------------------------------------------------------------

MAX_FOLD_ALERTS = 500  # alerts one flood digest lists (a longer backlog: the next one lists the rest)
MAX_FOLD_BUTTONS = 20  # Explain buttons under a flood digest (Slack: 25 elements per actions block)
MAX_SENDER_LANES = 200  # chats sent to at once by one sender
