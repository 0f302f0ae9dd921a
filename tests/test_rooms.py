"""The room map in the package docstring is the import order: a module imports only its
own room and rooms listed on its line or above (imports inside functions count too)."""

import ast
import re
from pathlib import Path

import bottlenet

SRC = Path(bottlenet.__file__).parent


def rooms() -> dict[str, int]:
    """room -> its line's rank in the map."""
    ranks: dict[str, int] = {}
    names = r"[a-z_]+(?:, [a-z_]+)*"
    for line in bottlenet.__doc__.splitlines():
        m = re.match(rf"    ({names})(?:\s{{2,}}|$)", line)
        if m:
            rank = len(set(ranks.values()))
            ranks |= dict.fromkeys(m.group(1).split(", "), rank)
    return ranks


def imported_rooms(path: Path) -> set[str]:
    """The rooms a module imports (bottlenet.X..., from bottlenet import X)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("bottlenet.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "bottlenet":
                found |= {a.name for a in node.names}
            elif node.module.startswith("bottlenet."):
                found.add(node.module.split(".")[1])
    return found


def test_every_room_is_on_the_map():
    ranks = rooms()
    on_disk = {p.stem if p.suffix == ".py" else p.name for p in SRC.iterdir()
               if (p.suffix == ".py" and p.stem != "__init__")
               or (p.is_dir() and (p / "__init__.py").exists())}
    assert on_disk == set(ranks), (on_disk ^ set(ranks))
    assert ranks["errors"] == 0 and ranks["cli"] == max(ranks.values())


def test_no_room_imports_a_room_listed_after_it():
    ranks = rooms()
    wrong = []
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts == ("__init__",):
            continue  # the package itself only names rooms, loaded on first use
        room = parts[0]
        wrong += [f"{'/'.join(parts)} imports {other}" for other in imported_rooms(path)
                  if other in ranks and ranks[other] > ranks[room]]
    assert not wrong, wrong


def test_the_check_catches_an_upward_import(tmp_path):
    # the test above can fail: a module that imports a room below it is seen
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bottlenet.cli import app\n"
                      "from bottlenet import draw\n")
    assert imported_rooms(module) == {"cli", "draw"}
    ranks = rooms()
    assert ranks["cli"] > ranks["population"] > ranks["draw"]
    assert ranks["tasks"] == ranks["spec"] == ranks["activations"]  # one line, one rank
