"""Python data from one pass over libyaml's event stream, with the input limits counted on
the way: how deep mappings and sequences nest, and how many nodes aliases add when expanded.

:func:`build_document` replaces PyYAML's compose-then-construct for the usual document
(plain mappings and sequences, scalars of any tag, anchors, aliases and ``<<`` merges),
and returns exactly what ``yaml.load(text, Loader=yaml.SafeLoader)`` returns:

- a plain scalar's tag is the loader's own implicit resolution, asked only when its first
  character could start something other than a string (as the resolver itself does);
  strings and decimal integers are built here, every other tag by the loader's
  ``SafeConstructor.construct_object`` on a :class:`yaml.ScalarNode`; a plain scalar read
  as a string, number, boolean or null is remembered by its text, so a repeated one (a
  key, a rate) is resolved and built once;
- an alias yields the anchored object itself; duplicate keys keep the first key's place
  and the last value;
- a ``<<`` merge is done here when its result cannot depend on the PyYAML version (one or
  more mappings whose keys are strings and distinct; the order of their keys is asked of
  PyYAML once, see :func:`_merges_in_list_order`).

Whatever else PyYAML must decide (a ``!!set``/``!!omap``/``!!pairs`` or unknown tag on a
collection, an undefined or repeated anchor, a second document, a key that is a list or
mapping, a merge of something that is not a mapping or whose keys collide, any error of a
constructor) stops the building; the pass still counts to the end, and the document is then
composed and constructed by PyYAML itself, so such a file reads (or fails) exactly as
before. Only the limits are refused here, as :class:`Refused`, and a scalar PyYAML's
constructors fail on without a YAML error (``!!int x``, ``2001-13-01``), which used to
escape as a traceback.

Parsing is libyaml's, as before: on the few inputs where PyYAML's own scanner disagrees
(a tab inside a plain scalar, say), the result is CSafeLoader's.
"""

from __future__ import annotations

import re
from typing import Any, Final

import yaml

#: libyaml's loader where PyYAML was built with it (much faster on large files).
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Returned by :func:`build_document` for a stream with no document (empty, or comments).
EMPTY: Final = object()

