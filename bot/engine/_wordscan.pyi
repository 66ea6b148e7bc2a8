"""Types of the compiled module (bot/_wordscan.c); see bot/wordscan.py."""

from collections.abc import Sequence

def hay(normalised: str, /) -> str: ...
def token_starts(normalised: str, /) -> bytes: ...

class TokenIndex:
    def __init__(
        self,
        aliases: Sequence[tuple[str, int, int]],
        words: Sequence[tuple[str, int, list[tuple[int, int, int]]]],
        starters: Sequence[tuple[str, int]] | None = None,
        prefixes: Sequence[str] | None = None,
        limit: int = 100000,
    ) -> None: ...
    def scan(
        self, hay: str, /
    ) -> tuple[
        list[tuple[int, str]],
        list[tuple[int, str, int]],
        str | None,
        bytes | None,
        bytes | None,
    ]: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...
