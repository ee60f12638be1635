"""Cuts story text into sentences, and sentences into clauses: by parse, or at commas."""

from __future__ import annotations

import re

from core.edit.parsing import Parse, Parser, Word, subtree

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


def split_clauses(sentence: str, parser: Parser | None = None) -> list[str]:
    """A sentence's clauses in order; the sentence alone when it has fewer than two.

    With a parser, a clause is a verb with its own subject, or one that shares the subject
    of the verb it is coordinated with ("He leapt and spun": "He leapt", "He spun"); the
    shared subject is written into each clause, so none loses its character. Appositives
    ("the baker's son, Tom,") and fragments without a verb ("a grey sky") stay inside the
    clause they belong to. Without a parser: the comma rule (seed 000 [0256]), which cuts
    English appositives and subjects off (the stated fallback).
    """
    if parser is None:
        return comma_clauses(sentence)
    pieces = parsed_clauses(parser.parse(sentence))
    return pieces if len(pieces) > 1 else [sentence.strip()]


def comma_clauses(sentence: str) -> list[str]:
    """The comma-separated pieces of a sentence (seed 000 [0256]), for any script."""
    return [clause for clause in _CLAUSE_BREAK.split(sentence.strip()) if clause]


_SUBJECTS = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}
# Dependents that head a clause of their own when they are a verb with a subject.
_SUBORDINATE = {"advcl", "ccomp", "parataxis"}
_EDGES = {"punct", "cc", "mark", "preconj"}  # dropped at a clause's start and end


def parsed_clauses(parse: Parse) -> list[str]:
    """Every clause of a parse, in order of its first word, each with its subject."""
    heads = [word for word in parse if _heads_clause(parse, word)]
    if len(heads) < 2:
        return []
    head_ids = {word.index for word in heads}
    clauses: list[tuple[int, str]] = []
    for head in heads:
        own = _without_inner_clauses(parse, head, head_ids)
        subject = _subject_of(parse, head, head_ids)
        words = sorted({*own, *subject}, key=lambda w: w.index)
        words = _trimmed(words, head)
        if words:
            clauses.append((words[0].index, _text(words)))
    return [text for _, text in sorted(clauses)]


def _heads_clause(parse: Parse, word: Word) -> bool:
    if not is_predicate(parse, word):
        return False
    if word.dep == "ROOT":
        return True
    if word.dep == "conj":  # a coordinated verb: a clause even with its partner's subject
        return is_predicate(parse, parse[word.head])
    return word.dep in _SUBORDINATE and _has_subject(parse, word)


def is_predicate(parse: Parse, word: Word) -> bool:
    """A verb (an AUX heads "The forest is endless"), or a word with a subject: the small
    English pipeline tags "sleeps" in "A red fox sleeps under the tree" a noun."""
    return word.pos in ("VERB", "AUX") or _has_subject(parse, word)


def _has_subject(parse: Parse, word: Word) -> bool:
    return any(w.head == word.index and w.index != word.index and w.dep in _SUBJECTS for w in parse)


def _without_inner_clauses(parse: Parse, head: Word, head_ids: set[int]) -> list[Word]:
    """The head's words, less those of the clauses that hang from it."""
    words = subtree(parse, head)
    inside = {w.index for w in words}
    inner = {
        w.index for other in head_ids & inside - {head.index} for w in subtree(parse, parse[other])
    }
    return [w for w in words if w.index not in inner]


def _subject_of(parse: Parse, head: Word, head_ids: set[int]) -> list[Word]:
    """The subject a clause without one shares: that of the verb it is coordinated with."""
    word = head
    while not _has_subject(parse, word) and word.dep == "conj" and word.head in head_ids:
        word = parse[word.head]
    if word is head:
        return []
    subject = next(
        (w for w in parse if w.head == word.index and w.index != word.index and w.dep in _SUBJECTS),
        None,
    )
    return subtree(parse, subject) if subject is not None else []


def _trimmed(words: list[Word], head: Word) -> list[Word]:
    """Without linking words and punctuation at either end ("and", "when", ",")."""
    start, end = 0, len(words)
    while start < end and (
        words[start].dep in _EDGES
        or (words[start].tag in ("WRB", "WDT") and words[start].head == head.index)
    ):
        start += 1
    while end > start and words[end - 1].dep in _EDGES:
        end -= 1
    return words[start:end]


def _text(words: list[Word]) -> str:
    """The words as written, with a space wherever the clause skips some of the sentence."""
    parts = []
    for word, following in zip(words, [*words[1:], None], strict=True):
        parts.append(word.text)
        if following is not None:
            parts.append(word.space if following.index == word.index + 1 else " ")
    return "".join(parts).strip()