_STR: Final = "tag:yaml.org,2002:str"
_INT: Final = "tag:yaml.org,2002:int"
_MERGE: Final = "tag:yaml.org,2002:merge"
_VALUE: Final = "tag:yaml.org,2002:value"
_COLLECTION_TAGS: Final = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_DECIMAL: Final = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,17})")  # int() exact and cheap; longer goes to PyYAML
_IMMUTABLE_TAGS: Final = frozenset({_STR, _INT, "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                                    "tag:yaml.org,2002:null"})
_PLAIN_KEPT: Final = 4096  # plain scalars remembered at most; forgotten all at once when full
_UNKNOWN: Final = object()  # a plain scalar not remembered
_NO_KEY: Final = object()  # a mapping's next scalar is a key
_MERGE_KEY: Final = object()  # a mapping's next value is merged into it
_OPEN: Final = -1  # an anchor's collection is still being read


def _merges_in_list_order() -> bool:
    """Whether this PyYAML merges ``<<: [*a, *b]`` in list order (6.0.4: a's keys first)
    or in reverse (6.0.3 and the YAML merge spec's order: b's keys first)."""
    return list(yaml.load("{<<: [{a: 0}, {b: 0}]}", Loader=yaml.SafeLoader)) == ["a", "b"]


_MERGES_IN_LIST_ORDER: Final = _merges_in_list_order()


class Refused(Exception):
    """The document passes a limit, or holds a scalar its tag cannot read."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class _Collection:
    """A mapping or sequence being read: ``data`` is its dict or list (None once building
    has stopped); ``key`` the key waiting for its value."""

    __slots__ = ("data", "key", "anchor", "start", "merges", "clean")

    def __init__(self, data: dict[Any, Any] | list[Any] | None, anchor: str | None, start: int) -> None:
        self.data = data
        self.key: Any = _NO_KEY
        self.anchor = anchor
        self.start = start  # nodes counted before this one, for its expanded size
        self.merges: list[dict[Any, Any]] | None = None  # mappings merged into it, once a "<<" is read
        self.clean = True  # no key repeated, so a merge of it is the same in every PyYAML


class _Builder:
    """One pass over the events of ``text``; see the module's docstring."""

    def __init__(self, text: str, max_depth: int, max_alias_nodes: int) -> None:
        self.text = text
        self.loader = Loader(text)
        self.max_depth = max_depth
        self.max_alias_nodes = max_alias_nodes
        self.depth = 0
        self.nodes = 0  # nodes of the document so far, each alias counted as its expansion
        self.added = 0  # of which aliases added
        self.anchors: dict[str, tuple[Any, int]] = {}  # name: (object, expanded size or _OPEN)
        self.stack = [_Collection([], None, 0)]  # the bottom one receives the document
        self.documents = 0
        self.building = not self.loader.yaml_path_resolvers
        self.exact = not self.building  # PyYAML itself must compose and construct the document
        self.recursive: str | None = None  # an alias met inside the collection it names
        self.unreadable: Refused | None = None  # the first scalar PyYAML's constructors fail on
        self.unclean: dict[int, dict[Any, Any]] = {}  # mappings with a repeated key, by id
        self.plain_items: dict[str, Any] = {}  # plain scalars read as _IMMUTABLE_TAGS: their objects

    # -- the pass

    def run(self) -> Any:
        """Read every event, then refuse or return the document."""
        get_event = self.loader.get_event
        first_chars = self.loader.yaml_implicit_resolvers
        plain_is_str = None not in first_chars  # no resolver matches every first character
        plain_items = self.plain_items
        max_depth = self.max_depth
        stack = self.stack
        top = stack[-1]
        # Names the loop asks for on every event, as locals.
        scalar_event, alias_event, document_start = yaml.ScalarEvent, yaml.AliasEvent, yaml.DocumentStartEvent
        mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        no_key, merge_key, unknown, collection = _NO_KEY, _MERGE_KEY, _UNKNOWN, _Collection
        nodes = self.nodes  # self.nodes, kept here and handed over around the other methods
        try:
            while (event := get_event()) is not None:
                kind = event.__class__
                if kind is scalar_event:
                    nodes += 1
                    # The usual event: no tag or anchor, in a mapping or list, a string or a plain
                    # scalar met before (a quoted one is a string whatever its text).
                    if event.tag is None and event.anchor is None:
                        value = event.value
                        item = value if value and value[0] not in first_chars and plain_is_str \
                            else plain_items.get(value, unknown)
                        if item is not unknown and (type(item) is str or event.implicit[0]):
                            data = top.data
                            if type(data) is dict:
                                key = top.key
                                if key is no_key:
                                    if item in data:
                                        top.clean = False
                                    top.key = item
                                    continue
                                if key is not merge_key:
                                    data[key] = item
                                    top.key = no_key
                                    continue
                            elif type(data) is list:
                                data.append(item)
                                continue
                    self.nodes = nodes
                    self._any_scalar(event)
                elif kind is mapping_start or kind is sequence_start:
                    # The usual collection: no tag or anchor, while building, within the depth.
                    if event.tag is None and event.anchor is None and self.building and self.depth < max_depth:
                        self.depth += 1
                        top = collection({} if kind is mapping_start else [], None, nodes)
                        nodes += 1
                        stack.append(top)
                    else:
                        self.nodes = nodes
                        self._open(event, kind is mapping_start)
                        nodes = self.nodes
                        top = stack[-1]
                elif kind is mapping_end or kind is sequence_end:
                    # The usual end: no anchor, no merge, no repeated key, put where a value goes.
                    done = top
                    if done.anchor is None and done.clean and done.merges is None and self.building:
                        self.depth -= 1
                        stack.pop()
                        top = stack[-1]
                        data = top.data
                        if type(data) is list:
                            data.append(done.data)
                            continue
                        key = top.key
                        if type(data) is dict and key is not no_key and key is not merge_key:
                            data[key] = done.data
                            top.key = no_key
                            continue
                        self._add(done.data)
                    else:
                        self.nodes = nodes
                        self._close()
                        top = stack[-1]
                elif kind is alias_event:
                    self.nodes = nodes
                    self._alias(event)
                    nodes = self.nodes
                elif kind is document_start:
                    self.documents += 1
                    if self.documents > 1:
                        self._stop(exact=True)  # PyYAML's "expected a single document"
        except yaml.YAMLError as exc:
            # The parser's own guard (1,000 levels of flow collections) can fire before the
            # events reach ours, because it scans ahead.
            if "nesting depth" in str(exc):
                raise self._too_deep() from None
            raise
        finally:
            self.loader.dispose()
        return self._finish()

    def _finish(self) -> Any:
        root = yaml.compose(self.text, Loader=Loader) if self.exact else None
        if self.recursive is not None:
            raise Refused("(file)", f"expected aliases to add at most {self.max_alias_nodes:,} nodes when expanded, "
                                    f"found *{self.recursive} inside the node it names, which expands without end")
        if self.added > self.max_alias_nodes:
            raise Refused("(file)", f"expected aliases to add at most {self.max_alias_nodes:,} nodes when expanded, "
                                    f"found {self.added:,}")
        if not self.exact:
            return self.stack[0].data[0] if self.documents else EMPTY  # type: ignore[index]
        if root is None:
            return EMPTY
        try:
            return Loader(self.text).construct_document(root)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors raise ValueError and kin on bad scalars
            raise self.unreadable or Refused(
                "(file)", f"expected valid YAML, found a value that cannot be read ({exc})") from None

    def _stop(self, exact: bool = False) -> None:
        """Build no more; with ``exact``, PyYAML reads the document after the pass."""
        if self.building:
            self.building = False
            for collection in self.stack:
                collection.data = None
        self.exact = self.exact or exact

    def _too_deep(self) -> Refused:
        return Refused("(file)", f"expected mappings and lists nested at most {self.max_depth} deep, found deeper")

    # -- events

    def _any_scalar(self, event: yaml.ScalarEvent) -> None:
        """Define the scalar's anchor and add its object where it belongs."""
        if not self.building:
            if event.anchor is not None:
                self._define(event.anchor, None, 1)
            return
        item = self._scalar(event)
        if event.anchor is not None:
            self._define(event.anchor, item, 1)
        self._add(item)

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        """The object of a scalar."""
        value, tag = event.value, event.tag
        plain = tag is None and event.implicit[0]
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR:
            item: Any = value
        elif tag == _INT and _DECIMAL.fullmatch(value):
            item = int(value)
        else:
            item = _UNKNOWN
        if item is not _UNKNOWN:
            if plain:
                self._remember(value, item)
            return item
        top = self.stack[-1]
        if (tag == _MERGE or tag == _VALUE) and type(top.data) is dict and top.key is _NO_KEY \
                and event.anchor is None:
            return _MERGE_KEY if tag == _MERGE else value  # PyYAML reads a "=" key as a string
        mark: Any = event.start_mark  # libyaml's Mark: line and column, as PyYAML's
        node = yaml.ScalarNode(tag, value, mark, event.end_mark, event.style)  # type: ignore[arg-type]
        try:
            item = self.loader.construct_object(node)
            if plain and tag in _IMMUTABLE_TAGS and item == item:  # each NaN is a key of its own
                self._remember(value, item)
            return item
        except yaml.YAMLError:
            self._stop(exact=True)
        except Exception:  # ValueError, KeyError, ... from PyYAML's constructors: no mark of their own
            name = tag.replace("tag:yaml.org,2002:", "!!")
            shown = value if len(value) <= 40 else value[:37] + "..."
            self.unreadable = Refused(f"line {mark.line + 1}, column {mark.column + 1}",
                                      f"expected a valid {name} value, found {shown!r}")
            self._stop(exact=True)  # an error PyYAML meets first wins, as it did before
        finally:
            self.loader.constructed_objects.clear()
        return None

    def _remember(self, value: str, item: Any) -> None:
        """Keep the object of plain scalar ``value``, within :data:`_PLAIN_KEPT`."""
        if len(self.plain_items) >= _PLAIN_KEPT:
            self.plain_items.clear()
        self.plain_items[value] = item

    def _open(self, event: yaml.CollectionStartEvent, mapping: bool) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self._too_deep()
        start = self.nodes
        self.nodes += 1
        if event.anchor is not None:
            self._define(event.anchor, None, _OPEN)
        if self.building and event.tag not in _COLLECTION_TAGS:
            self._stop(exact=True)  # !!set, !!omap, !!pairs, or a tag PyYAML refuses
        data: dict[Any, Any] | list[Any] | None = ({} if mapping else []) if self.building else None
        self.stack.append(_Collection(data, event.anchor, start))

    def _close(self) -> None:
        self.depth -= 1
        done = self.stack.pop()
        item = done.data
        if type(item) is dict and done.merges:
            item = self._merged(done, item)
        elif type(item) is dict and not done.clean:
            self.unclean[id(item)] = item
        if done.anchor is not None:
            self.anchors[done.anchor] = (item, self.nodes - done.start)
        if self.building:
            self._add(item)

    def _alias(self, event: yaml.AliasEvent) -> None:
        known = self.anchors.get(event.anchor or "")
        if known is None:
            self._stop(exact=True)  # PyYAML's "found undefined alias"
            return
        item, size = known
        if size == _OPEN:
            self.recursive = self.recursive or event.anchor
            self._stop()
            return
        self.nodes += size
        self.added += size
        if self.added > self.max_alias_nodes:
            self._stop()
        if self.building:
            self._add(item)

    def _define(self, anchor: str, item: Any, size: int) -> None:
        """A scalar's anchor, or a collection's while it is read (size :data:`_OPEN`)."""
        if anchor in self.anchors:
            self._stop(exact=True)  # PyYAML's "found duplicate anchor"
        self.anchors[anchor] = (item, size)

    # -- building

    def _add(self, item: Any) -> None:
        """Put ``item`` in the collection being read, as its next item, key or value."""
        top = self.stack[-1]
        data = top.data
        if type(data) is list:
            data.append(item)
        elif data is None:
            pass
        elif top.key is _NO_KEY:
            try:
                if item in data:
                    top.clean = False
            except TypeError:  # a list or mapping as a key: PyYAML's "found unhashable key"
                self._stop(exact=True)
                return
            top.key = item
        elif top.key is _MERGE_KEY:
            top.key = _NO_KEY
            sources = [item] if type(item) is dict else item if type(item) is list else None
            if sources is None or any(type(source) is not dict for source in sources):
                self._stop(exact=True)  # PyYAML's "expected a mapping ... for merging"
            else:
                top.merges = top.merges or []
                top.merges.extend(sources if _MERGES_IN_LIST_ORDER or type(item) is dict else reversed(sources))
        else:
            data[top.key] = item
            top.key = _NO_KEY

    def _merged(self, done: _Collection, own: dict[Any, Any]) -> dict[Any, Any] | None:
        """``own`` after the mappings merged into it, as PyYAML merges them; with colliding
        or non-string keys, where PyYAML versions differ, PyYAML itself reads the file."""
        merged: dict[Any, Any] = {}
        for source in done.merges or ():
            if id(source) in self.unclean:
                self._stop(exact=True)
                return None
            for key, value in source.items():
                if type(key) is not str or key in merged:
                    self._stop(exact=True)
                    return None
                merged[key] = value
        clean = done.clean and not any(key in merged for key in own)
        merged.update(own)
        if not clean:
            self.unclean[id(merged)] = merged
        return merged


def build_document(text: str, max_depth: int, max_alias_nodes: int) -> Any:
    """The single document of ``text`` as ``yaml.load(text, Loader=yaml.SafeLoader)`` reads
    it, or :data:`EMPTY`; raise :class:`Refused` past ``max_depth`` levels of nesting or
    ``max_alias_nodes`` nodes added by aliases, or for a scalar its tag cannot read, and
    :class:`yaml.YAMLError` (libyaml's wording) where PyYAML refuses the document."""
    return _Builder(text, max_depth, max_alias_nodes).run()
