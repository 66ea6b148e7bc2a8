"""Answers in chat, without the chat: periods, queries, full-text search, digests, charts.

Everything here works on plain data and the store; ``handlers/commands/answers.py``
turns what it returns into replies. Times are aware UTC datetimes; a chat's
time zone only decides where a day or a week begins.
"""
