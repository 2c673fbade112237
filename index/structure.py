"""Find the structure of a cleaned article body: section headings, list items, embedded posts, and
page furniture: the lines of a page that are not the story's prose and cannot answer a question.

Page furniture is what a scrape carries along with the story: photo captions that end in their
credit ("… on Saturday. John Rudoff/Reuters"), open with it ("Sherwin Crasto/AP A man bows…") or
say who stands where ("From left, …"), also inside a paragraph where a gallery was flattened;
bylines and source lines, a dateline or a rule on a line of its own, calls to action ("Read
more", "Sign up for our newsletter", "Watch … here", a link to another story marked "►"), share
widgets and ad residue. Such a line is a :class:`Block` of kind ``furniture`` with its ``role``.
It stays in the chunk it stands in (it is searchable, and chunk boundaries do not depend on it),
but no answerer quotes it as an answer sentence and the verifier does not accept it as support:
both ask :func:`furniture_spans` of the passage text, so they see the same mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.sentences import sentence_spans

# "— Mario Nawfal (@MarioNawfal) March 14, 2025": the attribution line that closes an embedded post.
POST_ATTRIBUTION = re.compile(
    r"^[—–-]{1,2}\s*(?P<author>[^()\n]{1,80}?)\s*\(@(?P<handle>\w{1,30})\)\s*(?P<date>[A-Z][a-z]+\.? \d{1,2}, \d{4})$"
)
_MAX_POST_LINE = 300  # posts are short; article paragraphs are longer
_MAX_POST_LINES = 6
_LIST_ITEM = re.compile(r"^(?:[-*•·]|\d{1,2}[.)])\s+")


_NAME = r"[A-Z][\w.'’&-]*"
# A photo credit closing a line: "John Rudoff/Reuters", "Jacob W. Frank/National Park Service/AP",
# "Sarah Bentham/Bloomberg via Getty Images": capitalised words joined by a slash, no full stop.
_SLASH_CREDIT = re.compile(
    rf"(?:^|\s)(?:{_NAME}\s){{0,3}}{_NAME}(?:/{_NAME}(?:\s(?:{_NAME}|via|of|and|de))*)+\s*$"
)
_CREDIT_END = re.compile(
    rf"(?:\bGetty Images|\bCourtesy(?:\s(?:of\s)?{_NAME}){{1,4}}|\((?:Photo|Image)s? (?:by|via|courtesy)"
    rf"[^()]*\)|\bCredit:\s[^.]*\.?)\s*$"
)
# A caption that opens with its credit, as CNN's pages print them: "Sherwin Crasto/AP A man bows…",
# "Douglas E. Curran/AFP/Getty Images School children…". A person's name (two to four words) or a
# one-word credit before a slash and a credit after it (an agency, a photo service).
_CREDIT_FIRST = re.compile(
    r"^(?!(?:The|A|An|In|On|At|As|For|From|By|With|This|That|These|Its|His|Her|Their|Our)\s)"
    rf"(?:(?:{_NAME}\s){{1,3}}{_NAME}(?:/{_NAME}(?:\s(?:via|of|and|de))?)+"
    rf"|{_NAME}(?:/{_NAME}(?:\s{_NAME})*)*/(?:Getty Images|AP|AFP|Reuters|EPA|Bloomberg))\s+\S"
)
# a call to follow a link, also inside a paragraph ("Watch Mr. Happy Face get crowned here")
_WATCH_HERE = re.compile(r"^(?:Watch|See|Listen)\b.{0,80}\b(?:here|below)\W*$")
# a caption that says where each person stands ("From left, …", "Left to right: …")
_POSITIONS = re.compile(r"^\(?(?:From (?:left|right)\b|Left to right\b|Clockwise from\b|L-R\b)")
_CAPTION_START = re.compile(r"^(?:Photo(?:graph|grapher)?s?|Image|Pictured|Caption)\s*:", re.I)
_GALLERY = re.compile(r"\bHide Caption \d+ of \d+\s*$")
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Za-z.,' ]{0,40}\s)?\(?(?:CNN|AP|Reuters|AFP)[\w ]{0,12}\)?\s*[—–-]*$"
)
_RULE = re.compile(r"^[\W_]{1,12}$")
_BYLINE = re.compile(
    rf"^(?:By\s(?:{_NAME}\s?){{1,4}}(?:(?:,|and)\s(?:{_NAME}\s?){{1,4}})*|[—–-]{{1,2}}\s?(?:{_NAME}\s?){{1,4}}|"
    r"(?:Updated|Published)\b.{0,60}\d{4})$"
)
_CALL_TO_ACTION = re.compile(
    r"^(?:[►▶»]|Read (?:more|the full)|Related\b|Sign up|Subscribe\b|Click here|Watch\s?:|Listen\s?:|"
    r"Follow (?:us|\w+ on)|Share (?:this|on|your)|Download (?:the|our)|Get (?:the|our|\w+['’]s)\b.{0,40}"
    r"newsletter|This (?:story|article) (?:is|was) part of|FLASH SALE|©|Copyright\b)",
    re.I,
)
_SIGN_UP = re.compile(r"\bsign up\b.{0,80}\b(?:newsletter|inbox|here)\b", re.I)
_WIDGET = re.compile(
    r"^(?:(?:Facebook|Twitter|Email|Print|Copy link|Share|Tweet|WhatsApp|LinkedIn|Reddit|Pinterest|"
    r"Comment|Comments|Save)\s*[|·•]?\s*){1,8}$",
    re.I,
)
_AD = re.compile(
    r"^(?:(?:Video\s)?Ad Feedback|Advertisement|Sponsored(?: content)?|Paid (?:content|post)|"
    r"How relevant is this ad to you\?)\b",
    re.I,
)


def furniture_role(line: str) -> str | None:
    """Why a line of a page is furniture (``caption``, ``byline``, ``dateline``, ``prompt``,
    ``widget``, ``ad``), or None for prose. See the module docstring."""
    line = line.strip()
    if not line:
        return None
    if _AD.match(line):
        return "ad"
    if _WIDGET.match(line):
        return "widget"
    if _CALL_TO_ACTION.match(line) or (len(line) < 300 and _SIGN_UP.search(line)):
        return "prompt"
    if role := _sentence_role(line):
        return role
    if POST_ATTRIBUTION.match(line):
        return None  # an embedded post's attribution is handled as a post
    if _RULE.match(line) or _DATELINE.match(line):
        return "dateline"
    if len(line) <= 80 and _BYLINE.match(line):
        return "byline"
    if _CAPTION_START.match(line) or _GALLERY.search(line):
        return "caption"
    if (line[-1] not in '.!?"”’)' and _SLASH_CREDIT.search(line)) or _CREDIT_END.search(line):
        return "caption"
    return None


def furniture_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, role)`` of every furniture line of ``text`` (offsets into ``text``), and of
    every caption or link prompt inside a line of prose (a photo gallery flattened into one
    paragraph: "…since independence. Sherwin Crasto/AP A man bows before…")."""
    out = []
    for a, b in _lines(text):
        role = furniture_role(text[a:b])
        if role is not None:
            out.append((a, b, role))
            continue
        for sa, sb in sentence_spans(text, a, b):
            if role := _sentence_role(text[sa:sb]):
                out.append((sa, sb, role))
    return out


