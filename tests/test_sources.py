from __future__ import annotations

import json
from pathlib import Path

from index.sources import parse_date
from tests.reading import read_folders

HTML = """<html><head><title>Storm hits coast | Example News</title>
<meta name="author" content="Ann Lee"><meta property="article:published_time" content="2024-05-01T10:00:00Z">
<link rel="canonical" href="https://news.example/storm"></head>
<body><nav>Home | World | Sport</nav><article><h1>Storm hits coast</h1>
<p>A powerful storm hit the coast on Tuesday, cutting power to 40,000 homes across the region.</p>
<p>Officials said crews would work through the night to restore electricity to every household.</p>
</article><footer>Subscribe to our newsletter. Copyright 2024.</footer></body></html>"""


def test_text_markdown_html_json_jsonl(articles_dir: Path) -> None:
    (articles_dir / "a.txt").write_text("Plain title\nFirst paragraph of the body.\n")
    (articles_dir / "b.md").write_text("# Markdown title\n\nSome *body* text here.\n")
    (articles_dir / "c.html").write_text(HTML)
    (articles_dir / "d.json").write_text(
        json.dumps(
            {
                "url": "https://x.example/1",
                "title": "Json one",
                "text": "Body one.",
                "publish_date": "2022/06/12",
                "authors": ["A", "B"],
            }
        )
    )
    (articles_dir / "e.jsonl").write_text(
        json.dumps({"url": "https://x.example/2", "title": "Line one", "text": "Body two."})
        + "\n"
        + "{broken json\n"
        + json.dumps({"url": "https://x.example/3", "title": "Line three", "text": "Body three."})
        + "\n"
    )
    result = read_folders([articles_dir])
    by_title = {a.title: a for a in result.articles}
    assert set(by_title) == {
        "Plain title",
        "Markdown title",
        "Storm hits coast",
        "Json one",
        "Line one",
        "Line three",
    }
    assert by_title["Markdown title"].text == "Some *body* text here."
    storm = by_title["Storm hits coast"]
    assert (
        "40,000 homes" in storm.text
        and "newsletter" not in storm.text
        and "Sport" not in storm.text
    )
    assert storm.published == "2024-05-01" and storm.authors == ("Ann Lee",)
    one = by_title["Json one"]
    assert (one.url, one.published, one.authors) == (
        "https://x.example/1",
        "2022-06-12",
        ("A", "B"),
    )
    (problem,) = result.problems
    assert problem.line == 2 and "e.jsonl" in problem.source and "not valid JSON" in problem.message


def test_ids_are_stable_and_distinct(articles_dir: Path) -> None:
    (articles_dir / "a.txt").write_text("Title\nBody.\n")
    first = read_folders([articles_dir]).articles[0]
    (articles_dir / "a.txt").write_text("Title\nBody changed.\n")
    second = read_folders([articles_dir]).articles[0]
    assert first.id == second.id and first.content_hash != second.content_hash


def test_bad_files_are_reported_not_fatal(articles_dir: Path) -> None:
    (articles_dir / "empty.txt").write_text("")
    (articles_dir / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    (articles_dir / "latin1.txt").write_bytes(
        "Café news\nThe café reopened in Zürich.\n".encode("latin-1")
    )
    (articles_dir / "good.txt").write_text("Good\nA fine article.\n")
    result = read_folders([articles_dir])
    titles = {a.title for a in result.articles}
    assert {"Good", "Café news"} <= titles
    messages = {p.source.split("/")[-1]: p.message for p in result.problems}
    assert "empty" in messages["empty.txt"]
    assert "binary" in messages["binary.txt"]
    assert "not UTF-8" in messages["latin1.txt"]


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    result = read_folders([tmp_path / "nope"])
    assert "folder not found" in result.problems[0].message


def test_parse_date() -> None:
    assert parse_date("2022/06/12") == "2022-06-12"
    assert parse_date("March 14, 2025") == "2025-03-14"
    assert parse_date("9999-01-01") is None
    assert parse_date("not a date at all") is None
    assert parse_date(None) is None


def test_hidden_entries_are_skipped_but_hidden_parents_are_fine(tmp_path: Path) -> None:
    folder = tmp_path / ".data" / "articles"
    (folder / ".cache").mkdir(parents=True)
    (folder / "a.txt").write_text("Visible\nBody.\n")
    (folder / ".draft.txt").write_text("Hidden\nBody.\n")
    (folder / ".cache" / "b.txt").write_text("Cached\nBody.\n")
    assert [a.title for a in read_folders([folder]).articles] == ["Visible"]
