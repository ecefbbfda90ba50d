"""Shield's content sandbox, Wall 3 (beam-model §8; Beam's ``shield/content-sandbox.ts``):
the payload's text has HTML and markdown stripped and its Unicode normalised, then is
matched against Beam's 39 prompt-injection patterns, in English and eight other languages.

Beam's patterns are JavaScript regular expressions without the ``u`` flag. They are written
here so they match exactly the same texts: ``\\s`` is JavaScript's whitespace set, ``\\b``
and ``.`` are JavaScript's (ASCII word characters; any character but a line terminator),
and a pattern written in ASCII folds case in ASCII only, as JavaScript's ``/i`` does.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final, NamedTuple

#: JavaScript's ``\s`` (WhiteSpace and LineTerminator).
_JS_SPACE: Final[str] = "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
#: JavaScript's ``\b`` before a word character: no ASCII word character just before.
_JS_WORD_START: Final[str] = "(?<![A-Za-z0-9_])"
#: JavaScript's ``.``: any character but a line terminator.
_JS_ANY: Final[str] = "[^\n\r\u2028\u2029]"

#: Characters ``normalizeUnicode`` removes: zero-width characters and the soft hyphen.
_INVISIBLE: Final[re.Pattern[str]] = re.compile("[\u200b\u200c\u200d\ufeff\u00ad\u2060\u180e]")
#: Cyrillic look-alikes ``normalizeUnicode`` turns into Latin letters.
CONFUSABLES: Final[dict[str, str]] = {
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y", "\u0456": "i",
    "\u0455": "s", "\u0458": "j", "\u04bb": "h",
    "\u0410": "A", "\u0415": "E", "\u041e": "O", "\u0420": "P", "\u0421": "C",
}
_CONFUSABLE_TABLE: Final[dict[int, str]] = str.maketrans(CONFUSABLES)


class InjectionPattern(NamedTuple):
    """One prompt-injection pattern of the content sandbox, its name and severity."""

    name: str
    regex: re.Pattern[str]
    severity: float


def _js(source: str) -> str:
    return source.replace(r"\s", _JS_SPACE).replace(r"\b", _JS_WORD_START).replace(".", _JS_ANY)


def _pattern(source: str, name: str, severity: float, ignore_case: bool = True) -> InjectionPattern:
    flags = re.IGNORECASE if ignore_case else 0
    if source.isascii():
        flags |= re.ASCII
    return InjectionPattern(name, re.compile(_js(source), flags), severity)


#: Beam's ``INJECTION_PATTERNS``, in Beam's order (``.`` below is JavaScript's, never a literal dot).
INJECTION_PATTERNS: Final[tuple[InjectionPattern, ...]] = (
    _pattern(r"ignore\s+(all\s+)?previous\s+instructions", "ignore-previous", 1.0),
    _pattern(r"you\s+are\s+now\s+(a|an|my)", "role-override", 0.9),
    _pattern(r"repeat\s+(back|after)\s+me", "repeat-after-me", 0.7),
    _pattern(r"output\s+your\s+(system\s+)?prompt", "prompt-extraction", 1.0),
    _pattern(r"forget\s+(everything|all|your)", "forget-instructions", 0.9),
    _pattern(r"new\s+instructions?\s*:", "new-instructions", 0.9),
    _pattern(r"\bsystem\s*:\s*", "system-role-inject", 0.8),
    _pattern(r"\bASSISTANT\s*:\s*", "assistant-role-inject", 0.8),
    _pattern(r"\bHUMAN\s*:\s*", "human-role-inject", 0.7),
    _pattern(r"do\s+not\s+follow\s+your", "override-rules", 0.9),
    _pattern(r"override\s+(your\s+)?instructions", "override-instructions", 1.0),
    _pattern(r"act\s+as\s+(if|though)\s+you", "act-as", 0.7),
    _pattern(r"pretend\s+(you|to\s+be)", "pretend", 0.7),
    _pattern(r"jailbreak", "jailbreak", 1.0),
    _pattern(r"DAN\s*mode", "dan-mode", 1.0),
    _pattern(r"developer\s*mode", "developer-mode", 0.8),
    _pattern(r"disregard\s+(all|your|the)", "disregard", 0.9),
    _pattern(r"reveal\s+(your|the)\s+(secret|hidden|system)", "reveal-secret", 0.9),
    _pattern(r"bypass\s+(your|the|all)\s+(safety|security|filter)", "bypass-safety", 1.0),
    _pattern(r"what\s+(is|are)\s+your\s+(system\s+)?instructions", "ask-instructions", 0.6),
    _pattern(r"translate\s+.*\s+into\s+.*\s*:\s*ignore", "translate-inject", 0.8),
    _pattern(r"base64\s+decode", "encoding-attack", 0.5),
    _pattern(r"```\s*(system|assistant|human)", "codeblock-inject", 0.7),
    # German
    _pattern(r"ignoriere?\s+(alle\s+)?vorherigen?\s+(anweisungen|instruktionen)", "ignore-previous-de", 0.9),
    _pattern(r"du\s+bist\s+(jetzt|nun)\s+(ein|eine|mein)", "role-override-de", 0.9),
    _pattern(r"vergiss\s+(alles|deine|alle)", "forget-de", 0.9),
    _pattern(r"neue\s+anweisungen?\s*:", "new-instructions-de", 0.9),
    _pattern(r"gib\s+(mir\s+)?(deine?n?\s+)?(system\s*)?prompt", "prompt-extraction-de", 1.0),
    # French
    _pattern(r"ignore[rz]?\s+(toutes?\s+les?\s+)?instructions?\s+précédentes", "ignore-previous-fr", 0.9),
    _pattern(r"tu\s+es\s+maintenant\s+un", "role-override-fr", 0.9),
    _pattern(r"oublie[rz]?\s+(tout|tes|toutes)", "forget-fr", 0.9),
    # Spanish
    _pattern(r"ignora\s+(todas?\s+las?\s+)?instrucciones", "ignore-previous-es", 0.9),
    _pattern(r"olvida\s+(todo|todas?)", "forget-es", 0.9),
    # Portuguese
    _pattern(r"ignore\s+todas?\s+as?\s+instruções", "ignore-previous-pt", 0.9),
    # Italian
    _pattern(r"ignora\s+(tutte?\s+le?\s+)?istruzioni", "ignore-previous-it", 0.9),
    # Russian
    _pattern(r"игнорируй\s+предыдущие\s+инструкции", "ignore-previous-ru", 0.9),
    # Chinese, Japanese, Korean (no /i flag in Beam)
    _pattern(r"忽略之前的指令", "ignore-previous-zh", 0.9, ignore_case=False),
    _pattern(r"前の指示を.*無視", "ignore-previous-ja", 0.9, ignore_case=False),
    _pattern(r"이전\s*지시를?\s*무시", "ignore-previous-ko", 0.9, ignore_case=False),
)

_SCRIPT = re.compile(r"<script[^>]*>[\s\S]*?</script>", re.IGNORECASE | re.ASCII)
_STYLE = re.compile(r"<style[^>]*>[\s\S]*?</style>", re.IGNORECASE | re.ASCII)
_TAG = re.compile(r"<[^>]*>")
_IMAGE = re.compile(_js(r"!\[.*?\]\(.*?\)"))
_LINK = re.compile(r"\[([^\]]*)\]\(" + _JS_ANY + r"*?\)")


def strip_html_and_markdown(text: str) -> str:
    """``stripHtmlAndMarkdown``: script and style elements, tags and markdown images go;
    a markdown link becomes its text."""
    text = _TAG.sub("", _STYLE.sub("", _SCRIPT.sub("", text)))
    return _LINK.sub(r"\1", _IMAGE.sub("", text))


def normalize_unicode(text: str) -> str:
    """``normalizeUnicode``: zero-width characters and soft hyphens removed, NFC, Cyrillic
    look-alikes turned into Latin letters."""
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text)).translate(_CONFUSABLE_TABLE)


def payload_text(payload: Any) -> str:
    """``stringifyPayload``: a string as it is, anything else as compact JSON in key order."""
    if isinstance(payload, str):
        return payload
    return json.dumps({} if payload is None else payload, separators=(",", ":"), ensure_ascii=False)


def content_risk(matches: int, max_severity: float) -> float:
    """§8: 0 with no match, else ``min(1, max_severity·0.6 + matches·0.1)``, to 4 decimals."""
    if matches == 0:
        return 0.0
    return round(min(1.0, max_severity * 0.6 + matches * 0.1), 4)


def risk_label(risk: float) -> str:
    """§8 labels: above 0.8 critical, above 0.6 high, above 0.3 medium, else low."""
    if risk > 0.8:
        return "critical"
    if risk > 0.6:
        return "high"
    if risk > 0.3:
        return "medium"
    return "low"


class Sanitized(NamedTuple):
    """What ``sanitizeExternalMessage`` finds: the cleaned text (before truncation), the
    matched pattern names in pattern order, and the sandbox risk."""

    text: str
    patterns: tuple[str, ...]
    risk: float

    @property
    def injection_detected(self) -> bool:
        """True when any pattern matched."""
        return bool(self.patterns)


def sanitize(message: str) -> Sanitized:
    """``sanitizeExternalMessage``: strip markup, normalise, then match every pattern on the
    normalised text or on the stripped one (native-script patterns see the latter)."""
    stripped = strip_html_and_markdown(message)
    normalized = normalize_unicode(stripped)
    texts = (normalized,) if normalized == stripped else (normalized, stripped)
    matched = [p for p in INJECTION_PATTERNS if any(p.regex.search(text) for text in texts)]
    risk = content_risk(len(matched), max((p.severity for p in matched), default=0.0))
    return Sanitized(normalized, tuple(p.name for p in matched), risk)
