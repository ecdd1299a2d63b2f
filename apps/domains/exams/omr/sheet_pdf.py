"""The printable OMR answer sheet (ARCHITECTURE §4 AI, exams): the layout drawn as a one-page A4 PDF with reportlab.

No Django import. Every shape comes from `layout.sheet_layout` (top-left origin) and is flipped here to reportlab's
bottom-left origin, so the PDF and the grader can never disagree. Korean text uses an embedded TrueType font
(NanumGothic, vendored with its OFL licence in `fonts/`): reportlab's built-in CID fonts are not embedded and print
differently, or not at all, on machines without them.
"""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.colors import Color, black
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

DEFAULT_FONT_PATH = Path(__file__).resolve().parent / "fonts" / "NanumGothic.ttf"

# The printed rings and their digits are light so a filled bubble stands out against them, pencil included.
RING_GREY = Color(0.45, 0.45, 0.45)
DIGIT_GREY = Color(0.6, 0.6, 0.6)
FRAME_GREY = Color(0.35, 0.35, 0.35)
RING_WIDTH = 0.6
INSTRUCTIONS = (
    "• 컴퓨터용 사인펜이나 진한 연필로 동그라미 안을 꽉 차게 칠하세요.",
    "• 한 문항에 두 개 이상 칠하면 틀린 답으로 처리됩니다. 고칠 때는 깨끗이 지우세요.",
    "• 네 모서리의 검은 사각형 주변에는 아무것도 쓰지 마세요.",
)


def _font_name(font_path: Path) -> str:
    # One registration per file: reportlab's font registry is process-wide.
    name = f"OMR-{font_path.stem}"
    try:
        pdfmetrics.getFont(name)
    except KeyError:
        pdfmetrics.registerFont(TTFont(name, str(font_path)))
    return name


def sheet_pdf(layout: dict, title: str, subtitle: str = "", font_path: str | Path | None = None, *,
              identifier_label: str = "수험번호") -> bytes:
    """The sheet as PDF bytes. `identifier_label` names what students write in the identifier block (for example
    "학부모 전화번호 뒤 8자리"). Output is byte-for-byte deterministic for the same arguments."""
    font = _font_name(Path(font_path) if font_path else DEFAULT_FONT_PATH)
    width, height = layout["page"]["width"], layout["page"]["height"]
    buffer = io.BytesIO()
    # invariant=1: no timestamp or random id in the file, so the same exam always yields the same bytes.
    pdf = canvas.Canvas(buffer, pagesize=(width, height), invariant=1, pageCompression=1, initialFontName=font)
    pdf.setTitle(title)
    pdf.setAuthor("academy")

    def flip(y: float) -> float:
        return height - y

    pdf.setFillColor(black)
    for marker in layout["markers"]:
        half = marker["size"] / 2
        pdf.rect(marker["x"] - half, flip(marker["y"]) - half, marker["size"], marker["size"], stroke=0, fill=1)

    pdf.setFont(font, layout["title"]["size"])
    pdf.drawString(layout["title"]["left"], flip(layout["title"]["baseline"]), title)
    if subtitle:
        pdf.setFont(font, layout["subtitle"]["size"])
        pdf.drawString(layout["subtitle"]["left"], flip(layout["subtitle"]["baseline"]), subtitle)

    def rect(box: dict, line_width: float = 0.8) -> None:
        pdf.setLineWidth(line_width)
        pdf.rect(box["left"], flip(box["top"]) - box["height"], box["width"], box["height"], stroke=1, fill=0)

    pdf.setStrokeColor(FRAME_GREY)
    pdf.setFillColor(black)
    rect(layout["identifier_box"])
    pdf.setFont(font, 8)
    pdf.drawString(layout["identifier_label"]["left"], flip(layout["identifier_label"]["baseline"]), identifier_label)
    for box in layout["write_in"]:
        rect(box, 0.5)

    name_box = layout["name_box"]
    rect(name_box)
    pdf.setFont(font, 9)
    pdf.drawString(name_box["left"] + 8, flip(name_box["top"] + 24), "이름")
    pdf.setFont(font, 8)
    for line_number, line in enumerate(INSTRUCTIONS):
        pdf.drawString(name_box["left"] + 4, flip(name_box["top"] + name_box["height"] + 18 + 13 * line_number), line)

    def bubble(x: float, y: float, r: float, label: str) -> None:
        pdf.setStrokeColor(RING_GREY)
        pdf.setLineWidth(RING_WIDTH)
        pdf.circle(x, flip(y), r, stroke=1, fill=0)
        pdf.setFillColor(DIGIT_GREY)
        pdf.setFont(font, 6)
        # Baseline a third of the glyph height below the centre puts a digit's body on the centre.
        pdf.drawCentredString(x, flip(y) - 2.1, label)

    for column in layout["identifier"]:
        for cell in column:
            bubble(cell["x"], cell["y"], cell["r"], str(cell["digit"]))

    for question in layout["questions"]:
        first = question["choices"][0]
        pdf.setFillColor(black)
        pdf.setFont(font, 8)
        pdf.drawRightString(first["x"] - first["r"] - 5, flip(first["y"]) - 2.8, str(question["number"]))
        for choice in question["choices"]:
            bubble(choice["x"], choice["y"], choice["r"], str(choice["choice"]))

    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
