"""The one-pass YAML builder (:mod:`simulator.kernel.yamlevents`) reads every document
exactly as ``yaml.load(text, Loader=yaml.SafeLoader)`` does: the same types, values, key
order and shared objects, and a YAML error where PyYAML has one; and it counts alias
expansion exactly as composing the document and walking its node graph does."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import InputError
from simulator.kernel.yamlevents import EMPTY, Refused, build_document
from simulator.kernel.yamlfile import MAX_ALIAS_NODES, MAX_DEPTH, read_yaml_mapping


def same(ours: Any, theirs: Any, pairs: dict[int, int] | None = None) -> bool:
    """Equal with the same types all the way down (``1 == True`` is not enough), dict keys
    in the same order, and the same objects shared: where PyYAML gives one object twice
    (an alias), so must we, and only there."""
    pairs = {} if pairs is None else pairs
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, (dict, list, set)):
        if id(ours) in pairs:
            return pairs[id(ours)] == id(theirs)
        if id(theirs) in pairs.values():
            return False
        pairs[id(ours)] = id(theirs)
    if isinstance(ours, dict):
        return len(ours) == len(theirs) and all(
            same(k1, k2, pairs) and same(v1, v2, pairs) for (k1, v1), (k2, v2) in zip(ours.items(), theirs.items()))
    if isinstance(ours, list):
        return len(ours) == len(theirs) and all(same(a, b, pairs) for a, b in zip(ours, theirs))
    if isinstance(ours, set):
        return sorted(map(repr, ours)) == sorted(map(repr, theirs))
    if isinstance(ours, float):
        return (math.isnan(ours) and math.isnan(theirs)) or (ours == theirs and str(ours) == str(theirs))
    if isinstance(ours, datetime):
        return bool(ours == theirs and ours.utcoffset() == theirs.utcoffset())
    return bool(ours == theirs)


def build(text: str) -> Any:
    return build_document(text, MAX_DEPTH, MAX_ALIAS_NODES)


def events(text: str, loader: Any) -> list[str] | None:
    try:
        return [repr(event) for event in yaml.parse(text, Loader=loader)]
    except yaml.YAMLError:
        return None


def parsers_disagree(text: str) -> bool:
    """libyaml's parser and PyYAML's own disagree on a few inputs (a tab inside a plain
    scalar, ``!`` before a comma or a line end). Files are parsed by libyaml, as they were
    before the one-pass builder: for those the reference is CSafeLoader, which constructs
    libyaml's events with the same SafeConstructor."""
    return events(text, yaml.SafeLoader) != events(text, yaml.CSafeLoader)


def assert_reads_as_pyyaml(text: str) -> None:
    """``text`` reads as SafeLoader reads it (as CSafeLoader does where the parsers
    disagree), or both refuse it."""
    loader = yaml.CSafeLoader if parsers_disagree(text) else yaml.SafeLoader
    try:
        expected = yaml.load(text, Loader=loader)
    except yaml.YAMLError:
        with pytest.raises(yaml.YAMLError):
            build(text)
        return
    except (ValueError, KeyError, AttributeError):  # PyYAML's constructors on a bad !!int, timestamp, ...
        with pytest.raises(Refused):
            build(text)
        return
    data = build(text)
    if data is EMPTY:
        assert expected is None
        return
    assert same(data, expected), (text, data, expected)


# -- generated data, dumped by PyYAML in every style

#: Strings that look like something else to YAML 1.1's resolver.
TRICKY = ["", "~", "null", "Null", "NULL", "yes", "No", "ON", "off", "y", "n", "true", "False", "0", "-0", "+1",
          "012", "0o12", "0x1F", "0b101", "1_000", "1:30", "190:20:30", "1e3", "1.5e-3", ".5", "-.inf", ".NaN",
          "6.8523015e+5", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2002-12-14 21:59:43.10 -5", "<<", "=",
          "!", "&", "*", "- x", "a: b", "# c", "'q'", '"q"', "@x", "`x", "%x", "x\ny", " lead", "trail ", "€",
          "1/h", "a0@x.beam", "ping", "9223372036854775808", "12345678901234567890123"]
