"""Fixes to moto's DynamoDB costs that grow with the table or with an update's size (``moto_patches``
applies them with the rest).

Found by replaying the DynamoDB requests of a 1,000-file drop in one process under cProfile:

* A ``Query`` on an index sorts the *whole table* (``Table.all_items``: every item, compared through
  ``DynamoType.__lt__``) and then keeps the items whose index hash key matches: 88 % of a query's
  time at 1,000 items, and the sweeper runs a few dozen of them every few seconds on the sparse
  ``InFlight`` index, which holds a handful. The fix hands that loop only the items that can carry
  the queried hash key value (a look at one attribute each, no sort of the table), sorted as moto
  sorts them; moto's own loop, sort, paging, filters and projections then run unchanged on them.
* An index ``Query`` with a range condition (the sweeper's ``deadline_at <= now`` on each ``InFlight``
  partition) then weighs every candidate of the partition (``Item.size``, a walk of all its
  attributes) before comparing its range key: at a backlog of thousands, most of the query. Where
  moto's loop could not end early on a candidate that fails the range condition (fewer matches than
  the query's ``Limit``, and matches too small for a 405,000-byte item to reach the 1 MB page), the
  candidates it is handed are the matches only: the same page, count and last key.
* ``UpdateItem`` validates its expression in ten depth-first passes over its parsed tree (60 to 70
  nodes for the product's updates), and each pass rebuilt its table of node types at *every* node;
  one pass (``ActionCountValidator``) walks the whole subtree again at every nested node (quadratic
  in the actions); the tree is deep-copied through the pickling protocol; and the expression is
  parsed twice per request. Together, two thirds of an update. The fixes: the table read once per
  pass, each subtree counted once, a direct copy of each node, each expression parsed once.
* ``OverlappingPathsValidator`` does what ``ActionCountValidator`` did: at every node of the tree it
  collects the actions below it (a walk of the subtree) and compares their paths, half an update's
  time at a 2,000-file drop. Each node's actions are some of the root's, so where the root's paths
  neither overlap nor repeat, no node's do: the pass checks the root, and only if that fails runs
  moto's pass at every node, for moto's exact error.

* Every conditional write lexes its condition expression two or three times (the request's check of
  its names, the write's evaluation), a regular expression tried per token: a tenth of the local
  DynamoDB's time under a drop. The tokens depend on the expression's text alone (placeholders keep
  values out of it), so each text is lexed once and its tokens handed out again.
* Every item a response carries (an update's ``ALL_NEW``, a ``Query`` page, ``GetItem``) goes through
  moto's generic response serializer, which walks each attribute value against botocore's
  ``AttributeValue`` shape, looking each of its ten members up through a chain of aliases: a fifth of
  an update that returns the tracker's 22-attribute item. moto holds attribute values in their wire
  form already, binary (``B``, ``BS``: bytes, base64 on the wire) excepted, so a value with no binary
  inside is written as it is; one with binary goes through moto's serializer.

Each replacement returns exactly what moto's own code returns (``tests/unit/local/test_local_moto_dynamodb_patches.py``
compares patched and unpatched answers on the same data).
"""

from __future__ import annotations

import collections
import contextvars
import functools
import importlib
import inspect
from typing import Any

_originals: dict[str, Any] = {}
# An index query under way: its table and hash key conditions, until its loop asks for the items.
_index_query: contextvars.ContextVar[tuple[Any, list[tuple[str, Any]], Any] | None] = contextvars.ContextVar(
    "index_query", default=None
)
# moto's page size and its largest item (``LimitedSizeDict``): a candidate's weight can end a page only
# where the matches before it weigh more than their difference.
_PAGE_BYTES, _ITEM_BYTES = 1_000_000, 405_000
# Update expressions parsed (the product sends a few shapes; placeholders keep values out of them).
_parsed: dict[str, Any] = {}
_PARSED_LIMIT = 512
# Condition expressions lexed: their tokens (immutable tuples), by the expression's text.
_lexed: dict[str, tuple[Any, ...]] = {}
# Values compared as they are stored (cast_value is the value itself): a different one cannot match.
_RAW_TYPES = ("S", "B")


