#!/usr/bin/env python3
"""Import cycles between the modules of each crate.

Reads every `crate::…`, `super::…` and `self::…` path in a crate's sources,
resolves it to the module it names (the longest module prefix that exists)
and reports each group of modules that reach one another (a strongly
connected component). A module's paths to its own ancestors and descendants
are containment, not dependency, and are left out.

Usage: scripts/module-cycles.py [--max N] CRATE_SRC...
Exits 1 when more modules than N (default 0) are caught in cycles, so CI can
hold the count where it is and only let it fall.
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)::\{", re.S)
COMMENT = re.compile(r"//[^\n]*")


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def group_paths(text: str):
    """Flattens `use crate::{a::{b, c}, d}` into `crate::a::b`, … ."""
    for match in USE_GROUP.finditer(text):
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield from expand(match.group(1), text[match.end() : i - 1])


def expand(prefix: str, body: str):
    items, depth, current = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        current += ch
    items.append(current)
    for item in (i.strip() for i in items):
        if not item:
            continue
        if "{" in item:
            head, rest = item.split("{", 1)
            yield from expand(f"{prefix}::{head.rstrip(':')}", rest.rsplit("}", 1)[0])
        else:
            yield f"{prefix}::{item.split(' as ')[0].strip()}"


def edges(src: Path):
    modules = {module_of(src, f) for f in src.rglob("*.rs")}
    # Inline `mod name {` blocks other than tests are rare; tests are left out.
    graph = {m: set() for m in modules}
    for file in src.rglob("*.rs"):
        here = module_of(src, file)
        text = COMMENT.sub("", file.read_text())
        text = text.split("#[cfg(test)]\nmod tests", 1)[0]
        paths = [m.group(0) for m in PATH.finditer(text)] + list(group_paths(text))
        for path in paths:
            parts = path.split("::")
            base = {"crate": (), "self": here}.get(parts[0])
            if base is None:
                base = here
                while parts and parts[0] == "super":
                    base, parts = base[:-1], parts[1:]
            else:
                parts = parts[1:]
            target = base + tuple(p for p in parts if p != "self")
            while target and target not in modules:
                target = target[:-1]
            related = target[: len(here)] == here or here[: len(target)] == target
            if not related:
                graph[here].add(target)
    return graph


def components(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    limit = 0
    if argv[:1] == ["--max"]:
        limit, argv = int(argv[1]), argv[2:]
    caught = 0
    for src in map(Path, argv):
        for group in components(edges(src)):
            names = ", ".join("::".join(m) or "(root)" for m in group)
            print(f"{src}: cycle of {len(group)}: {names}")
            caught += len(group)
    print(f"{caught} modules in import cycles (allowed: {limit})")
    return 1 if caught > limit else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
