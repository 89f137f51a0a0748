"""Video end to end, on tiny videos FFmpeg makes: a hotline hashes its video with ``hashmatch hash``
(vPDQ at one frame per second), imports and publishes the list; a hoster's ``hashmatch scan`` of its
storage (a re-encode, a resize, a trim, the video inside a longer one, an unrelated video) against a
real ``hashmatch serve`` opens one notice per matched video; the authority's compliance report counts
them. Bad vPDQ rows are refused naming the line and the frame."""

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.main import main
from db import make_engine, make_session_factory
from db.models import AuditRecord, Notice, NoticeMatch, ProbeWatch, Standing
from matcher.frames import brute_shares, parse_frames, usable
from scanner.hashing import Hash
from scanner.video import video_hash
from tests.commands import run
from tests.conftest import Configure
from tests.test_scan_http import Server

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="the ffmpeg program is missing (scripts/ensure-services)"
)
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
COPIES = ("reencoded.mkv", "resized.mov", "trimmed.mp4", "longer.mp4")


def ffmpeg(*argv: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *argv], check=True)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``material/listed.mp4`` (8 s of a Mandelbrot zoom, 160x120) and the hoster's ``storage/``."""
    root = tmp_path_factory.mktemp("videos")
    listed = root / "material" / "listed.mp4"
    storage = root / "storage"
    listed.parent.mkdir()
    storage.mkdir()
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=5", "-t", "8", *H264, str(listed))
    ffmpeg("-i", str(listed), *H264, "-crf", "40", str(storage / "reencoded.mkv"))
    ffmpeg(
        "-i", str(listed), "-vf", "scale=96:72", "-c:v", "mpeg4", "-q:v", "8", str(storage / "resized.mov")
    )
    ffmpeg("-i", str(listed), "-t", "7", *H264, str(storage / "trimmed.mp4"))
    intro = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=5:duration=1"]
    joined = ["-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]"]
    ffmpeg(*intro, "-i", str(listed), *joined, *H264, str(storage / "longer.mp4"))
    unrelated = "testsrc2=size=160x120:rate=5:duration=8"
    ffmpeg("-f", "lavfi", "-i", unrelated, "-c:v", "libvpx", "-b:v", "200k", str(storage / "unrelated.webm"))
    (storage / "notes.txt").write_text("not a video\n")
    return root


def test_copies_share_most_frames_with_the_listed_video_and_an_unrelated_one_none(videos: Path) -> None:
    def frames(path: Path) -> str:
        found = video_hash(path)
        assert isinstance(found, Hash), found
        return found.hash

    listed = usable(parse_frames(frames(videos / "material" / "listed.mp4")))
    assert listed.shape[0] == 8  # one frame per second
    for name in (*COPIES, "unrelated.webm"):
        query = usable(parse_frames(frames(videos / "storage" / name)))
        mine, theirs = brute_shares(query, listed, 31)
        both = 100 * mine >= 80 * query.shape[0] and 100 * theirs >= 80 * listed.shape[0]
        assert both == (name != "unrelated.webm"), (name, mine, query.shape[0], theirs)


@pytest.fixture
def served(videos: Path, tmp_path: Path) -> Iterator[tuple[Server, str, Path]]:
    data = tmp_path / "server"
    environment = {**os.environ, "HASHMATCH_DATA_DIR": str(data)}
    environment.pop("HASHMATCH_DATABASE_URL", None)
    list_csv = tmp_path / "list.csv"
    assert main(["hash", str(videos / "material"), "--out", str(list_csv), "--workers", "1"]) == 0

    def hashmatch(*argv: str) -> str:
        command = [sys.executable, "-m", "cli.main", *argv]
        return subprocess.run(command, env=environment, check=True, capture_output=True, text=True).stdout

    hashmatch("orgs", "create", "EOKM", "--role", "hotline")
    hashmatch("lists", "create", "videos", "--org", "EOKM", "--video-percent", "80/80")
    hashmatch("lists", "import", "EOKM/videos", str(list_csv), "--full", "--publish")
    hashmatch("orgs", "create", "Video Hosting", "--role", "hoster")
    key = hashmatch("keys", "create", "Video Hosting").split()[0]
    server = Server(data)
    server.start()
    yield server, key, data
    server.stop()


def test_a_scan_of_video_files_opens_one_notice_per_matched_video(
    served: tuple[Server, str, Path],
    videos: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    configure: Configure,
) -> None:
    server, key, data = served
    report = tmp_path / "report.csv"
    argv = ["scan", str(videos / "storage"), "--server", server.url, "--key", key, "--workers", "1"]
    assert main([*argv, "--state", str(tmp_path / "state.db"), "--report", str(report)]) == 0
    assert "6 files hashed" in capsys.readouterr().out
    with report.open() as stream:
        rows = {Path(row["ref"]).name: row for row in csv.DictReader(stream)}
    matched = sorted(name for name, row in rows.items() if row["matched"] == "true")
    assert matched == sorted(COPIES)
    assert all(rows[name]["confidence"] == "high" for name in COPIES)
    engine = make_engine(f"sqlite:///{data / 'hashmatch.db'}")
    with make_session_factory(engine)() as session:
        notices = session.scalars(select(Notice)).all()
        types = session.scalars(select(NoticeMatch.hash_type)).all()
    engine.dispose()
    assert sorted(Path(notice.ref).name for notice in notices) == sorted(COPIES)
    assert sorted(types) == ["vpdq"] * len(COPIES)

    configure(data_dir=data)
    today = datetime.now(UTC).date()
    span = ["--from", str(today), "--to", str(today + timedelta(days=1))]
    code, out, _ = run(capsys, "report", "compliance", *span)
    assert code == 0
    header, row = out.splitlines()[:2]
    assert dict(zip(header.split("\t"), row.split("\t"), strict=True))["notices"] == str(len(COPIES))