def _moto(module: str) -> Any:
    """A module of moto's DynamoDB, untyped here: the patches reach into internals its annotations do not
    describe (mypy cannot see its parser's classes)."""
    return importlib.import_module(f"moto.dynamodb.{module}")


def _patched_classes() -> tuple[Any, Any, Any, Any, Any, Any]:
    """The moto classes ``apply`` changes and ``restore`` gives back."""
    ast_nodes = _moto("parsing.ast_nodes")
    return (
        _moto("models.table").Table,
        ast_nodes.DepthFirstTraverser,
        ast_nodes.Node,
        _moto("parsing.expressions").UpdateExpressionParser,
        _moto("parsing.validators").ActionCountValidator,
        _moto("parsing.validators").OverlappingPathsValidator,
    )


def apply() -> None:
    """Install the fixes into the imported moto (idempotent; ``restore`` undoes them)."""
    if _originals:
        return
    Table, DepthFirstTraverser, Node, UpdateExpressionParser, ActionCounts, OverlappingPaths = _patched_classes()
    from moto.core.serialize import JSONSerializer

    _originals["structure"] = JSONSerializer._serialize_type_structure
    _originals["structure_own"] = "_serialize_type_structure" in vars(JSONSerializer)  # else inherited
    JSONSerializer._serialize_type_structure = _serialize_structure  # type: ignore[method-assign, assignment]
    ConditionParser = _moto("comparisons").ConditionExpressionParser
    _originals["lex"] = ConditionParser._lex_condition_expression
    ConditionParser._lex_condition_expression = _lex_condition

    _originals["query"] = Table.query
    _originals["all_items"] = Table.all_items
    _originals["traverse"] = DepthFirstTraverser.traverse
    _originals["signature"] = inspect.signature(Table.query)
    _originals["make"] = UpdateExpressionParser.__dict__["make"]  # the classmethod itself
    Table.query = _query
    Table.all_items = _all_items
    DepthFirstTraverser.traverse = _traverse
    UpdateExpressionParser.make = classmethod(_parse_update)
    _originals["verify"] = ActionCounts.verify_action_counts
    ActionCounts.traverse = _traverse_counting
    ActionCounts.verify_action_counts = _verify_action_counts
    OverlappingPaths.traverse = _check_paths_at_the_root
    Node.__deepcopy__ = _copy_node


def restore() -> None:
    """moto as it was before ``apply``."""
    if not _originals:
        return
    Table, DepthFirstTraverser, Node, UpdateExpressionParser, ActionCounts, OverlappingPaths = _patched_classes()
    from moto.core.serialize import JSONSerializer

    structure = _originals.pop("structure")
    if _originals.pop("structure_own"):
        JSONSerializer._serialize_type_structure = structure  # type: ignore[method-assign]
    else:
        del JSONSerializer._serialize_type_structure  # inherited again, as before apply
    _moto("comparisons").ConditionExpressionParser._lex_condition_expression = _originals.pop("lex")
    Table.query = _originals.pop("query")
    Table.all_items = _originals.pop("all_items")
    DepthFirstTraverser.traverse = _originals.pop("traverse")
    UpdateExpressionParser.make = _originals.pop("make")
    del ActionCounts.traverse
    ActionCounts.verify_action_counts = _originals.pop("verify")
    del OverlappingPaths.traverse
    del Node.__deepcopy__  # moto's nodes have none: copy.deepcopy's generic copy
    _originals.clear()
    _parsed.clear()
    _lexed.clear()


