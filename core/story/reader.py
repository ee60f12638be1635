"""How story text is read: spaCy's parse when it is installed, else the comma and word rules."""

from __future__ import annotations

import functools
import logging

from core.edit.parsing import Parser, load_parser
from core.story.chat_text import mostly_latin
from core.story.clauses import split_clauses
from core.story.elements import noun_elements

log = logging.getLogger("inkwell.story")


class StoryReader:
    """A sentence's clauses and a clause's nouns, read one way for the whole story loop.

    The parser is English: text mostly in another script (Chinese) is read by the rules,
    which cut clauses at its commas as the seed does [0256].
    """

    def __init__(self, parser: Parser | None = None) -> None:
        self.parser = parser
        self.name = f"spaCy {parser.name}" if parser is not None else "comma and word rules"

    def clauses(self, text: str) -> list[str]:
        """The text's clauses; the text alone when it has fewer than two."""
        return split_clauses(text, self._parser_for(text))

    def nouns(self, text: str) -> list[str]:
        """What the text's pictures must show: its noun elements, or the text when none."""
        return noun_elements(text, self._parser_for(text)) or [text]

    def _parser_for(self, text: str) -> Parser | None:
        return self.parser if mostly_latin(text) else None


@functools.cache
def load_reader(model: str) -> StoryReader:
    """The named spaCy pipeline's reader; the rules (logged) when it is "" or missing.

    Loaded once per process (seconds): every story's planner shares it; parsing keeps no state.
    """
    parser = load_parser(model, "story clauses and nouns are read by the comma and word rules")
    if not model:
        log.info("story.parser is empty: clauses and nouns are read by the comma and word rules")
    return StoryReader(parser)
