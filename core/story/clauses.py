"""Cuts story text into sentences and clauses, for English and Chinese punctuation."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … plus any closing quotes or brackets, before whitespace; 。！？
# end one even without a following space; a blank line ends one without punctuation.
_SENTENCE_END = re.compile(r"""[.!?…]+["'”’»)\]]*(?=\s|$)|[。！？]+["'”’」』）]*|\n\s*\n""")
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "sr.", "jr.", "vs.", "e.g.", "i.e.")
_CLAUSE_BREAK = re.compile(r"\s*[,;，；、]\s*")


def split_sentences(text: str) -> list[str]:
    """Sentences in order, trimmed and never empty.

    An abbreviation ("Mr.") or a following lowercase word ('"Who?" she asked') continues
    the sentence instead of ending it.
    """
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    pieces.append(text[start:])
    sentences: list[str] = []
    for piece in (" ".join(p.split()) for p in pieces):
        if not piece:
            continue
        last_word = sentences[-1].lower().split()[-1] if sentences else ""
        if sentences and (last_word in _ABBREVIATIONS or piece[0].islower()):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def split_clauses(sentence: str) -> list[str]:
    """The comma-separated clauses of a sentence (seed 000 [0256])."""
    return [clause for clause in _CLAUSE_BREAK.split(sentence.strip()) if clause]
