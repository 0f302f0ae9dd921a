"""`bottlenet compress` / `decompress` as a user runs them."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import needs_kernels

needs_kernels()  # before the compressor's imports, which load its compiled kernels

from bottlenet.cli import app

runner = CliRunner()
TEXT = b"Alice was beginning to get very tired of sitting by her sister on the bank.\n" * 40


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_compress_decompress_round_trip(tmp_path):
    src = tmp_path / "alice.txt"
    src.write_bytes(TEXT)
    r = run("compress", src, "--hidden", 8, "--orders", "1-3,w", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    archive = tmp_path / "alice.txt.bn"
    assert rep["archive"] == str(archive) and archive.stat().st_size == rep["archive_bytes"]
    assert rep["bpc"] < 3.0 and rep["settings"]["hidden"] == 8
    out = tmp_path / "back.txt"
    r = run("decompress", archive, "-o", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == TEXT
    # Default output name: the archive without .bn; it exists now, so --force is needed.
    r = run("decompress", archive)
    assert r.exit_code == 2 and "exists" in r.stderr
    src.unlink()
    assert run("decompress", archive).exit_code == 0
    assert src.read_bytes() == TEXT


def with_and_without(tmp_path, src, flag: str) -> dict[str, dict]:
    """`compress --FLAG` and `--no-FLAG` on src (8 units, JSON): each archive decodes
    to src; their reports, by flag."""
    reports = {}
    for f in (f"--{flag}", f"--no-{flag}"):
        archive = tmp_path / f"{f}.bn"
        r = run("compress", src, "-o", archive, f, "--hidden", 8, "--json")
        assert r.exit_code == 0, r.output
        reports[f] = json.loads(r.stdout)
        assert run("decompress", archive, "-o", tmp_path / f"{f}.out").exit_code == 0
        assert (tmp_path / f"{f}.out").read_bytes() == src.read_bytes()
    return reports


def test_the_primer_is_read_for_prose_unless_told_not_to(tmp_path):
    src = tmp_path / "alice.txt"
    src.write_bytes(TEXT)
    on, off = with_and_without(tmp_path, src, "primer").values()
    assert (on["settings"]["primer"], off["settings"]["primer"]) == (1, 0)
    assert on["archive_bytes"] < off["archive_bytes"]
    r = run("compress", src, "-o", tmp_path / "x.bn")
    words = " ".join(r.stdout.split())  # the table wraps its cells
    assert "primed with English prose" in words and "primer included" in words


def test_x86_code_is_filtered_unless_told_not_to(tmp_path):
    from test_compress_code import elf64, x86_like

    src = tmp_path / "program"
    src.write_bytes(elf64(x86_like(8_000), [(1, 6, 4096, 8_000)]))
    r = run("compress", src, "-o", tmp_path / "a.bn", "--hidden", 8)
    assert r.exit_code == 0, r.output
    assert "8,000 bytes in 1 range, calls" in " ".join(r.stdout.split())
    on, off = with_and_without(tmp_path, src, "code-filter").values()
    assert (on["settings"]["code_ranges"], off["settings"]["code_ranges"]) == ([4096, 12_096], [])
    assert on["archive_bytes"] < off["archive_bytes"]


def test_images_read_their_pixels_neighbours_unless_told_not_to(tmp_path):
    from test_compress_image import pgm, photo

    src = tmp_path / "photo.pgm"
    src.write_bytes(pgm(photo(64, 40)))
    r = run("compress", src, "-o", tmp_path / "a.bn", "--hidden", 8)
    assert r.exit_code == 0, r.output
    assert "2,560 bytes of pixels, 64 a row, 1 a pixel" in " ".join(r.stdout.split())
    on, off = with_and_without(tmp_path, src, "image").values()
    assert (on["settings"]["image"], off["settings"]["image"]) == ([13, 2573, 64, 1], [])
    assert on["archive_bytes"] < off["archive_bytes"]


def test_a_fax_without_a_header_is_read_as_a_bilevel_image_unless_told_not_to(tmp_path):
    from test_compress_image import drawing, raw

    src = tmp_path / "page.fax"
    src.write_bytes(raw(drawing(480, 200)))                   # 60 bytes a row
    r = run("compress", src, "-o", tmp_path / "a.bn", "--hidden", 8)
    assert r.exit_code == 0, r.output
    assert ("bilevel image 12,000 bytes of pixels, 60 a row, 8 pixels a byte"
            in " ".join(r.stdout.split()))
    on, off = with_and_without(tmp_path, src, "image").values()
    assert (on["settings"]["image"], off["settings"]["image"]) == ([0, 12_000, 60, 1], [])
    assert on["archive_bytes"] < off["archive_bytes"]


def test_utf16_text_is_read_as_two_planes_unless_told_not_to(tmp_path):
    from test_compress_planes import prose

    src = tmp_path / "notes.txt"
    src.write_bytes(prose(20_000).encode("utf-16"))
    r = run("compress", src, "-o", tmp_path / "a.bn", "--hidden", 8)
    assert r.exit_code == 0, r.output
    assert "UTF-16 text read as two planes" in " ".join(r.stdout.split())
    on, off = with_and_without(tmp_path, src, "utf16").values()
    assert (on["settings"]["planes"], off["settings"]["planes"]) == (2, 1)
    assert on["archive_bytes"] < off["archive_bytes"]


def test_stats_and_plot(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(TEXT)
    pic = tmp_path / "bits.png"
    r = run("compress", src, "--plot", pic, "--json", "--hidden", 8)
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["verified"] is True
    assert [c["name"] for c in rep["classic"]] == ["gzip -9", "bzip2 -9", "xz -9e"]
    assert abs(sum(c["share_of_bits"] for c in rep["bits_by_class"]) - 1) < 1e-9
    assert sum(c["bytes"] for c in rep["bits_by_class"]) == len(TEXT)
    assert pic.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run("compress", src, "--stats", "--force", "--hidden", 8)
    assert r.exit_code == 0 and "xz -9e" in r.stdout and "where the bits go" in r.stdout


def test_bad_input_gives_one_line_and_exit_2(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(TEXT)
    odd_name = tmp_path / "t.arc"
    assert run("compress", src, "--hidden", 4, "-o", odd_name).exit_code == 0
    cases = [
        (["compress", tmp_path / "missing.txt"], "no such file"),
        (["compress", tmp_path], "is a folder, not a file"),
        (["compress", src, "--hidden", 0], "hidden units"),
        (["compress", src, "--orders", "1,zz"], "--orders"),
        (["compress", src, "--orders", "9"], "orders"),
        (["compress", src, "--level", "huge"], "unknown level 'huge'"),
        (["compress", src, "--plot", tmp_path / "x.gif"], ".svg or .png"),
        (["decompress", src, "-o", tmp_path / "o"], "not a bottlenet archive"),
        (["decompress", odd_name], "does not end in .bn"),
        (["compress", src, "-o", odd_name], "exists; use --force"),
    ]
    for args, message in cases:
        r = run(*args)
        assert r.exit_code == 2, (args, r.output)
        assert message in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
        assert "Traceback" not in r.output


def test_damaged_archive_exit_2_and_nothing_written(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(TEXT)
    assert run("compress", src, "--hidden", 8).exit_code == 0
    archive = tmp_path / "t.txt.bn"
    blob = archive.read_bytes()
    archive.write_bytes(blob[: len(blob) - 5])
    out = tmp_path / "o.txt"
    r = run("decompress", archive, "-o", out)
    assert r.exit_code == 2 and "truncated" in r.stderr
    assert not out.exists() and not (tmp_path / "o.txt.part").exists()


def test_standard_input_and_output_without_jax(monkeypatch):
    """`-` is standard input and output; with JAX made unimportable both commands still
    run (they never need it). The same through real pipes: the slow test below."""
    monkeypatch.setitem(sys.modules, "jax", None)  # `import jax` now fails
    r = runner.invoke(app, ["compress", "-", "--hidden", "8", "--orders", "1-2"], input=TEXT)
    assert r.exit_code == 0, r.stderr
    archive = r.stdout_bytes
    assert archive and not archive.startswith(b"Alice") and b"standard output" in r.stderr_bytes
    r = runner.invoke(app, ["decompress", "-"], input=archive)
    assert r.exit_code == 0 and r.stdout_bytes == TEXT and b"checksum verified" in r.stderr_bytes
    r = run("compress", "-", "--json")
    assert r.exit_code == 2 and "-o FILE" in r.stderr


@pytest.mark.slow  # two fresh processes importing the compressor: 7 s
def test_round_trip_through_pipes_without_jax():
    code = ("import sys; sys.modules['jax'] = None\n"
            "from bottlenet.cli import main; main()")
    cmd = [sys.executable, "-c", code]
    archive = subprocess.run([*cmd, "compress", "-", "--hidden", "8", "--orders", "1-2"],
                             input=TEXT, capture_output=True, check=True).stdout
    back = subprocess.run([*cmd, "decompress", "-"], input=archive, capture_output=True,
                          check=True)
    assert back.stdout == TEXT and b"checksum verified" in back.stderr


def test_levels_set_the_model_and_options_beside_them_win(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(TEXT)
    # (max reads the novels before any prose: primer 2; --no-primer none)
    for level, extra, hidden, skip, primer in (
            ("fast", [], 16, 2**-10, 1), ("max", [], 48, 2**-12, 2),
            ("max", ["--hidden", 8], 8, 2**-12, 2), ("max", ["--no-primer"], 48, 2**-12, 0)):
        archive = tmp_path / f"{level}{len(extra)}{primer}.bn"
        r = run("compress", src, "--level", level, *extra, "--json", "-o", archive)
        assert r.exit_code == 0, r.output
        used = json.loads(r.stdout)["settings"]
        assert (used["hidden"], used["skip"], used["primer"]) == (hidden, skip, primer)
        back = tmp_path / "back.txt"
        assert run("decompress", archive, "-o", back, "--force").exit_code == 0
        assert back.read_bytes() == TEXT


def test_the_table_follows_memory(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(TEXT * 4)
    sizes = {}
    for cap in ("1M", "4M"):
        r = run("compress", src, "--hidden", 8, "--memory", cap, "--json", "-o",
                tmp_path / f"{cap}.bn")
        assert r.exit_code == 0, r.output
        bits = json.loads(r.stdout)["settings"]["table_bits"]
        sizes[cap] = bits
        assert (1 << bits) * (2 * 8 + 1) <= {"1M": 2**20, "4M": 2**22}[cap]  # int16 codes
    assert sizes["4M"] == sizes["1M"] + 2  # the largest table within each cap
    r = run("compress", src, "--memory", "10K")
    assert r.exit_code == 2 and "--memory 10,240 bytes is too small" in r.stderr
    r = run("compress", src, "--memory", "lots")
    assert r.exit_code == 2 and "takes a size such as 200M" in r.stderr
    r = run("compress", src, "--table-bits", 20, "--memory", "1M")
    assert r.exit_code == 2 and "more than --memory" in r.stderr


def test_a_tar_archive_s_image_is_written_as_a_member_of_its_own(tmp_path):
    from test_compress_image import pgm, photo
    from test_compress_segments import prose, tar_of

    src = tmp_path / "bundle.tar"
    src.write_bytes(tar_of([("notes.txt", prose(40_000)), ("photo.pgm", pgm(photo(240, 200))),
                            ("more.txt", prose(40_000, 2))]))
    r = run("compress", src, "-o", tmp_path / "a.bn", "--hidden", 8, "--json")
    assert r.exit_code == 0, r.output
    members = json.loads(r.stdout)["members"]
    assert [bool(m["settings"]["image"]) for m in members] == [False, True, False]
    shown = " ".join(run("compress", src, "-o", tmp_path / "b.bn", "--hidden", 8).stdout.split())
    assert "members 3: the tar" in shown and "image 48 KB" in shown
    out = tmp_path / "back.tar"
    assert run("decompress", tmp_path / "a.bn", "-o", out).exit_code == 0
    assert out.read_bytes() == src.read_bytes()
