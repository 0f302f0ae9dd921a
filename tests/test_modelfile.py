import zipfile

import jax
import numpy as np
import pytest

from bottlenet import load, save, tasks
from bottlenet.config import TrainConfig
from bottlenet.errors import ModelFileError
from bottlenet.spec import NetSpec
from bottlenet.trainer import train


@pytest.fixture(scope="module")
def pop():
    return train(tasks.shift(5), NetSpec(5, 5, (2,)),
                 TrainConfig(seeds=4, steps=200, snapshots=(0, 100), stop="never"))


def test_round_trip_keeps_everything(pop, tmp_path):
    path = save(pop, tmp_path / "sub" / "m.npz")
    back = load(path)
    assert back.spec == pop.spec and back.task == pop.task and back.config == pop.config
    for a, b in zip(jax.tree.leaves(pop.params), jax.tree.leaves(back.params), strict=True):
        np.testing.assert_array_equal(a, b)
    for name in ("network_seeds", "solved", "solve_step", "final_loss", "diverged", "history_loss",
                 "history_max_weight", "history_step"):
        np.testing.assert_array_equal(getattr(pop, name), getattr(back, name))
    assert sorted(back.snapshots) == [0, 100]
    np.testing.assert_array_equal(back.snapshots[100][0]["w"], pop.snapshots[100][0]["w"])
    assert back.summary() == pop.summary()


@pytest.mark.slow  # 5 s; the round trip with biases stays
def test_no_bias_round_trip(tmp_path):
    p = train(tasks.shift(4), NetSpec(4, 4, (2,), bias=False), TrainConfig(seeds=2, steps=10))
    back = load(save(p, tmp_path / "nb.npz"))
    assert "b" not in back.params[0]


def test_truncated_file_rejected(pop, tmp_path):
    path = save(pop, tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load(path)


def test_flipped_bytes_rejected(pop, tmp_path):
    path = save(pop, tmp_path / "m.npz")
    data = bytearray(path.read_bytes())
    # Damage the middle of the compressed data: the zip CRC or inflate must catch it.
    for k in range(200, 260):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load(path)


def test_foreign_files_rejected(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(ModelFileError, match="not a bottlenet model file"):
        load(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError):
        load(text)
    with pytest.raises(ModelFileError, match="not found"):
        load(tmp_path / "missing.npz")


def test_inconsistent_contents_rejected(pop, tmp_path):
    path = save(pop, tmp_path / "m.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["params/0/w"] = arrays["params/0/w"][:, :3]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ModelFileError, match="shape"):
        load(bad)
    assert zipfile.is_zipfile(bad)