def _query(self: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's ``Table.query``; on an index with hash key conditions, its scan of the table sees only
    the items that can match them."""
    bound = _originals["signature"].bind(self, *args, **kwargs)
    conditions = bound.arguments.get("hash_key_conditions")
    if not bound.arguments.get("index_name") or not conditions:
        return _originals["query"](self, *args, **kwargs)
    token = _index_query.set((self, list(conditions), _range_filter(self, bound.arguments)))
    try:
        return _originals["query"](self, *args, **kwargs)
    finally:
        _index_query.reset(token)


def _all_items(self: Any) -> list[Any]:
    """moto's ``Table.all_items``; for the index query under way (once), only the items whose hash key
    attributes can equal the query's, in the order moto's sort of the whole table gives them."""
    held = _index_query.get()
    if held is None or held[0] is not self:
        return _originals["all_items"](self)
    _index_query.set(None)
    conditions, range_filter = held[1], held[2]
    items = self.items.values()
    if self.range_key_attr:
        items = [item for hash_set in items for item in hash_set.values()]
    candidates = [item for item in items if _may_match(item, conditions)]
    if range_filter is not None:
        candidates = range_filter(candidates)
    return sorted(candidates, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _range_filter(table: Any, arguments: dict[str, Any]) -> Any:
    """For an index query with one range condition and no legacy filter: the candidates that pass it, when
    those that fail it cannot change moto's answer (else all of them). moto's loop checks the ``Limit``
    and the page size at every candidate before its range comparison, so one that fails could end the
    page only once ``Limit`` matches were taken or the matches before it weigh over 595,000 bytes."""
    comparison, objects = arguments.get("range_comparison"), arguments.get("range_objs")
    conditions = arguments.get("range_key_conditions") or []
    if not comparison or arguments.get("filter_kwargs") or len(conditions) > 1:
        return None
    ranges = [k["AttributeName"] for k in table.get_index(arguments["index_name"]).schema if k["KeyType"] == "RANGE"]
    if len(ranges) != 1:
        return None
    name = conditions[-1][0] if conditions else ranges[0]  # the attribute moto compares
    limit = arguments.get("limit")

    def passing(candidates: list[Any]) -> list[Any]:
        # moto's test, as it writes it (an absent or empty value fails)
        matches = [i for i in candidates if (value := i.attrs.get(name)) and value.compare(comparison, objects)]
        if limit is not None and len(matches) >= limit:
            return candidates
        if sum(i.size() for i in matches) > _PAGE_BYTES - _ITEM_BYTES:
            return candidates
        return matches

    return passing


def _may_match(item: Any, conditions: list[tuple[str, Any]]) -> bool:
    """False only where moto's loop would skip the item: an attribute is missing, or it is a string or
    binary that differs from the one queried (moto compares types, then the cast values: for these the
    values as stored). Numbers are left to moto's comparison ("1" equals "1.0")."""
    for name, expected in conditions:
        value = item.attrs.get(name)
        if value is None:
            return False
        if expected.type in _RAW_TYPES and (value.type != expected.type or value.value != expected.value):
            return False
    return True


def _traverse(self: Any, node: Any) -> Any:
    """moto's ``DepthFirstTraverser.traverse`` (``traverse_node_recursively``) with the node types to
    process read once per pass instead of at every node (each ``_processing_map`` is a constant dict),
    and each ``isinstance`` against moto's abstract node classes answered once per class."""
    types = self.nodes_to_be_processed()
    processed: dict[type, bool] = {}
    before_child = self.pre_processing_of_child

    def visit(node: Any, child_id: int = -1) -> Any:
        if _is_node(node.__class__):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    before_child(node, i)
                    visit(child_node, i)
            kind = type(node)
            if kind not in processed:
                processed[kind] = isinstance(node, types)
            if processed[kind]:
                node = self.process(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    return visit(node)


@functools.cache
def _ast_nodes() -> Any:
    """moto's expression nodes, looked up once (the passes below ask at every node)."""
    return _moto("parsing.ast_nodes")


@functools.cache
def _is_node(kind: type) -> bool:
    return issubclass(kind, _ast_nodes().Node)


def _parse_update(cls: Any, expression: str) -> Any:
    """moto's ``UpdateExpressionParser.make``, each expression parsed once: the tree is only read
    (``UpdateItem`` looks for its placeholders; the validator works on a deep copy of it)."""
    tree = _parsed.get(expression)
    if tree is None:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        tree = _parsed[expression] = _originals["make"].__func__(cls, expression)
    return tree


def _lex_condition(self: Any) -> Any:
    """moto's ``ConditionExpressionParser._lex_condition_expression``, each text lexed once: a fresh deque
    of the same tokens (the parser's later steps build new nodes; none changes a token)."""
    text = self.condition_expression
    tokens = _lexed.get(text)
    if tokens is None:
        if len(_lexed) >= _PARSED_LIMIT:
            _lexed.clear()
        tokens = _lexed[text] = tuple(_originals["lex"](self))
    return collections.deque(tokens)


def _traverse_counting(self: Any, node: Any) -> Any:
    """``ActionCountValidator``'s pass, with the clause counts of each subtree kept for the pass."""
    self._clause_counts = {}
    try:
        return _traverse(self, node)
    finally:
        del self._clause_counts


def _verify_action_counts(self: Any, node: Any) -> Any:
    """moto's ``ActionCountValidator.verify_action_counts`` (at each ``UpdateExpression`` node: at most one
    ADD, REMOVE and SET clause in its subtree, checked in that order), each subtree counted once: moto's
    ``find_clauses`` walks the whole subtree again at every nested node (quadratic in the actions)."""
    from moto.dynamodb.exceptions import TooManyClauses

    ast_nodes = _ast_nodes()
    UpdateExpressionAddClause = ast_nodes.UpdateExpressionAddClause
    UpdateExpressionRemoveClause = ast_nodes.UpdateExpressionRemoveClause
    UpdateExpressionSetClause = ast_nodes.UpdateExpressionSetClause

    counts = getattr(self, "_clause_counts", None)
    if counts is None:
        return _originals["verify"](self, node)
    for kind, name in (
        (UpdateExpressionAddClause, "ADD"),
        (UpdateExpressionRemoveClause, "REMOVE"),
        (UpdateExpressionSetClause, "SET"),
    ):
        if _clause_count(node, kind, counts) > 1:
            raise TooManyClauses(name)
    return node


def _check_paths_at_the_root(self: Any, node: Any) -> Any:
    """``OverlappingPathsValidator``'s pass: moto checks the paths of the actions below every node (each
    check returns its node unchanged). Those are always some of the root's actions (``find_clauses``
    stops at an action, and no action holds another), and a set without overlapping or repeated paths
    has no subset with any: the root's check passing answers for every node. Otherwise, or when the
    root is not an update expression, moto's pass at every node raises moto's own first error."""
    if isinstance(node, _ast_nodes().UpdateExpression):
        try:
            self.check_for_overlapping_paths(node)
        except Exception:  # noqa: BLE001 - moto's own pass decides which error, as before
            return _traverse(self, node)
        return node
    return _traverse(self, node)


def _clause_count(node: Any, kind: type, counts: dict[tuple[int, type], tuple[int, Any]]) -> int:
    """``len(node.find_clauses([kind]))``: clauses of exactly that type, looked for below expressions
    and functions (not below a clause found), each node's count remembered."""
    ast_nodes = _ast_nodes()
    Expression, UpdateExpressionFunction = ast_nodes.Expression, ast_nodes.UpdateExpressionFunction

    held = counts.get((id(node), kind))
    if held is not None:
        return int(held[0])
    found = 0
    for child in node.children or []:
        if type(child) is kind:
            found += 1
        elif isinstance(child, (Expression, UpdateExpressionFunction)):
            found += _clause_count(child, kind, counts)
    counts[(id(node), kind)] = (found, node)  # the node is held so that its id is not reused
    return found


def _copy_node(self: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy`` of an expression node as its generic copy makes it (a new object of the same
    class, its ``__dict__`` deep-copied), without the pickling protocol's detour (``__reduce_ex__``)."""
    import copy

    result = self.__class__.__new__(self.__class__)
    memo[id(self)] = result
    copied = result.__dict__
    for name, value in self.__dict__.items():
        copied[name] = copy.deepcopy(value, memo)
    return result


def _serialize_structure(self: Any, serialized: dict[str, Any], value: Any, shape: Any, key: str) -> None:
    """An attribute value with no binary inside, as moto holds it; anything else as moto serializes it."""
    if key and shape.name == "AttributeValue" and isinstance(value, dict) and _textual(value):
        serialized[key] = value
        return
    _originals["structure"](self, serialized, value, shape, key)


def _textual(value: Any) -> bool:
    """Whether an attribute value holds no binary (``B``, ``BS``), however deep in its maps and lists."""
    if isinstance(value, dict):
        return all(name not in ("B", "BS") and _textual(inner) for name, inner in value.items())
    if isinstance(value, list):
        return all(_textual(inner) for inner in value)
    return True
