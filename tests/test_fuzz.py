"""A short run of the decoder's fuzz target (benchmarks/fuzz_decoder.py): from real
archives of every format, mutated inputs must decode or be refused with an ArchiveError;
a crash, a hang over 1 s or memory past 2 GiB fails. The long run (10^6 inputs) is the
benchmark's."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs, needs_kernels

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_decoder.py"


def harness():
    """benchmarks/fuzz_decoder.py imported into this process (its instrumented codec)."""
    needs("atheris", "fuzz-tests")
    needs_kernels()
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import fuzz_decoder
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return fuzz_decoder


@pytest.mark.slow
def test_a_short_fuzzing_run_finds_nothing(tmp_path):
    needs("atheris", "fuzz-tests")
    needs_kernels()
    out = subprocess.run([sys.executable, str(SCRIPT), "--runs", "400", "--seconds", "90",
                          "--artifacts", str(tmp_path / "findings")],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Done" in out.stderr and not list((tmp_path / "findings").iterdir())


@pytest.mark.slow  # (it imports the instrumented codec into this process)
def test_the_seeds_are_real_archives_of_every_format(tmp_path, monkeypatch):
    fuzz_decoder = harness()
    from bottlenet.compress import container
    from bottlenet.compress.codec import decompress as codec_decompress

    fuzz_decoder.seeds(tmp_path)
    versions = {p.read_bytes()[4] for p in tmp_path.iterdir()}
    assert versions == set(range(1, container.FORMAT_VERSION + 1)) == set(range(1, 16))
    for path in tmp_path.iterdir():
        fuzz_decoder.one_input(path.read_bytes())  # each decodes, or is refused cleanly
    # (earlier findings: damaged archives, refused)
    findings = [p for p in tmp_path.iterdir() if p.name.startswith("finding-")]
    assert len(findings) == len(fuzz_decoder.FINDINGS)
    for path in findings:
        with pytest.raises(container.ArchiveError):
            codec_decompress(path.read_bytes())
        path.unlink()
    # The harness's primed models (fuzz_decoder._LEARNT: the large arrays mapped
    # copy-on-write from one image per settings, the small ones copied) decode every seed
    # as priming each model does: a learnt array missing from the image would show here,
    # and so would a model writing into the image that the next one maps.
    from bottlenet.compress import codec, kernels
    from bottlenet.compress.model import Model

    prime, primed = Model.prime, []                    # Model's methods restored after the test
    monkeypatch.setattr(Model, "prime", lambda model: primed.append(model.settings)
                        or prime(model))
    monkeypatch.setattr(Model, "__init__", Model.__init__)
    plain = {p.name: codec.decompress(p.read_bytes()) for p in tmp_path.iterdir()}
    with_primer = [settings for settings in primed if settings.primer]
    monkeypatch.setattr(kernels, "Predictor", kernels.Predictor)
    mapped = []
    arrays = fuzz_decoder._Primed.arrays
    monkeypatch.setattr(fuzz_decoder._Primed, "arrays",
                        lambda self: mapped.append(self) or arrays(self))
    fuzz_decoder.cache_priming()
    for _ in range(3):                                 # the later passes map the images
        assert {p.name: codec.decompress(p.read_bytes()) for p in tmp_path.iterdir()} == plain
    # every model with a primer but the first with its settings (all kept)
    assert len(mapped) == 3 * len(with_primer) - len(set(with_primer)) > 40


@pytest.mark.slow  # (it imports the instrumented codec into this process)
def test_the_harness_decodes_at_most_its_members_an_input(tmp_path, monkeypatch):
    """--members: an input's members past the limit are not decoded (each would build a
    model), and stopping there is no finding."""
    fuzz_decoder = harness()
    from bottlenet.compress import codec

    fuzz_decoder.seeds(tmp_path)
    two = (tmp_path / "v15-members.bn").read_bytes()   # two members one after another
    build, built = codec._build, []
    for most, models in ((0, 2), (2, 2), (1, 1)):
        monkeypatch.setattr(codec, "_build", lambda s, extra=0: built.append(s)
                            or build(s, extra))
        fuzz_decoder.limit_members(most)
        built.clear()
        fuzz_decoder.one_input(two)
        assert len(built) == models, most


@pytest.mark.slow  # (it imports the instrumented codec into this process)
def test_primed_images_are_made_before_fuzzing_never_inside_an_input(tmp_path, monkeypatch):
    """Copying a primed model into its image is the harness's cost: on CI's machine one
    copy made inside an input passed libFuzzer's 1 s limit. warm_up makes the seeds'
    images; afterwards a model with settings no seed has is primed, and no image made."""
    fuzz_decoder = harness()
    from bottlenet.compress import codec, kernels
    from bottlenet.compress.model import Model, Settings

    fuzz_decoder.seeds(tmp_path)
    monkeypatch.setattr(Model, "prime", Model.prime)   # restored after the test
    monkeypatch.setattr(Model, "__init__", Model.__init__)
    monkeypatch.setattr(kernels, "Predictor", kernels.Predictor)
    monkeypatch.setattr(fuzz_decoder._Filling, "on", True)
    made, init = [], fuzz_decoder._Primed.__init__
    monkeypatch.setattr(fuzz_decoder._Primed, "__init__",
                        lambda self, predictor: made.append(self) or init(self, predictor))
    fuzz_decoder.cache_priming()
    fuzz_decoder.warm_up(tmp_path)
    assert len(made) > 10 and not fuzz_decoder._Filling.on
    seeded = len(made)
    new = codec.compress(b"It was the age of foolishness. " * 8, Settings(hidden=5)).archive
    for _ in range(2):
        fuzz_decoder.one_input(new)
    assert codec.decompress(new) == b"It was the age of foolishness. " * 8
    assert len(made) == seeded
