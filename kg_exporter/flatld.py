"""The JSON-LD that kg-exporter's templates render, written as N-Triples without a JSON-LD processor.

Why: turning a rendered subgraph into N-Triples with pyoxigraph's JSON-LD parser costs ~150 us of
CPU (the expansion algorithm, run for documents that are always of one simple shape), a fifth of
a backfill's client and a fair part of what the Metadata Service spends per write. The shape the
templates use — the *flat profile* below — maps to N-Triples directly, in about a third of that.

The flat profile: a JSON object with an ``@context`` object of prefixes (terms mapped to absolute
IRIs, and ``"@version": 1.1``), and either an ``@graph`` array of node objects or the keys of one
node object. A node object has an ``@id``, may have an ``@type`` (one IRI or a list), and its other
keys are IRIs, terms or compact IRIs (``kgx:name``). A value is a string, a boolean, a number, a
``{"@id": ...}`` reference, a node object with an ``@id`` (embedded), a ``{"@value": string}``
with an optional ``@type``, or a list of those. Anything else — another context key, a keyword
this module does not handle, a blank node, ``null``, a language tag, an IRI it cannot vouch for
— makes :func:`to_ntriples` answer None, and the caller uses pyoxigraph as before: this module
only ever says what pyoxigraph would say, or nothing.

What pyoxigraph writes is the reference: the same statements (a multiset of lines; the order may
differ), the same escapes, numbers in the same canonical forms (``0.25`` is ``"2.5E-1"`` of
``xsd:double``, ``2.0`` is ``"2"`` of ``xsd:integer``). ``tests/render/test_flatld.py`` holds it
to that on every template's output and on random documents built from awkward pieces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_XSD = "http://www.w3.org/2001/XMLSchema#"
_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
_STRING_IRI = f"<{_XSD}string>"
_TRUE = f'"true"^^<{_XSD}boolean> .\n'
_FALSE = f'"false"^^<{_XSD}boolean> .\n'
_INTEGER = f'"^^<{_XSD}integer> .\n'
_DOUBLE = f'"^^<{_XSD}double> .\n'
#: Integers past 2**53 go through a double in some JSON-LD processors: left to pyoxigraph.
_EXACT = 2**53

# An absolute IRI this module can vouch for: ASCII only, no user info, no IP literal, a port of
# digits, a path that does not start with "//", one "#" at most. Anything else valid (or not) is
# pyoxigraph's to judge. One character class per part rather than an alternative per character:
# the check runs on every IRI of every document. Percent signs and dot segments are checked apart
# (resolving an @id removes dot segments), only when the IRI has one.
_CHARS = r"A-Za-z0-9\-._~!$&'()*+,;=%"
_IRI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*:(?://[{_CHARS}]*(?::[0-9]*)?(?=[/?#]|\Z))?(?!//)"
    rf"[{_CHARS}:@/?]*(?:#[{_CHARS}:@/?]*)?\Z"
)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:[/?#]|\Z)")
#: A JSON-LD gen-delim at the end of a term's IRI makes the term usable as a prefix (JSON-LD 1.1).
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")

_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f]')
#: Control characters other than the three common ones, which need the translation table.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPES = {code: f"\\u{code:04X}" for code in (*range(0x20), 0x7F)}
_ESCAPES.update({ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"})
_ESCAPES.update({ord("\b"): "\\b", ord("\f"): "\\f", ord('"'): '\\"', ord("\\"): "\\\\"})


class _Outside(Exception):
    """The document is not in the flat profile (or not one this module can vouch for)."""


def to_ntriples(document: Mapping[str, Any], *, max_chars: int | None = None) -> bytes | None:
    """The statements of ``document`` as N-Triples, as pyoxigraph would write them (lines in
    another order, maybe), or None when the document is outside the flat profile (see the module's
    docstring) and must go through a JSON-LD processor. A document of the profile without a
    statement gives ``b""``.

    ``max_chars``: None as well when the statements would be longer. A short document can expand
    to far more (a 30 KB prefix used a thousand times is 30 MB of N-Triples); a reader of
    documents from anyone bounds it, and leaves the rest to a parser under a memory limit."""
    try:
        context = _context(document.get("@context"))
        lines: list[str] = [] if max_chars is None else _Bounded(max_chars)
        graph = document.get("@graph")
        if graph is None:
            node = {key: value for key, value in document.items() if key != "@context"}
            context.write(node, lines)
        else:
            if len(document) != (2 if "@context" in document else 1) or type(graph) is not list:
                raise _Outside  # a named graph, or @graph beside properties
            for node in graph:
                context.write(node, lines)
        return "".join(lines).encode("utf-8")
    except (_Outside, UnicodeEncodeError):  # UnicodeEncodeError: a lone surrogate
        return None


class _Bounded(list[str]):
    """Lines that may not add up to more than ``left`` characters (the check costs a Python call
    per line, so only readers that need it pay for it)."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        super().__init__()
        self.left = left

    def append(self, line: str) -> None:
        self.left -= len(line)
        if self.left < 0:
            raise _Outside
        super().append(line)


