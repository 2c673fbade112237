"""Repair and normalise article text.

Real news text arrives with mojibake. The commonest kind in our sources is UTF-8 that was decoded as
ISO-8859-2/cp1250 and lost its C1 bytes (0x80-0x9F) on the way: "’" (E2 80 99) survives only as "â",
"®" (C2 AE) as "ÂŽ", an emoji (F0 9F xx xx) as "đ" plus one or two accents. ftfy repairs mojibake
whose bytes all survived; this module repairs the lossy residue that ftfy cannot, from context, and
drops what cannot be recovered (emoji).
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

# Characters that bytes 0xA0-0xBF become under ISO-8859-2 and cp1250: the continuation bytes of a
# UTF-8 sequence that survived when the C1 bytes (0x80-0x9F) were lost.
_CONT = "".join(
    sorted(
        {
            bytes([b]).decode(codec, errors="ignore")
            for b in range(0xA0, 0xC0)
            for codec in ("iso8859_2", "cp1250")
        }
        - {"", " ", "\xa0"}
    )
)
_CONT_CLASS = "[" + re.escape(_CONT) + "]"

# 4-byte sequences (emoji, flags): F0 -> "đ", then the survivors of three continuation bytes.
_EMOJI_RESIDUE = re.compile(rf"(?:đ{_CONT_CLASS}{{1,3}})+[ \t]?")
# "â" + the survivor of E2 80 xx, when the last byte survived.
_E280 = {
    bytes([b]).decode("iso8859_2"): bytes([0xE2, 0x80, b]).decode("utf-8")
    for b in range(0xA0, 0xC0)
}
_E280_RESIDUE = re.compile("â([" + re.escape("".join(_E280)) + "])")
# Latin-1 range characters C2 xx where C2 -> "Â" and xx survived.
_C2 = {bytes([b]).decode("iso8859_2"): bytes([0xC2, b]).decode("utf-8") for b in range(0xA1, 0xC0)}
_C2_RESIDUE = re.compile("Â([" + re.escape("".join(_C2)) + "])")
# A bare "â": both continuation bytes lost. Apostrophe in a contraction, else a dash.
_BARE_APOSTROPHE = re.compile(r"(?<=[A-Za-z])â(?=(?:s|t|d|ll|re|ve|m|S|T|D|LL|RE|VE|M)\b)")
_BARE_DASH = re.compile(r"(?<=\w)â(?=\w)")
# Residues seen in scraped posts that went through another code page on the way.
_ELLIPSIS_RESIDUE = re.compile(r"(?<=\w)⌠")
_MIDDOT_RESIDUE = re.compile(r"(?<=\d [AP]M) ¡ |(?<=\d) ¡ (?=[A-Z][a-z]{2} \d)")

# Links that tweets embed: truncated shorteners and picture links are never prose.
SOCIAL_LINK = re.compile(
    r"\s*(?:https?://t\.co/\S*|pic\.twitter\.com/\S*|https?://pic\.x\.com/\S*)"
)

# Characters that show nothing but change what a reader sees: zero-width spaces and joiners, the
# soft hyphen, word joiners and invisible operators, the byte-order mark, and the bidirectional
# marks, embeddings, overrides and isolates, with which text can reverse what is shown ("evil.exe"
# shown as "exe.live"), plus the tag characters that can carry hidden text.
INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\U000e0000-\U000e007f]"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def repair_mojibake(text: str) -> str:
    """Fix mojibake, including the lossy cp1250/ISO-8859-2 residue that ftfy leaves alone."""
    text = ftfy.fix_text(text, uncurl_quotes=False, fix_line_breaks=True, normalization="NFC")
    text = _EMOJI_RESIDUE.sub("", text)
    text = _E280_RESIDUE.sub(lambda m: _E280[m.group(1)], text)
    text = _C2_RESIDUE.sub(lambda m: _C2[m.group(1)], text)
    text = _BARE_APOSTROPHE.sub("’", text)
    text = _BARE_DASH.sub("—", text)
    text = _ELLIPSIS_RESIDUE.sub("…", text)
    return _MIDDOT_RESIDUE.sub(" · ", text)


def normalize_whitespace(text: str) -> str:
    """Drop control and zero-width characters, collapse runs of spaces, trim every line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def remove_invisible(text: str) -> str:
    """``text`` without the invisible and direction-changing characters of :data:`INVISIBLE`."""
    return INVISIBLE.sub("", text)


def strip_social_links(text: str) -> str:
    """Remove t.co and pic.twitter.com links, which a scraped post carries as residue."""
    return SOCIAL_LINK.sub("", text)


def clean_text(text: str) -> str:
    """The full cleaning pipeline applied to every article body and title.

    Invisible characters go first, so they cannot hide mojibake from the repair; the pipeline runs
    until nothing changes (rarely more than once), so cleaning clean text is a no-op."""
    text = unicodedata.normalize("NFC", text)
    for _ in range(3):
        cleaned = normalize_whitespace(strip_social_links(repair_mojibake(_strip_invisible(text))))
        if cleaned == text:
            break
        text = cleaned
    return text


def _strip_invisible(text: str) -> str:
    return _CONTROL.sub("", INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
