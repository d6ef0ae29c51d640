"""What Kubernetes controllers put in the pod names they generate, as RE2 pieces for
``pods.name_suffix`` (docs/kinds.md, "Pod names").

Facts from k8s.io/apimachinery/pkg/util/rand: a generated name (``generateName``) ends in
``rand.String(5)``, drawn from ``bcdfghjklmnpqrstvwxz2456789`` (no vowels, no 0, 1 or 3, so it never
spells a word); a ReplicaSet's pod-template-hash is ``SafeEncodeString`` of the decimal FNV-32 hash
of the template: each digit 0-9 maps to one character of that alphabet (``4 5 6 7 8 9 b c d f``), 1
to 10 of them. Ordinals and indexes (StatefulSet, Indexed Job, JobSet) are decimal, without leading
zeros. A neighbour whose name holds a vowel, a dash-separated word or any other character where
these go cannot match.
"""

from __future__ import annotations

#: The alphabet of rand.String and SafeEncodeString.
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
#: The characters SafeEncodeString makes of the digits 0-9 (ASCII 48-57 modulo 27).
HASH_ALPHABET = "".join(sorted({ALPHABET[ord(d) % len(ALPHABET)] for d in "0123456789"}))

PLACEHOLDERS = {
    # The 5 random characters generateName appends.
    "{random}": f"[{ALPHABET}]{{5}}",
    # A pod-template-hash (Deployment → ReplicaSet → pods): a uint32 in decimal, encoded.
    "{hash}": f"[{HASH_ALPHABET}]{{1,10}}",
    # A StatefulSet ordinal, a Job completion index, a JobSet job or pod index.
    "{index}": "(?:0|[1-9][0-9]*)",
}


def expand(suffix: str) -> str:
    """``suffix`` with the placeholders above replaced (``{groups}`` is the caller's)."""
    for placeholder, pattern in PLACEHOLDERS.items():
        if placeholder in suffix:
            suffix = suffix.replace(placeholder, pattern)
    return suffix