TIMEZONES = st.one_of(st.none(), st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-12 * 60, 14 * 60)))
SCALARS = st.one_of(
    st.text(max_size=12), st.sampled_from(TRICKY), st.integers(), st.integers(-300, 300),
    st.floats(), st.booleans(), st.none(), st.dates(), st.datetimes(timezones=TIMEZONES), st.binary(max_size=12))
KEYS = st.one_of(st.text(max_size=8), st.sampled_from(TRICKY), st.integers(-1000, 2**70), st.booleans(), st.none(),
                 st.floats(allow_nan=False), st.dates())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4)
                      | st.sets(KEYS.filter(lambda key: not isinstance(key, (float, bool))), max_size=3),
                      max_leaves=20)
DUMP_OPTIONS = st.fixed_dictionaries({}, optional={
    "default_flow_style": st.sampled_from([False, True, None]),
    "default_style": st.sampled_from([None, '"', "'", "|", ">"]),
    "canonical": st.booleans(),
    "explicit_start": st.booleans(),
    "allow_unicode": st.booleans(),
    "width": st.sampled_from([20, 80, 1000]),
    "indent": st.sampled_from([2, 4]),
    "sort_keys": st.booleans(),
})


@st.composite
def shared_data(draw: st.DrawFn) -> Any:
    """A mapping or list whose containers are drawn from a small pool, so that some appear
    more than once: the dumper writes those once with an anchor and then as aliases."""
    pool = draw(st.lists(st.lists(VALUES, max_size=3) | st.dictionaries(KEYS, VALUES, max_size=3), max_size=3))
    item = st.sampled_from(pool) | VALUES if pool else VALUES
    inner = st.lists(item, max_size=3) | st.dictionaries(KEYS, item, max_size=3)
    return draw(st.dictionaries(KEYS, item | inner, max_size=6) | st.lists(item | inner, max_size=6) | SCALARS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=shared_data(), options=DUMP_OPTIONS)
def test_dumped_data_reads_as_pyyaml_reads_it(data: Any, options: dict[str, Any]) -> None:
    assert_reads_as_pyyaml(yaml.safe_dump(data, **options))


# -- hand-written anchors, aliases and merges

#: Keys of one character (which CPython shares, and PyYAML 6.0.4's merge tells apart by
#: identity), of several, and that resolve to other types.
MERGE_KEYS = ["a", "b", "ab", "cd", "long_key", "=", "1", "!!str 1", "10", "true", "~", "2001-12-14"]
MERGE_VALUES = ["1", "x", "yes", "~", "1.5", "'q'", "[1, 2]", "{k: v}", "0x10", "!!str 7", ".inf"]


