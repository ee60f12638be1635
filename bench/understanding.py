"""Edit requests read against a held-out set: confusion by kind, then the accuracy.

    python -m bench.understanding [--no-encoder] [--no-parser] [--show-errors]

A reading counts as right when its kind and every slot the set names match (owner, the
attribute's word, a word of its value, the element's head noun, place, direction, style,
kept for the story). The set (bench/data/understanding.tsv) is held out: none of it is in
core/edit's phrasings or vocabulary lists. The encoder is the engine's screening encoder
(the tiny profile's LocalEngine: all-MiniLM-L6-v2 is real there).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from core.edit.cast import Cast, CastMember
from core.edit.intents import IntentModel
from core.edit.parsing import DEFAULT_PARSER, load_parser
from core.edit.requests import RequestReader
from core.edit.understanding import EditIntent

DATA = Path(__file__).with_name("data")
SET = DATA / "understanding.tsv"
# understanding.tsv guided the grammar rules; understanding_fresh.tsv was written afterwards
# and first run before any further change.
SETS = (SET, DATA / "understanding_fresh.tsv", DATA / "understanding_third.tsv")


@dataclass(frozen=True)
class Case:
    scene: str
    cast: Cast
    request: str
    kind: str
    slots: dict[str, str]


def read_set(path: Path = SET) -> list[Case]:
    scenes: dict[str, tuple[str, Cast]] = {}
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if cells[0] == "@scene":
            members = (
                [m.split(":") for m in cells[3].split(",") if m.strip()] if len(cells) > 3 else []
            )
            cast = Cast(tuple(CastMember(n.strip(), p.strip()) for n, p in members))
            scenes[cells[1]] = (cells[2], cast)
            continue
        sentence, cast = scenes[cells[0]]
        kind, *pairs = cells[2].split(";")
        slots = dict(pair.split("=", 1) for pair in pairs)
        cases.append(Case(sentence, cast, cells[1], kind, slots))
    return cases


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("'s", ""))


def slot_errors(intent: EditIntent, slots: dict[str, str]) -> list[str]:
    """The named slots the reading got wrong (empty: right)."""
    found = {
        "owner": _words(intent.element)[-1:],
        "element": _words(intent.element)[-1:],
        "part": [intent.attribute_word.lower()],
        "value": _words(intent.attribute),
        "place": [intent.place],
        "direction": [intent.direction],
        "style": _words(intent.style),
        "keep": ["1" if intent.keep else "0"],
    }
    wrong = []
    for slot, expected in slots.items():
        have = found[slot]
        want = _words(expected) if slot in ("value", "style") else [expected.lower()]
        ok = all(w in have for w in want) if slot in ("value", "style") else have == want
        if not ok:
            wrong.append(f"{slot}={' '.join(have)!r} (want {expected!r})")
    return wrong


async def run(encoder: bool, parser: bool, show: bool) -> float:
    engine = None
    intents = None
    with tempfile.TemporaryDirectory() as root:
        if encoder:
            from engine.local_engine import LocalEngine
            from engine.profiles import resolve_profile

            engine = LocalEngine.for_profile(resolve_profile("tiny"), Path(root) / "models", "cpu")
            await engine.start()
            intents = IntentModel(engine)
        reader = RequestReader(load_parser(DEFAULT_PARSER) if parser else None, intents)
        sets = {path.stem: read_set(path) for path in SETS}
        cases = [case for group in sets.values() for case in group]
        right_by_set: Counter[str] = Counter()
        confusion: Counter[tuple[str, str]] = Counter()
        right = 0
        errors = []
        for case in cases:
            name = next(n for n, group in sets.items() if case in group)
            intent = await reader.read(case.request, case.cast, case.scene)
            confusion[(case.kind, intent.kind)] += 1
            wrong = slot_errors(intent, case.slots) if intent.kind == case.kind else ["kind"]
            if not wrong:
                right += 1
                right_by_set[name] += 1
            else:
                errors.append(
                    f"  {case.request!r}: want {case.kind}, read {intent.kind} "
                    f"{intent.describe()!r} {'; '.join(wrong)}"
                )
        if engine is not None:
            await engine.close()
    kinds = list(dict.fromkeys(case.kind for case in cases))
    width = max(len(k) for k in kinds) + 1
    print(f"readers: {reader.models}")
    print("confusion (rows: expected kind; columns: kind read)")
    print(" " * width + " ".join(k[:5].rjust(5) for k in kinds) + "  other  right/n")
    for kind in kinds:
        row = [confusion[(kind, read)] for read in kinds]
        other = sum(
            n for (want, read), n in confusion.items() if want == kind and read not in kinds
        )
        n = sum(1 for case in cases if case.kind == kind)
        ok = n - sum(1 for e in errors if f"want {kind}," in e)
        print(kind.ljust(width) + " ".join(str(v).rjust(5) for v in row) + f"{other:7d}  {ok}/{n}")
    if show:
        print("misread:")
        print("\n".join(errors))
    for name, group in sets.items():
        print(f"set {name}: accuracy={right_by_set[name] / len(group):.3f} n={len(group)}")
    accuracy = right / len(cases)
    print(f"understanding: accuracy={accuracy:.3f} n={len(cases)}")
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-encoder", action="store_true", help="grammar and rules only")
    parser.add_argument("--no-parser", action="store_true", help="word-shape rules only")
    parser.add_argument("--show-errors", action="store_true", help="list every misreading")
    args = parser.parse_args()
    asyncio.run(run(not args.no_encoder, not args.no_parser, args.show_errors))


if __name__ == "__main__":
    main()
