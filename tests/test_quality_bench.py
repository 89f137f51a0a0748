"""The matching-quality benchmark's machinery end to end, on a small set so that it cannot rot: two
listed pictures and an unknown one through a few transforms, scored through the real ``hashmatch hash``,
``lists import``/``publish``, ``serve`` and ``scan``. A listed picture's re-encoded and mirrored copies
must be found, on their own item; the unknown picture and a tile of a listed one must not match; the
hashes the scan sent must be what the server audited, and the distances the benchmark computes itself
must agree with the server's."""

from pathlib import Path

from benchmarks.quality.corpus import Corpus, Pair, generated, tile
from benchmarks.quality.scoring import evaluate
from benchmarks.quality.summary import markdown, record
from benchmarks.quality.transforms import by_name

SEED = 7


def test_the_quality_benchmark_scores_a_small_set_through_the_real_commands(tmp_path: Path) -> None:
    photo, page = generated("photo", SEED), generated("text", SEED + 1)
    base = generated("photo", SEED + 2)
    pictures = Corpus(
        known=[photo, page],
        unknown=[generated("photo", SEED + 3)],
        pairs=[Pair("tiles of one picture", tile(base, 0, 0), tile(base, 1, 1))],
        fillers=[generated("illustration", SEED + 4)],
        mark=None,
    )
    transforms = by_name(["jpeg q75", "mirror", "phone app"])
    one = ("--workers", "1")  # fewer processes to start: the test is about the scoring, not the speed
    evaluation = evaluate(pictures, transforms, tmp_path, SEED, hash_args=one, scan_args=one)

    by_file = {(o.copy.role, o.copy.transform, o.copy.picture): o for o in evaluation.outcomes}
    assert len(by_file) == 2 * 3 + 3 + 1
    for name in (photo.name, page.name):
        for transform in ("jpeg q75", "mirror"):
            outcome = by_file["known", transform, name]
            assert outcome.found, (transform, name, outcome)
            assert outcome.items == {f"{name}.png"}
            assert outcome.own_pdq is not None
            assert outcome.own_pdq <= 48
            assert outcome.nearest_own["pdq"] == outcome.own_pdq  # the benchmark's own distances agree
    assert not any(o.matched for o in evaluation.outcomes if o.copy.role in ("unknown", "related"))
    unknown = by_file["unknown", "jpeg q75", f"gen-photo-{SEED + 3}"]
    assert unknown.nearest_own == {}
    assert unknown.nearest_other["pdq"] > 48
    assert all(o.hashes > 0 for o in evaluation.outcomes)
    assert evaluation.audited_hashes == sum(o.hashes for o in evaluation.outcomes)

    result = record(evaluation, transforms)
    rows = {row["transform"]: row for row in result["transforms"]}
    assert (rows["jpeg q75"]["found"], rows["jpeg q75"]["copies"]) == (2, 2)
    assert (rows["jpeg q75"]["false_positives"], rows["jpeg q75"]["unknown"]) == (0, 1)
    assert result["false_positives"] == 0
    assert result["margins"]["unknown"]["pdq"]["distance"] > 48
    assert result["cross_matches"] == [{"relation": "tiles of one picture", "pairs": 1, "matched": []}]
    assert "| re-encode | jpeg q75 | 2/2 | 100% |" in markdown(result)
