"""grader/text.py: the wording check reasons share."""

from __future__ import annotations

from fractions import Fraction

from grader.text import clip, format_labels, join, name_list, percent, short, show_list


def test_short_is_bounded_and_typed():
    assert short("80") == "'80'" and short(80) == "80" and short(None) == "null"
    assert len(short("x" * 500)) == 60 and short("x" * 500).endswith("...")
    assert clip("abcdef", 5) == "ab..."


def test_lists_are_bounded():
    objs = [{"metadata": {"name": f"p{i}", "namespace": "ns"}} for i in range(10)]
    assert name_list(objs[:2]) == "p0, p1"
    assert name_list(objs).endswith("p7 and 2 more")
    assert name_list(objs[:1], with_ns=True) == "ns/p0"
    assert show_list([str(i) for i in range(10)]) == "[0, 1, 2, 3, 4, 5, 6, 7, and 2 more]"
    assert join([str(i) for i in range(8)]) == "0; 1; 2; 3; 4; 5; and 2 more problems"


def test_labels_and_percentages():
    assert format_labels({"app": "web", "canary": True}) == "{app: web, canary: true}"
    assert format_labels({}) == "{}" and format_labels("app=web") == "'app=web'"
    assert percent(Fraction(4, 5)) == "80%" and percent(Fraction(8, 11)) == "72.7%"