#: The contexts seen, by their items: documents rendered by one process share a handful, and the
#: IRIs their terms expand to are checked once, not once per document.
_CONTEXTS: dict[tuple[tuple[str, Any], ...], _Context] = {}
#: What is remembered is bounded for the Metadata Service, which reads documents from anyone:
#: at most this many contexts, each remembering at most :data:`_MAX_IRIS` IRIs of each kind, none
#: longer than :data:`_MAX_REMEMBERED_CHARS` (a few MB in all; 64 contexts of 4,096 unbounded IRIs
#: would have let a client fill the service's memory with long ones).
_MAX_CONTEXTS = 8
#: Past this many IRIs remembered for one context, its memory starts again: a daemon or a backfill
#: renders distinct subjects without end, and what pays to remember is the few dozen properties,
#: types and shared IRIs (~250 bytes an entry).
_MAX_IRIS = 2_048
_MAX_REMEMBERED_CHARS = 256


def _context(context: Any) -> _Context:
    if context is None:
        context = {}
    elif type(context) is not dict:
        raise _Outside  # a remote context, or a list of them
    try:
        key = tuple(context.items())
        known = _CONTEXTS.get(key)
    except TypeError:  # an expanded term definition (a dict): outside anyway
        raise _Outside from None
    if known is None:
        if len(_CONTEXTS) >= _MAX_CONTEXTS:
            _CONTEXTS.clear()
        known = _CONTEXTS[key] = _Context(context)
    return known


