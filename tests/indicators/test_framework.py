"""Framework validation names the culprit; orderings and effective weights behave."""

from __future__ import annotations

import polars as pl
import pytest

from indicators.framework import Framework, FrameworkError, Node


def _tree(*extra: Node) -> list[Node]:
    return [
        Node("idx", None),
        Node("A", "idx", weight=2),
        Node("B", "idx", weight=1),
        Node("a1", "A", is_indicator=True),
        Node("a2", "A", is_indicator=True, direction=-1),
        Node("b1", "B", is_indicator=True),
        *extra,
    ]


def test_orderings_and_levels() -> None:
    f = Framework.from_nodes(_tree())
    assert f.root == "idx"
    assert f.indicators == ("a1", "a2", "b1")
    assert f.aggregates == ("A", "B", "idx")
    assert f.level("idx") == 3 and f.level("A") == 2 and f.level("a1") == 1
    assert f.children("A") == ("a1", "a2")
    assert f.descendant_indicators("idx") == ("a1", "a2", "b1")
    assert list(f.directions()) == [1.0, -1.0, 1.0]


def test_effective_weights_are_path_products() -> None:
    f = Framework.from_nodes(_tree())
    assert f.effective_weights() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert f.effective_weights({"B": 2}) == pytest.approx([0.25, 0.25, 0.5])
    # rescaling all weights of a node leaves shares unchanged
    assert f.effective_weights({"A": 20, "B": 10}) == pytest.approx(f.effective_weights())


@pytest.mark.parametrize(
    "nodes,message",
    [
        (_tree(Node("a1", "A", is_indicator=True)), "duplicate code 'a1'"),
        (_tree(Node("c1", "C", is_indicator=True)), "parent 'C' is not in the framework"),
        (_tree(Node("c1", "a1", is_indicator=True)), "parent 'a1' is an indicator"),
        (_tree(Node("D", "idx")), "without children: D"),
        (_tree(Node("z", None, is_indicator=True)), "without a parent aggregate: z"),
        (_tree(Node("x", "idx", is_indicator=True, direction=0)), "direction must be 1 or -1"),
        (_tree(Node("y", "idx", is_indicator=True, weight=-1)), "weight must be a non-negative"),
        ([Node("r1", None), Node("r2", None), Node("i", "r1", is_indicator=True), Node("j", "r2", is_indicator=True)],
         "exactly one root"),
        ([Node("r", None), Node("p", "q"), Node("q", "p"), Node("i", "r", is_indicator=True)], "cycle"),
    ],
)
def test_validation_names_the_culprit(nodes: list[Node], message: str) -> None:
    with pytest.raises(FrameworkError, match=message):
        Framework.from_nodes(nodes)


def test_weight_overrides_are_checked() -> None:
    f = Framework.from_nodes(_tree())
    with pytest.raises(FrameworkError, match="unknown node 'nope'"):
        f.weights({"nope": 1})
    with pytest.raises(FrameworkError, match="node 'A': the weights of its children are all zero"):
        f.weights({"a1": 0, "a2": 0})


def test_from_imeta_ignores_groups_and_reads_the_tree() -> None:
    meta = pl.DataFrame(
        {
            "Level": [1, 1, 2, None],
            "iCode": ["x", "y", "Index", "grp"],
            "iName": ["X", "Y", "Index", "Group"],
            "Direction": [1, -1, 1, None],
            "Weight": [1.0, 2.0, 1.0, None],
            "Parent": ["Index", "Index", None, None],
            "Type": ["Indicator", "Indicator", "Aggregate", "Group"],
        }
    )
    f = Framework.from_imeta(meta)
    assert f.indicators == ("x", "y") and f.root == "Index"
    assert f.effective_weights() == pytest.approx([1 / 3, 2 / 3])
    bad = meta.with_columns(pl.Series("Type", ["Indicator", "Indicator", "Aggregate", "Weird"]))
    with pytest.raises(FrameworkError, match="unknown Type 'Weird'"):
        Framework.from_imeta(bad)


def test_the_aggregate_order_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring asks for the bottom-up order on every call (1,251 times in a 2,844-unit refresh's uncertainty step):
    the frozen tree computes it once."""
    fw = Framework.from_nodes([Node("i", None), Node("a", "i"), Node("b", "i"), Node("x", "a", is_indicator=True),
                               Node("y", "b", is_indicator=True)])
    first = fw.aggregates
    levels = []
    monkeypatch.setattr(Framework, "level", lambda self, code: levels.append(code) or 1)
    assert fw.aggregates == first == ("a", "b", "i") and levels == []