def _sentence_role(sentence: str) -> str | None:
    """The furniture a sentence can be on its own, inside a line of prose: a caption that
    opens with its credit or says who stands where, or a prompt to follow a link."""
    if _CREDIT_FIRST.match(sentence) or _POSITIONS.match(sentence):
        return "caption"
    if _WATCH_HERE.match(sentence):
        return "prompt"
    return None


@dataclass(frozen=True)
class Block:
    kind: str  # heading | paragraph | list | post | furniture
    start: int
    end: int
    post_author: str = ""
    post_date: str = ""
    role: str = ""  # for furniture: caption | byline | dateline | prompt | widget | ad


def _lines(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def _is_heading(line: str, next_line: str | None) -> bool:
    words = line.split()
    if not words or len(words) > 10 or len(line) > 80 or next_line is None:
        return False
    if line[-1] in '.!?:;,"”’)' or _LIST_ITEM.match(line) or not line[0].isupper():
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or not w[0].isalpha())
    return capitalised >= max(1, len(words) // 2) and len(next_line) > len(line)


def parse_blocks(text: str) -> list[Block]:
    """Split a body into blocks, one or more lines each, in order and covering every line."""
    lines = _lines(text)
    kinds: list[str] = ["paragraph"] * len(lines)
    posts: dict[int, tuple[int, str, str]] = {}  # first line -> (last line, author, date)
    for i, (a, b) in enumerate(lines):
        match = POST_ATTRIBUTION.match(text[a:b])
        if not match:
            continue
        first = i
        while (
            first - 1 >= 0
            and i - first < _MAX_POST_LINES
            and kinds[first - 1] == "paragraph"
            and lines[first - 1][1] - lines[first - 1][0] <= _MAX_POST_LINE
        ):
            first -= 1
        author = f"{match.group('author').strip()} (@{match.group('handle')})"
        posts[first] = (i, author, match.group("date"))
        for j in range(first, i + 1):
            kinds[j] = "post"
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        a, b = lines[i]
        if i in posts:
            last, author, date = posts[i]
            blocks.append(Block("post", a, lines[last][1], author, date))
            i = last + 1
            continue
        line = text[a:b]
        nxt = text[lines[i + 1][0] : lines[i + 1][1]] if i + 1 < len(lines) else None
        if _is_heading(line, nxt):
            blocks.append(Block("heading", a, b))
        elif _LIST_ITEM.match(line):
            blocks.append(Block("list", a, b))
        elif role := furniture_role(line):
            blocks.append(Block("furniture", a, b, role=role))
        else:
            blocks.append(Block("paragraph", a, b))
        i += 1
    return blocks
