"""The files the README's examples read, made the same way on every run (seeded): a hotline's CSV export
with one bad line, a retraction file, a folder of pictures, a hoster's storage, a stream of hashes."""

import hashlib
import json
import random
import shutil
from pathlib import Path

from tests.fixtures.images import mirrored, photo, save_jpeg, with_border

FIXTURES = Path(__file__).parent / "fixtures"
SEED = 20261123
EXPORT = "eokm-2026-11-23.csv"
EXPORT_PDQ = 1000
EXPORT_LOW_QUALITY = 357
LISTED_QUERY = "18dd5b48d44fc88a8029ab9afb0cb3c06111363cde1ce1831cc900a1acdf6df7"  # 20 bits from a listed PDQ


def write_example_files(workdir: Path) -> None:
    """Write every file the examples name into ``workdir``."""
    generator = random.Random(SEED)
    codes = [f"{generator.getrandbits(256):064x}" for _ in range(EXPORT_PDQ)]
    rows = ["type,hash,quality,source"]
    for number, code in enumerate(codes):
        quality = 30 + number % 20 if number < EXPORT_LOW_QUALITY else 90
        rows.append(f"pdq,{code},{quality},case-{number // 10}")
    rows.append("md5,3b5d5c3712955042212316173ccf37be,,case-100")
    rows.append("pdq,2b6cb4b0f5e3c0d7,100,case-101")  # line 1003: 16 hex digits, not 64
    (workdir / EXPORT).write_text("\n".join(rows) + "\n")
    (workdir / "retract.csv").write_text(f"type,hash,action\npdq,{codes[0]},retract\n")

    shutil.copy(FIXTURES / "sample_list.txt", workdir / "my_list.txt")
    shutil.copy(FIXTURES / "sample_queries.txt", workdir / "queries.txt")

    case = workdir / "material" / "2024" / "case-17"
    case.mkdir(parents=True)
    for seed, name in enumerate(("a.jpg", "b.jpg", "c.jpg")):
        save_jpeg(photo(seed, (640, 480)), case / name)

    uploads = workdir / "uploads"
    (uploads / "users" / "1").mkdir(parents=True)
    (uploads / "users" / "2").mkdir(parents=True)
    shutil.copy(case / "a.jpg", uploads / "copy.jpg")
    save_jpeg(mirrored(photo(1, (640, 480))), uploads / "users" / "1" / "mirrored.jpg")
    save_jpeg(with_border(photo(2, (640, 480))), uploads / "users" / "2" / "framed.jpg")
    for seed in range(100, 124):
        save_jpeg(photo(seed, (640, 480)), uploads / "users" / str(seed % 2 + 1) / f"holiday-{seed}.jpg")
    (uploads / "notes.txt").write_text("not an image\n")

    lines = [
        {"type": "pdq", "hash": LISTED_QUERY, "ref": "s3://up/a.jpg"},
        {"type": "md5", "hash": "ad2170c530bf8ff9f9b8635a56ede279", "ref": "s3://up/a.jpg"},
    ]
    for number in range(4):
        content = f"upload {number}".encode()
        lines.append(
            {"type": "md5", "hash": hashlib.md5(content).hexdigest(), "ref": f"s3://up/{number}.txt"}
        )
    text = [json.dumps(line) for line in lines]
    text.insert(4, json.dumps({"type": "pdq", "hash": "2b6cb4b0f5e3", "ref": "s3://up/bad.jpg"}))
    (workdir / "hashes.ndjson").write_text("\n".join(text) + "\n")
