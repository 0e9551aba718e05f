"""A small document model (headings, paragraphs, bullets, tables, figures) written as Markdown
and as one self-contained HTML page.

Not a paper section: the layout of ``ser-keras report`` (:mod:`ser_keras.report`). The HTML
carries its CSS and its images (data URIs) inline and no script, so it opens anywhere without a
network; its tables take the page's width and wrap long cells, so nothing scrolls sideways at
1280 px (tools/screenshot_report.sh checks it in a browser). :func:`markdown_blocks` reads back
the Markdown the scripts write (``table.md``, ``comparison.md``).
"""

import base64
import dataclasses
import html
import re
from pathlib import Path

_NUMBER_LIKE = re.compile(r"[-+<>\[\]\d.,%\s]+")


@dataclasses.dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclasses.dataclass(frozen=True)
class Paragraph:
    text: str


@dataclasses.dataclass(frozen=True)
class Bullets:
    items: tuple


@dataclasses.dataclass(frozen=True)
class Table:
    header: tuple
    rows: tuple
    numeric: tuple = ()  # indices of right-aligned columns


@dataclasses.dataclass(frozen=True)
class Figure:
    """A PNG: inlined in the HTML as a data URI; the Markdown shows ``figures/<name>`` (the
    writer copies it there)."""

    path: Path
    name: str
    caption: str


def markdown_blocks(text):
    """The blocks of a Markdown text as this toolkit writes them (headings, pipe tables,
    ``- `` bullets, paragraphs)."""
    blocks, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(Heading(level, line[level:].strip()))
            index += 1
        else:
            start = index
            kind = "|" if line.startswith("|") else "- " if line.startswith("- ") else ""
            index += 1
            while (
                index < len(lines)
                and lines[index].strip()
                and not lines[index].startswith("#")
                and (lines[index].startswith(kind) if kind else not lines[index].startswith(("|", "- ")))
            ):
                index += 1
            chunk = lines[start:index]
            if kind == "|":
                cells = [
                    [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row.strip()[1:-1])]
                    for row in chunk
                ]
                numeric = tuple(i for i, cell in enumerate(cells[1]) if cell.endswith(":")) if len(cells) > 1 else ()
                blocks.append(Table(tuple(cells[0]), tuple(tuple(row) for row in cells[2:]), numeric))
            elif kind:
                blocks.append(Bullets(tuple(item[2:] for item in chunk)))
            else:
                blocks.append(Paragraph(" ".join(chunk)))
    return blocks


def _markdown_cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(title, generated, blocks):
    """The document in Markdown: ``title``, the ``generated`` line, then the blocks."""
    lines = [f"# {title}", "", generated, ""]
    for block in blocks:
        if isinstance(block, Heading):
            lines.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Bullets):
            lines += [f"- {item}" for item in block.items]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_markdown_cell(cell) for cell in block.header) + " |")
            lines.append(
                "|" + "|".join("---:" if i in block.numeric else "---" for i in range(len(block.header))) + "|"
            )
            lines += ["| " + " | ".join(_markdown_cell(cell) for cell in row) + " |" for row in block.rows]
        elif isinstance(block, Figure):
            lines.append(f"![{block.caption}](figures/{block.name})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _inline(text):
    """Escaped HTML of a text with ``code`` and **strong** spans; row ids (``elor_arousal_war``)
    may wrap after their underscores rather than anywhere."""
    escaped = html.escape(text, quote=False).replace("_", "_<wbr>")
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _cell_class(index, text, numeric):
    classes = ["num"] if index in numeric else []
    # A number, an interval or a single word (a verdict such as "inconclusive") stays on one line.
    if len(text) <= 16 and (_NUMBER_LIKE.fullmatch(text) or text.isalpha()):
        classes.append("nowrap")
    if text.startswith(("holds", "as stated")):
        classes.append("good")
    elif text.startswith(("does not hold", "not as stated")):
        classes.append("bad")
    elif text.startswith(("skipped", "n/a", "not recorded")):
        classes.append("muted")
    return f' class="{" ".join(classes)}"' if classes else ""


# Tables fit the page: 100 % wide, long cells wrap (anywhere, if they must); numbers, intervals
# and single words stay on one line.
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;margin:0 auto;
max-width:1200px;padding:12px 24px 48px}
h1{font-size:1.7em;margin:.4em 0}h2{font-size:1.35em;border-top:3px solid #c9d3df;padding-top:.5em;margin-top:2em}
h3{font-size:1.1em;margin:1.4em 0 .4em}p,li{overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:.4em 0 1em;font-size:13px}
th,td{border:1px solid #d5d9de;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef2f6;font-weight:600;overflow-wrap:normal}tbody tr:nth-child(even){background:#f8f9fb}
.num{text-align:right;font-variant-numeric:tabular-nums}th.num{white-space:nowrap}.good{color:#116b2f;font-weight:600}
.bad{color:#a4161a;font-weight:600}.muted{color:#6b6b6b}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f5;padding:0 3px;
border-radius:3px;overflow-wrap:anywhere}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
.nowrap{white-space:nowrap}
figure{margin:0}img{max-width:100%;height:auto;border:1px solid #e3e3e3}figcaption{font-size:12.5px;color:#555}
""".strip()


def to_html(title, generated, blocks, *, links=None):
    """The document as one self-contained page: inline CSS, images as data URIs, no script.
    ``links``: ``{text: href}``, every ``code`` span of ``text`` becomes a link to ``href``."""
    body, figures = [], []

    def flush_figures():
        if figures:
            body.append('<div class="figures">' + "".join(figures) + "</div>")
            figures.clear()

    for block in blocks:
        if not isinstance(block, Figure):
            flush_figures()
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(
                f"<th{_cell_class(i, '', block.numeric)}>{_inline(c)}</th>" for i, c in enumerate(block.header)
            )
            rows = "".join(
                "<tr>"
                + "".join(f"<td{_cell_class(i, c, block.numeric)}>{_inline(c)}</td>" for i, c in enumerate(row))
                + "</tr>"
                for row in block.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            figures.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.caption)}">'
                f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
            )
    flush_figures()
    for text, href in (links or {}).items():
        code = _inline(f"`{text}`")
        body = [part.replace(code, f'<a href="{html.escape(href)}">{code}</a>') for part in body]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        f"<h1>{_inline(title)}</h1>\n<p>{_inline(generated)}</p>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