@st.composite
def merge_documents(draw: st.DrawFn) -> str:
    """Anchored mappings merged into others, singly, in lists and by several ``<<`` keys,
    overridden by their own keys or not, flow or block style. In half the documents each
    mapping has keys of its own (so merges are done by the builder, unless a mapping that
    overrode or repeated a key is merged); in the other half keys are shared, collide, and
    now and then something PyYAML refuses is merged (PyYAML reads those)."""
    flow = draw(st.booleans())
    apart = draw(st.booleans())
    keys_used = draw(st.sampled_from([MERGE_KEYS, ["a", "b", "ab", "cd"]]))  # all strings, half the time

    def mapping(pairs: list[tuple[str, str]], indent: str) -> str:
        if flow:
            return "{" + ", ".join(f"{key}: {value}" for key, value in pairs) + "}"
        return "".join(f"\n{indent}{key}: {value}" for key, value in pairs) if pairs else " {}"

    def pairs(owner: int, max_size: int = 4) -> list[tuple[str, str]]:
        keys = draw(st.lists(st.sampled_from(keys_used), min_size=1, max_size=max_size))
        if apart:  # one character ("a", "b", ...) or several, the owner's own
            keys = [chr(ord("a") + owner) if len(key) == 1 else f"{key}{owner}" for key in keys if key.isalpha()]
            if draw(st.integers(0, 4)):
                keys = list(dict.fromkeys(keys))  # mostly no key twice
        return [(key, draw(st.sampled_from(MERGE_VALUES))) for key in keys]

    lines = []
    bases = draw(st.integers(1, 4))
    for i in range(bases):
        own = pairs(i)
        if i and draw(st.booleans()):
            parent = draw(st.integers(0, i - 1))
            if apart and draw(st.booleans()):  # override a key of the merged mapping
                own.append((chr(ord("a") + parent), "over"))
            own.insert(draw(st.integers(0, len(own))), ("<<", f"*b{parent}"))
        lines.append(f"b{i}: &b{i} " + mapping(own, "  "))
    for j in range(draw(st.integers(1, 3))):
        own = pairs(draw(st.integers(0, 12)), 3)
        names = draw(st.permutations(range(bases)))
        for _ in range(draw(st.integers(1, 2))):
            merged = draw(st.sampled_from(["one", "list", "list", "inline", "one" if apart else "odd"]))
            if merged == "one" and names:
                source = f"*b{names.pop()}"
            elif merged == "list" and names:
                count = draw(st.integers(min(2, len(names)), len(names)))
                source = "[" + ", ".join(f"*b{names.pop()}" for _ in range(count)) + "]"
            elif merged == "odd":
                source = draw(st.sampled_from(["1", "[1]", "[*b0, 2]", "[]", "{}", "*b0", "*nope", "[*b0, *b0]"]))
            else:
                source = "{" + ", ".join(f"{key}: {value}" for key, value in pairs(20 + j, 2)) + "}"
            own.insert(draw(st.integers(0, len(own))), ("<<", source))
        lines.append(f"t{j}: " + mapping(own, "  "))
        if draw(st.booleans()):
            lines.append(f"u{j}: [*b{draw(st.integers(0, bases - 1))}, *b0]")
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=merge_documents())
def test_merges_and_aliases_read_as_pyyaml_reads_them(text: str) -> None:
    assert_reads_as_pyyaml(text)


#: Every implicit form the resolver knows, from its own regular expressions, and strings.
IMPLICIT_FORMS = {tag: regexp for resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.values()
                  for tag, regexp in resolvers}
