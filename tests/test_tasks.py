import json

import numpy as np
import pytest

from bottlenet import tasks
from bottlenet.errors import TaskError


def test_shift_is_the_article_pattern():
    t = tasks.shift(5)
    assert (t.n_in, t.n_out, t.n_pairs) == (5, 5, 4)
    assert t.inputs == (0, 1, 2, 3) and t.targets == (1, 2, 3, 4)
    assert 4 not in t.inputs  # the last input never fires
    assert 0 not in t.targets  # the first output is never fired


def test_identity_permutation_random():
    assert tasks.identity(4).targets == (0, 1, 2, 3)
    p = tasks.permutation(20, seed=1)
    assert sorted(p.targets) == list(range(20))
    assert p.targets == tasks.permutation(20, seed=1).targets
    assert p.targets != tasks.permutation(20, seed=2).targets
    assert tasks.permutation(3, perm=[2, 0, 1]).targets == (2, 0, 1)
    r = tasks.random_mapping(50, seed=0)
    assert len(set(r.targets)) < 50  # many-to-one happens for 50 random draws


@pytest.mark.parametrize("bad", [
    lambda: tasks.shift(1), lambda: tasks.identity(0), lambda: tasks.builtin("nope", 5),
    lambda: tasks.permutation(3, perm=[0, 0, 1]),
    lambda: tasks.Task("t", 3, 3, (0, 1), (1, 5)),
    lambda: tasks.Task("t", 3, 3, (0, 1), (1, 2), (1.0, -1.0)),
    lambda: tasks.Task("t", 3, 3, (0, 1), (1,)),
])
def test_bad_tasks_raise_task_error(bad):
    with pytest.raises(TaskError):
        bad()


def test_csv_table_with_names_and_frequencies(tmp_path):
    f = tmp_path / "hello.csv"
    f.write_text("input,output,frequency\nH,E,1\nE,L,1\nL,L,1\nL,O,1\nO,end,1\n")
    t = tasks.from_file(f)
    assert t.in_names == ("H", "E", "L", "O")
    assert t.out_names == ("E", "L", "O", "end")
    assert t.n_pairs == 5 and t.frequencies == (1.0,) * 5
    # L is followed by L or O: solving means the more frequent (here the first) wins.
    assert list(t.solve_targets()) == [0, 1, 1, 1, 3]


def test_json_table(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"pairs": [["a", "b"], ["b", "c"], ["c", "a"]],
                             "frequencies": [3, 1, 1]}))
    t = tasks.from_file(f)
    assert (t.n_in, t.n_out) == (3, 3)
    np.testing.assert_allclose(t.weights(), [0.6, 0.2, 0.2])
    g = tmp_path / "u.json"
    g.write_text(json.dumps({"pairs": [{"input": "x", "output": "y", "frequency": 2},
                                       {"input": "y", "output": "x"}]}))
    assert tasks.from_file(g).frequencies == (2.0, 1.0)


@pytest.mark.parametrize(("name", "text"), [
    ("a.csv", "a,b\nc\n"),
    ("b.csv", "a,b,notanumber\n"),
    ("c.csv", ""),
    ("d.csv", "a,b\nb,b\n"),  # a single output symbol
    ("e.json", "{not json"),
    ("f.json", '{"pairs": [["a"]]}'),
    ("g.json", '{"pairs": [["a","b"],["b","a"]], "frequencies": [1]}'),
    ("h.csv", "a,b,-1\nb,a,1\n"),
])
def test_malformed_tables_raise(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(TaskError):
        tasks.from_file(f)


def test_task_dict_round_trip():
    t = tasks.from_pairs("x", [("a", "b"), ("b", "a")], [1.0, 2.0])
    assert tasks.Task.from_dict(t.to_dict()) == t
