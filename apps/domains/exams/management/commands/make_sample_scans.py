"""ARCHITECTURE §4 AI, exams, for newcomers and demos: filled answer sheets of an exam, as scans and phone photos.

Each sheet is the exam's real PDF rendered and filled for one student of the lecture (their identifier per the
tenant's setting) with answers that are mostly right; `truth.json` says what each file holds.
"""

import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from apps.domains.exams import selectors
from apps.domains.exams.models import Exam
from apps.domains.exams.omr.render import encode_image, fill_bubbles, photograph, render_page


class Command(BaseCommand):
    help = "시험의 OMR 답안지를 학생별로 칠한 예시 스캔(PNG)과 휴대폰 사진(JPEG)을 만듭니다."

    def add_arguments(self, parser):
        parser.add_argument("exam_id", type=int)
        parser.add_argument("--out", type=Path, help="출력 폴더 (기본: sample_scans/exam-<id>)")
        parser.add_argument("--count", type=int, default=5, help="답안지 수 (기본 5)")
        parser.add_argument("--dpi", type=int, default=200)
        parser.add_argument("--photo", action="store_true", help="스캔과 함께 기울어지고 그늘진 사진도 만듭니다")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, exam_id, out, count, dpi, photo, seed, **options):
        if not 1 <= count <= 500 or not 72 <= dpi <= 600:
            raise CommandError("--count must be 1..500 and --dpi 72..600")
        exam = Exam.objects.select_related("lecture", "session", "tenant").filter(id=exam_id).first()
        if exam is None:
            raise CommandError(f"exam {exam_id} not found")
        out = out or Path("sample_scans") / f"exam-{exam.id}"
        out.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        layout = selectors.exam_sheet_layout(exam=exam)
        blank, _ = render_page(selectors.exam_sheet_pdf(exam=exam), dpi)
        source = selectors.exam_settings_get(tenant=exam.tenant).identifier_source
        students = selectors.exam_roster(exam=exam)
        truth = []
        for index in range(count):
            student = students[index] if index < len(students) else None
            identifier = selectors.student_identifier(student=student, source=source) if student else None
            identifier = identifier or f"{90000000 + index:08d}"
            answers = {}
            for number in range(1, exam.question_count + 1):
                right = exam.answer_key[number - 1] if len(exam.answer_key) >= number else None
                right = right[0] if isinstance(right, list) else right
                roll = rng.random()
                if roll < 0.05:
                    answers[number] = None
                elif roll < 0.75 and right is not None:
                    answers[number] = right
                else:
                    answers[number] = int(rng.integers(1, exam.choice_count + 1))
            style = "pencil" if rng.random() < 0.5 else "pen"
            marks = {"answers": {n: c for n, c in answers.items() if c is not None}, "identifier": identifier}
            filled = fill_bubbles(blank, layout, dpi, marks, style=style, seed=seed * 1000 + index)
            entry = {"student_id": student.id if student else None, "identifier": identifier, "style": style,
                     "answers": {str(n): c for n, c in answers.items()}, "files": []}
            scan = out / f"sheet-{index + 1:03d}.png"
            scan.write_bytes(encode_image(filled))
            entry["files"].append({"file": scan.name, "kind": "scan"})
            if photo:
                shot = photograph(filled, rotate=float(rng.uniform(-4, 4)), perspective=0.02, shadow=0.35, blur=0.8,
                                  noise=4, margin=0.06, background=int(rng.integers(40, 121)), seed=seed * 1000 + index)
                name = out / f"photo-{index + 1:03d}.jpg"
                name.write_bytes(encode_image(shot, fmt="jpeg", quality=85))
                entry["files"].append({"file": name.name, "kind": "photo"})
            truth.append(entry)
        (out / "truth.json").write_text(json.dumps({"exam_id": exam.id, "dpi": dpi, "sheets": truth},
                                                   ensure_ascii=False, indent=2), encoding="utf-8")
        self.stdout.write(f"{len(truth)} sheet(s) written to {out}")