class _Context:
    """What one ``@context`` says about IRIs, and the IRIs expanded under it so far."""

    __slots__ = ("ids", "prefixes", "terms", "vocab")

    def __init__(self, context: dict[str, Any]) -> None:
        self.terms: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}
        #: Expanded and checked, in angle brackets: properties and types, and @id values.
        self.vocab: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        for term, iri in context.items():
            if term == "@version":
                if iri != 1.1:
                    raise _Outside
                continue
            if type(iri) is not str or not term or term[0] == "@" or ":" in term:
                raise _Outside  # @vocab, @base, @language, expanded term definitions, ...
            if not _vouched(iri):
                raise _Outside
            self.terms[term] = iri
            if iri.endswith(_GEN_DELIMS):
                self.prefixes[term] = iri

    def iri(self, value: Any, vocab: bool) -> str:
        """``value`` expanded as a property or ``@type`` (``vocab``) or as an ``@id``, in brackets."""
        if type(value) is not str:
            raise _Outside
        seen = self.vocab if vocab else self.ids
        known = seen.get(value)
        if known is not None:
            return known
        if vocab and value in self.terms:
            expanded = self.terms[value]
        else:
            prefix, colon, suffix = value.partition(":")
            if not colon or prefix == "_" or value[0] == "@":
                raise _Outside  # relative, a blank node, a keyword
            if suffix.startswith("//"):
                expanded = value
            elif prefix in self.prefixes:
                expanded = self.prefixes[prefix] + suffix
            elif prefix in self.terms:
                raise _Outside  # a term that is not a prefix: JSON-LD 1.1's rules differ
            else:
                expanded = value
            if not _vouched(expanded):
                raise _Outside
        known = f"<{expanded}>"
        if len(known) <= _MAX_REMEMBERED_CHARS:
            if len(seen) >= _MAX_IRIS:
                seen.clear()
            seen[value] = known
        return known

    def write(self, node: Any, lines: list[str]) -> str:
        """Append a node object's statements to ``lines``; its subject."""
        if type(node) is not dict:
            raise _Outside
        subject = self.iri(node.get("@id"), False)
        start = subject + " "
        vocab = self.vocab
        for key, value in node.items():
            if key[:1] == "@":
                if key == "@id":
                    continue
                if key != "@type":
                    raise _Outside
                for kind in value if type(value) is list else (value,):
                    lines.append(start + _RDF_TYPE + self.iri(kind, True) + " .\n")
                continue
            head = start + (vocab.get(key) or self.iri(key, True)) + " "
            for item in value if type(value) is list else (value,):
                if type(item) is str:  # most values: inline
                    if _NEEDS_ESCAPE.search(item):
                        item = _escaped(item)
                    lines.append(head + '"' + item + '" .\n')
                else:
                    self.value(head, item, lines)
        return subject

    def value(self, head: str, value: Any, lines: list[str]) -> None:
        """Append the statement of one value that is not a string."""
        kind = type(value)
        if kind is dict:
            if "@value" in value:
                lines.append(head + self.literal(value) + " .\n")
            elif len(value) == 1:
                lines.append(head + self.iri(value.get("@id"), False) + " .\n")
            else:
                lines.append(head + self.write(value, lines) + " .\n")
        elif kind is bool:
            lines.append(head + (_TRUE if value else _FALSE))
        elif kind is int:
            if not -_EXACT < value < _EXACT:
                raise _Outside
            lines.append(head + '"' + str(value) + _INTEGER)
        elif kind is float:
            lines.append(head + _number(value))
        else:
            raise _Outside  # null, a nested list

    def literal(self, value: dict[str, Any]) -> str:
        lexical = value["@value"]
        if type(lexical) is not str or not value.keys() <= {"@value", "@type"}:
            raise _Outside  # a number or boolean with a datatype, a language tag, @json, ...
        if _NEEDS_ESCAPE.search(lexical):
            lexical = _escaped(lexical)
        datatype = value.get("@type")
        if datatype is None:
            return '"' + lexical + '"'
        iri = self.iri(datatype, True)
        if iri == _STRING_IRI:
            return '"' + lexical + '"'
        return '"' + lexical + '"^^' + iri


def _escaped(text: str) -> str:
    """A literal's text escaped as pyoxigraph escapes it."""
    if _CONTROL.search(text):
        return text.translate(_ESCAPES)  # slow (a dict lookup per character), and rare
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _vouched(iri: str) -> bool:
    """``iri`` is an absolute IRI that pyoxigraph takes as it is (see :data:`_IRI`)."""
    if not _IRI.match(iri):
        return False
    if "%" in iri and _BAD_PERCENT.search(iri):
        return False
    return "/." not in iri or not _DOT_SEGMENT.search(iri)


def _number(value: float) -> str:
    """A JSON number with a fraction or an exponent, as JSON-LD turns it into a literal: an
    ``xsd:integer`` when it has no fractional part, else the canonical ``xsd:double``."""
    if not math.isfinite(value):
        raise _Outside
    if value.is_integer():
        if not -_EXACT < value < _EXACT:
            raise _Outside  # where the shortest digits and the exact integer part ways
        return '"' + str(int(value)) + _INTEGER
    # repr gives the shortest digits that read back as the same double, as pyoxigraph writes.
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    stripped = digits.lstrip("0")
    power = len(whole) - 1 + (int(exponent) if exponent else 0) - (len(digits) - len(stripped))
    stripped = stripped.rstrip("0")
    return f'"{sign}{stripped[0]}.{stripped[1:] or "0"}E{power}' + _DOUBLE
