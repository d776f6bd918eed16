"""Messages for people: an engine's or the OS's words made into one line of bounded length.

Parsers list every expected token over many lines, the OS and the engines wrap theirs; an error
shown to a client or written to the log keeps the start, on one line, and says where it was cut.
"""

from __future__ import annotations

MESSAGE_CHARS = 240


def one_line(message: object, limit: int = MESSAGE_CHARS) -> str:
    """``message`` (a text, an exception) on one line, whitespace runs made one space, cut to
    ``limit`` characters with an ellipsis where it was cut."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
