"""Search keys for identity matching: names and postcodes folded so that people's spellings meet.

Pure functions, no models: the child model derives its stored keys from these on every save,
and the matcher (referrals.children.matching) compares with them and pg_trgm's formula.
"""

from __future__ import annotations

import re
import unicodedata

# First names that are the same name to a person but not to a computer. Each group maps to its
# first spelling. Deliberately small and common in England: extend it as data shows need.
NAME_VARIANTS: tuple[tuple[str, ...], ...] = (
    ("john", "jon", "jonny", "johnny", "jack", "jonathan", "johnathan", "jonathon"),
    ("muhammad", "mohammed", "mohammad", "mohamed", "mohamad", "muhammed", "mahomed"),
    ("william", "will", "bill", "billy", "willy"),
    ("robert", "rob", "bob", "bobby", "robbie"),
    ("thomas", "tom", "tommy"),
    ("james", "jim", "jimmy", "jamie"),
    ("alexander", "alex", "xander"),
    ("elizabeth", "liz", "lizzie", "beth", "betty", "eliza", "libby", "elisabeth"),
    ("katherine", "kate", "katie", "kathryn", "catherine", "cathy", "kat", "katy"),
    ("margaret", "maggie", "meg", "peggy"),
    ("michael", "mike", "mikey", "mick"),
    ("daniel", "dan", "danny"),
    ("matthew", "matt", "matty"),
    ("christopher", "chris"),
    ("nicholas", "nick", "nicky"),
    ("joseph", "joe", "joey"),
    ("samuel", "sam", "sammy"),
    ("benjamin", "ben", "benny"),
    ("charlotte", "charlie", "lottie"),
    ("olivia", "liv", "livvy"),
    ("abigail", "abby", "abbie"),
    ("rebecca", "becky", "becca"),
    ("aisha", "ayesha", "aysha", "aishah"),
    ("fatima", "fatimah", "fatma"),
    ("yusuf", "yousef", "yusef", "youssef"),
    ("ibrahim", "ebrahim", "ibraheem"),
    ("zainab", "zaynab", "zeinab"),
    ("oluwaseun", "seun"),
    ("aleksander", "aleksandr", "olek"),
)
_CANONICAL: dict[str, str] = {variant: group[0] for group in NAME_VARIANTS for variant in group}


def fold(text: str) -> str:
    """Plain lower-case letters and digits, words separated by one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    plain = re.sub(r"['\u2019`]", "", plain)  # O'Brien and OBrien are one name
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def canonical_first(first_name: str) -> str:
    """The first given name, in its variant group's spelling."""
    words = fold(first_name).split()
    if not words:
        return ""
    return _CANONICAL.get(words[0], words[0])


def canonical_postcode(postcode: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", postcode.upper())[:8]


def match_keys(*, first_name: str, last_name: str, postcode: str) -> tuple[str, str, str, str]:
    """The stored search keys of a child: first, last, both, postcode."""
    first = canonical_first(first_name)
    last = fold(last_name)
    return first, last, f"{first} {last}".strip(), canonical_postcode(postcode)


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of a folded string: each word padded with two spaces before, one after."""
    grams: set[str] = set()
    for word in text.split():
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of both."""
    left, right = trigrams(a), trigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)
