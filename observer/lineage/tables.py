"""Table-level lineage: naming table references, and reading tables when there is no usable tree.

:class:`TableNames` turns a parsed table reference into its output name (normalised, qualified with
the default database and schema, BigQuery shards folded) and finds its columns. The token and text
scanners give table-level lineage for statements that cannot be parsed or analysed in time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.tokens import Token, TokenType

from observer.lineage.catalog import ColumnSource, TableColumns
from observer.lineage.names import qualify_parts, shard_family, table_parts


@dataclass(frozen=True, slots=True)
class TableName:
    parts: tuple[str, ...]  # qualified
    written: tuple[str, ...]  # as in the SQL (normalised)

    @property
    def name(self) -> str:
        return ".".join(self.parts)


class TableNames:
    """Names and columns of the tables one statement refers to (memoised per node)."""

    def __init__(
        self,
        dialect: Dialect,
        columns: ColumnSource,
        default_db: str | None,
        default_schema: str | None,
        fold_shards: bool,
    ) -> None:
        self._dialect = dialect
        self._columns = columns
        self._default_db = default_db
        self._default_schema = default_schema
        self._fold_shards = fold_shards
        self._names: dict[int, TableName] = {}
        self._known: dict[tuple[str, ...], TableColumns | None] = {}

    def of(self, table: exp.Table) -> TableName:
        key = id(table)
        found = self._names.get(key)
        if found is None:
            found = self.from_parts(table_parts(table))
            self._names[key] = found
        return found

    def from_parts(self, written: Sequence[str]) -> TableName:
        parts = list(written)
        if self._fold_shards and parts:
            parts[-1] = shard_family(parts[-1])
        qualified = qualify_parts(parts, self._default_db, self._default_schema)
        return TableName(tuple(qualified), tuple(parts))

    def from_written(self, written: Sequence[tuple[str, bool]]) -> TableName:
        """A name from raw (text, quoted) parts, normalised the way the dialect resolves them."""
        table = exp.to_table(".".join("x" for _ in written))
        for identifier, (text, quoted) in zip(table.parts, written, strict=False):
            identifier.set("this", text)
            identifier.set("quoted", quoted)
        normalize_identifiers(table, dialect=self._dialect)
        return self.from_parts([p.name for p in table.parts])

    def columns(self, table: exp.Table | TableName) -> TableColumns | None:
        name = self.of(table) if isinstance(table, exp.Table) else table
        if name.parts not in self._known:
            self._known[name.parts] = self._columns.lookup(name.parts, name.written)
        return self._known[name.parts]


def is_real_table(table: exp.Table, cte_names: set[str]) -> bool:
    """False for CTE references, table functions and join hints."""
    if isinstance(table.this, exp.Func) or isinstance(table.parent, exp.JoinHint):
        return False
    if not table.name:
        return False
    return not (not table.args.get("db") and table.name.casefold() in cte_names)


def cte_names(statement: exp.Expr) -> set[str]:
    return {cte.alias.casefold() for cte in statement.find_all(exp.CTE) if cte.alias}


_NAME_TOKENS = frozenset({TokenType.VAR, TokenType.IDENTIFIER})
_READ_AFTER = frozenset({TokenType.FROM, TokenType.JOIN, TokenType.USING, TokenType.PIVOT, TokenType.UNPIVOT})
_WRITE_AFTER = frozenset({TokenType.INTO, TokenType.UPDATE, TokenType.TABLE, TokenType.VIEW})


@dataclass(slots=True)
class TokenTables:
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def tables_from_tokens(tokens: Sequence[Token], names: TableNames) -> TokenTables:
    """Tables read and written, found by keyword position in a token stream (no parse tree needed)."""
    ctes = {
        tokens[i].text.casefold()
        for i in range(1, len(tokens) - 2)
        if tokens[i].token_type in _NAME_TOKENS
        and tokens[i + 1].token_type == TokenType.ALIAS
        and tokens[i + 2].token_type == TokenType.L_PAREN
        and tokens[i - 1].token_type in (TokenType.WITH, TokenType.COMMA, TokenType.RECURSIVE)
    }
    found = TokenTables()
    i = 0
    while i < len(tokens):
        kind = tokens[i].token_type
        i += 1
        if kind not in _READ_AFTER and kind not in _WRITE_AFTER:
            continue
        while i < len(tokens) and tokens[i].token_type in (TokenType.TABLE, TokenType.ONLY):
            i += 1
        parts: list[tuple[str, bool]] = []
        while i < len(tokens) and tokens[i].token_type in _NAME_TOKENS:
            parts.append((tokens[i].text, tokens[i].token_type == TokenType.IDENTIFIER))
            if i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT:
                i += 2
            else:
                i += 1
                break
        if not parts:
            continue
        is_call = i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN
        if kind in _READ_AFTER:
            if not is_call and not (len(parts) == 1 and parts[0][0].casefold() in ctes):
                found.inputs.append(names.from_written(parts).name)
        elif not is_call or kind == TokenType.INTO:
            found.outputs.append(names.from_written(parts).name)
    return TokenTables(_unique(found.inputs), _unique(found.outputs))


_TEXT_TABLE = re.compile(
    r"\b(?P<kw>from|join|into|update|table)\s+(?P<name>[\w$#@\"`\[\]-]+(?:\s*\.\s*[\w$#@\"`\[\]-]+)*)",
    re.IGNORECASE,
)


def tables_from_text(sql: str, names: TableNames) -> TokenTables:
    """Last resort when even tokenizing fails (e.g. an unterminated string)."""
    found = TokenTables()
    for match in _TEXT_TABLE.finditer(sql):
        raw = [p.strip() for p in match.group("name").split(".")]
        parts = [(p.strip('"`[]'), p[:1] in ('"', "`", "[")) for p in raw]
        if not all(text for text, _ in parts) or parts[0][0].casefold() == "select":
            continue
        target = found.inputs if match.group("kw").lower() in ("from", "join") else found.outputs
        target.append(names.from_written(parts).name)
    return TokenTables(_unique(found.inputs), _unique(found.outputs))


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