def test_bad_vpdq_rows_are_refused_naming_the_line_and_the_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], configure: Configure
) -> None:
    configure(data_dir=tmp_path / "data")
    good = "0,100," + "a5" * 32 + ",0.000"
    (tmp_path / "list.csv").write_text(f'type,hash,item\nvpdq,"{good};1,100,{"a5" * 31},1.000",v1\n')
    (tmp_path / "meta.vpdq").write_text(f"{good}\n\n1,100,{'a5' * 32},x\n")
    assert run(capsys, "orgs", "create", "EOKM", "--role", "hotline")[0] == 0
    assert run(capsys, "lists", "create", "videos", "--org", "EOKM", "--video-percent", "90/50")[0] == 0
    assert (
        "video match       90 % of the query's frames, 50 % of the listed video's"
        in run(capsys, "lists", "show", "EOKM/videos")[1]
    )
    code, _, err = run(capsys, "lists", "create", "other", "--org", "EOKM", "--video-percent", "90")
    assert (code, err.strip()) == (
        1,
        "hashmatch: error: --video-percent '90': expected QUERY/LISTED, e.g. 80/80",
    )
    code, _, err = run(capsys, "lists", "import", "EOKM/videos", str(tmp_path / "list.csv"), "--full")
    assert code != 0
    assert "line 2: invalid vpdq hash: frame line 2" in err
    assert "64 hexadecimal digits" in err
    code, _, err = run(capsys, "lists", "import", "EOKM/videos", str(tmp_path / "meta.vpdq"), "--full")
    assert code != 0
    assert "line 3: invalid vpdq frame: the timestamp" in err


def test_the_file_only_tools_send_video_hashes_to_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdq = bytes(range(32)).hex()
    (tmp_path / "list.txt").write_text(f"pdq {pdq}\nvpdq 0,100,{pdq},0.000\n")
    code, _, err = run(capsys, "index", "build", str(tmp_path / "list.txt"), "--out", str(tmp_path / "idx"))
    assert code == 1
    assert "line 2: vpdq hashes are matched through lists" in err
    assert not (tmp_path / "idx").exists()


def test_a_scan_of_many_copies_of_a_listed_video_is_never_flagged(
    served: tuple[Server, str, Path], videos: Path, tmp_path: Path
) -> None:
    """The probing guard's honest side for videos: re-encodes at every quality, resizes, trims and longer
    cuts of a listed video (frames near the frame threshold, videos at the share boundary among them),
    scanned twice, leave the hoster watched, never throttled."""
    server, key, data = served
    listed = str(videos / "material" / "listed.mp4")
    storage = tmp_path / "copies"
    storage.mkdir()
    for crf in (18, 28, 36, 42, 48):
        ffmpeg("-i", listed, *H264, "-crf", str(crf), str(storage / f"crf{crf}.mp4"))
    for width in (64, 96, 128, 200, 320):
        ffmpeg("-i", listed, "-vf", f"scale={width}:-2", *H264, str(storage / f"w{width}.mp4"))
    for start, seconds in ((0, 7), (1, 7), (0, 6), (2, 6), (0.5, 7.5)):
        ffmpeg(
            "-ss",
            str(start),
            "-i",
            listed,
            "-t",
            str(seconds),
            *H264,
            str(storage / f"t{start}-{seconds}.mp4"),
        )
    for seconds in (1, 2):
        intro = ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate=5:duration={seconds}"]
        joined = ["-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]"]
        ffmpeg(*intro, "-i", listed, *joined, *H264, str(storage / f"longer{seconds}.mp4"))
    for run_number in range(2):
        argv = ["scan", str(storage), "--server", server.url, "--key", key, "--workers", "1"]
        state = ["--state", str(tmp_path / f"state{run_number}.db")]
        assert main([*argv, *state, "--report", str(tmp_path / f"report{run_number}.csv")]) == 0
    engine = make_engine(f"sqlite:///{data / 'hashmatch.db'}")
    with make_session_factory(engine)() as session:
        watched = session.scalar(
            select(func.count()).select_from(ProbeWatch).where(ProbeWatch.hash_type == "vpdq")
        )
        levels = session.scalars(select(Standing.level)).all()
        flags = session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("probing.%"))).all()
    engine.dispose()
    assert watched  # the listed video's frames were watched the whole scan long
    assert levels == ["watched"]
    assert flags == []