PLAIN = st.one_of(*(st.from_regex(regexp, fullmatch=True) for regexp in IMPLICIT_FORMS.values()),
                  st.from_regex(r"[a-z][a-z0-9@./_-]{0,8}", fullmatch=True),
                  st.sampled_from(["012", "0o12", "0x_1F", "1:30", "1_000", "-0", "+12", "2001-12-14",
                                   "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "1/h", "a0@x.beam"]))


@st.composite
def plain_documents(draw: st.DrawFn) -> str:
    """Plain scalars of every implicit type as list items, keys and values, block or flow."""
    items = draw(st.lists(PLAIN, min_size=1, max_size=8))
    style = draw(st.sampled_from(["block list", "flow list", "block keys", "block values", "flow mapping"]))
    if style == "block list":
        return "".join(f"- {item}\n" for item in items)
    if style == "flow list":
        return "[" + ", ".join(items) + "]\n"
    if style == "block keys":
        return "".join(f"{item}: {n}\n" for n, item in enumerate(items))
    if style == "block values":
        return "".join(f"k{n}: {item}\n" for n, item in enumerate(items))
    return "{" + ", ".join(f"k{n}: {item}" for n, item in enumerate(items)) + "}\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=plain_documents())
def test_plain_scalars_of_every_implicit_type_read_as_pyyaml_reads_them(text: str) -> None:
    assert_reads_as_pyyaml(text)


CASES = [
    "a: &x [1]\nb: *x\nc: *x\n",
    "a: &x 1\nb: *x\n",
    "a: &k key\n*k : v\n",
    "b: &b {x: 1, y: 2}\nt: {<<: *b, z: 3, x: 4}\n",
    "b: &b {x: 1}\nc: &c {y: 2}\nt:\n  <<: [*b, *c]\n  w: 0\n",
    "b: &b {xx: 1}\nc: &c {xx: 2}\nt: {<<: [*b, *c]}\n",
    "b: &b {x: 1}\nc: &c {x: 2}\nt: {<<: [*b, *c]}\n",
    "b: &b {xx: 1}\nc: &c {xx: 2}\nt: {<<: *b, <<: *c}\n",
    "t: {<<: {a: 1, a: 2}}\n",
    "t: {<<: {ab: 1, ab: 2}}\n",
    "b: &b {a: 1}\nc: &c {<<: *b, a: 5}\nt: {<<: *c}\n",
    "t: {<<: [], a: 1}\n",
    "t: {<<: {}, a: 1}\n",
    "t: {a: 1, <<: {b: 2}}\n",
    "t: {<<: [{1: a}, {true: b}]}\n",
    "t: {<<: [{1: a}, {!!str 1: b}]}\n",
    "t: {<<: 1}\n",
    "t: {<<: [1]}\n",
    "t: !!merge {a: 1}\n",
    "t: {!!merge <<: {a: 1}}\n",
    "t: {&m <<: {a: 1}}\n",
    "=: 1\n",
    "t: {=: 1, a: =}\n",
    "a: <<\n",
    "a: 1\na: 2\nb: 3\n",
    "1: a\ntrue: b\n",
    "? [1]\n: 2\n",
    "? {a: 1}\n: 2\n",
    "a: &x [1]\n*x : 2\n",
    "a: &x 1\nb: &x 2\n",
    "a: *nope\n",
    "a: 1\n---\nb: 2\n",
    "--- 1\n",
    "---\n",
    "",
    "# only a comment\n",
    "a: !!set {x, y}\n",
    "a: !!omap [{x: 1}, {y: 2}]\n",
    "a: !!pairs [{x: 1}, {x: 2}]\n",
    "a: !!omap [{x: 1, y: 2}]\n",
    "a: !!seq [1]\nb: !!map {c: 1}\n",
    "a: !foo {x: 1}\n",
    "a: !foo x\n",
    "a: ! 12\nb: !!str 12\nc: !!int '12'\nd: !!float 1\ne: !!bool yes\nf: !!null ''\n",
    "a: 012\nb: 0x_1F\nc: 1:30\nd: -.inf\ne: .NaN\nf: 0b1_0\ng: +12\nh: -0\ni: 1_000\n",
    "a: 2001-12-14t21:59:43.10-05:00\nb: 2002-12-14\nc: !!timestamp 2001-12-14 21:59:43.10\n",
    "a: !!binary aGVsbG8=\n",
    "a: |\n  one\n  two\nb: >\n  folded\n  text\nc: 'it''s'\nd: \"\\t\"\n",
    "{? a, b: , c}\n",
    "%TAG !e! tag:yaml.org,2002:\n---\na: !e!int 7\nb: !e!str 7\n",
    "a: [&x {k: v}, *x]\n",
    "a: [1, [2, [3, [4]]]]\n",
    "&top {a: 1}\n",
    "- &x a\n- *x\n",
    "a: 0.001\nb: '0.001'\nc: 0.001\nd: \"yes\"\ne: yes\nf: 'yes'\ng: yes\nh: ! yes\ni: !!str yes\n",
    "{.nan: 1, .nan: 2, .NaN: 3, ~: 4, ~: 5, 7: a, '7': b, 7: c}\n",
    "".join(f"- {{to: 10.0.{n}, rate: 0.5, n: {n}, t: '0.5'}}\n" for n in range(5000)) + "- [to, 0.5, '0.5', yes]\n",
]


@pytest.mark.parametrize("text", CASES)
def test_hand_written_documents_read_as_pyyaml_reads_them(text: str) -> None:
    assert_reads_as_pyyaml(text)


def test_an_alias_is_the_anchored_object_itself() -> None:
    data = build("a: &x [1]\nb: *x\nc: &y {k: v}\nd: [*y, *y]\n")
    assert data["a"] is data["b"]
    assert data["c"] is data["d"][0] is data["d"][1]


# -- alias expansion, counted as the composed node graph counts it

def added_by_aliases(text: str) -> int:
    """Nodes aliases add to ``text``'s document when expanded: the expanded size of its
    node graph less its distinct nodes (what the limit was first written against)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            total = 1
            if isinstance(node, yaml.SequenceNode):
                total += sum(size(item) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                total += sum(size(key) + size(value) for key, value in node.value)
            sizes[id(node)] = total
        return sizes[id(node)]

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert root is not None
    return size(root) - len(sizes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=merge_documents().filter(lambda text: "*nope" not in text))
def test_alias_expansion_is_counted_as_on_the_node_graph(text: str) -> None:
    added = added_by_aliases(text)
    if added:
        with pytest.raises(Refused) as refused:
            build_document(text, MAX_DEPTH, added - 1)
        assert refused.value.message.endswith(f"found {added:,}")
    try:
        build_document(text, MAX_DEPTH, added)
    except yaml.YAMLError:
        pass


# -- what is refused, in one line

def read(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_yaml_mapping(path, InputError)
    return [problem.line().removeprefix(f"{path}: ") for problem in caught.value.problems]


@pytest.mark.parametrize(("text", "line"), [
    ("a: &a [*a]\n", "(file): expected aliases to add at most 100,000 nodes when expanded, found *a inside the "
                     "node it names, which expands without end"),
    ("a: &a {b: {<<: *a}}\n", "(file): expected aliases to add at most 100,000 nodes when expanded, found *a inside "
                              "the node it names, which expands without end"),
    ("a: !!int x\n", "line 1, column 4: expected a valid !!int value, found 'x'"),
    ("a: 1\nb: 2001-13-01\n", "line 2, column 4: expected a valid !!timestamp value, found '2001-13-01'"),
    ("a: !!bool maybe\n", "line 1, column 4: expected a valid !!bool value, found 'maybe'"),
    ("a: !!set {x: !!int y}\n", "(file): expected valid YAML, found a value that cannot be read (invalid literal for "
                                "int() with base 10: 'y')"),
    # PyYAML's own refusals keep their wording
    ("a: *nope\n", "line 1, column 4: expected valid YAML, found undefined alias"),
    ("a: &x 1\nb: &x 2\n", "line 2, column 4: expected valid YAML, found second occurrence"),
    ("? [1]\n: 2\n", "line 1, column 3: expected valid YAML, found unhashable key"),
    ("a: {<<: 1}\n", "line 1, column 9: expected valid YAML, found expected a mapping or list of mappings for "
                     "merging, but found scalar"),
    ("a: 1\n---\nb: 2\n", "line 2, column 1: expected valid YAML, found but found another document"),
    ("a: !foo x\n", "line 1, column 4: expected valid YAML, found could not determine a constructor for the tag "
                    "'!foo'"),
    ("a: [1, 2\n", "line 2, column 1: expected valid YAML, found expected ',' or ']', but got '<stream end>'"),
])
def test_refusals_are_one_line(text: str, line: str, tmp_path: Path) -> None:
    assert read(text, tmp_path) == [line]


def test_a_document_past_the_alias_limit_is_refused_even_when_deeper_errors_follow(tmp_path: Path) -> None:
    """Past the limit nothing more is built, but the pass counts to the end: the message
    names the total, and a file nested too deep further on is refused for its depth."""
    laughs = 'a0: &a0 ["lol"]\n' + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7))
    assert read(laughs, tmp_path)[0].endswith(f"found {added_by_aliases(laughs):,}")
    deep = laughs + "z: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    assert read(deep, tmp_path) == [f"(file): expected mappings and lists nested at most {MAX_DEPTH} deep, "
                                    "found deeper"]
