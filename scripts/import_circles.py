#!/usr/bin/env python3
"""Import circles between the .rs files of each crate in the workspace.

A file-level graph is drawn from the code's own paths and its strongly connected components
(Tarjan) are the circles: two files are in one circle when each reaches the other. An edge from
file A to file B is any path in A that names B's module or an item in it:

* every `use` tree (`pub use` re-exports included), expanded (`use crate::a::{b, c::d}`);
* every path written in the code that starts with `crate::`, `super::` or `self::`;
* every path that starts with the name of a child module the file declares (`mod store;` then
  `store::x` or `use store::x`);
* `crate::name` of a `#[macro_export]` macro goes to the file that defines the macro.

Not counted: the `mod x;` declarations themselves (a parent declaring its children is not a
dependency), `#[cfg(test)] mod x { ... }` blocks and `#[cfg(test)] mod x;` files (tests may reach
anywhere), comments and string literals. A binary root (`src/main.rs`, `src/bin/*.rs`) is a crate
of its own and reaches the library only by its name, so it is a node apart (`bin:main`).

Usage: scripts/import_circles.py [crates-dir ...] [--edges CRATE]
Exit status 1 when a circle is wider than MAX_CIRCLE files (default 3).
"""
import os
import re
import sys
from collections import defaultdict

# ---------------------------------------------------------------- reading Rust text


def strip_code(text):
    """The text with comments and string/char literals blanked out (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
            continue
        if text.startswith('/*', i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith('/*', i):
                    depth, i = depth + 1, i + 2
                elif text.startswith('*/', i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == '\n':
                        out.append('\n')
                    i += 1
            continue
        m = re.match(r'b?r(#*)"', text[i:i + 260]) if c in 'br' and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == '_')) else None
        if m:
            close = '"' + m.group(1)
            j = text.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            out.append('""' + '\n' * text.count('\n', i, j))
            i = j
            continue
        if c == '"' or (c == 'b' and text.startswith('b"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == '_'))):
            j = i + (2 if c == 'b' else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == '\\' else 1
            out.append('""' + '\n' * text.count('\n', i, j))
            i = j + 1
            continue
        if c == "'":
            # A char literal ('a', '\n', '\u{3000}', '"'), not a lifetime ('a, 'static).
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:i + 12])
            if m:
                out.append("' '")
                i += m.end()
                continue
        out.append(c)
        i += 1
    return ''.join(out)


def without_test_blocks(text):
    """Drops `#[cfg(test)] mod x { ... }` blocks (the text is already stripped of literals)."""
    res, i = [], 0
    pat = re.compile(r'#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{')
    while True:
        m = pat.search(text, i)
        if not m:
            res.append(text[i:])
            return ''.join(res)
        res.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            if text[j] == '{':
                depth += 1
            elif text[j] == '}':
                depth -= 1
            j += 1
        i = j


def expand_use(tree, prefix=()):
    """`a::b::{c, d::e, f::{g, self}}` -> [[a,b,c], [a,b,d,e], [a,b,f,g], [a,b,f]]."""
    tree = tree.strip()
    i = tree.find('{')
    if i < 0:
        parts = [p for p in tree.split('::') if p]
        if parts and ' as ' in parts[-1]:
            parts[-1] = parts[-1].split(' as ')[0].strip()
        return [list(prefix) + parts] if parts or prefix else []
    head = tuple(p for p in tree[:i].split('::') if p.strip())
    body = tree[i + 1:tree.rfind('}')]
    items, depth, cur = [], 0, ''
    for ch in body:
        if ch == '{':
            depth += 1
        elif ch == '}':
            depth -= 1
        if ch == ',' and depth == 0:
            items.append(cur)
            cur = ''
        else:
            cur += ch
    items.append(cur)
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        if item == 'self':
            out.append(list(prefix + head))
        else:
            out += expand_use(item, prefix + head)
    return out


# ---------------------------------------------------------------- one crate


class Crate:
    def __init__(self, name, src):
        self.name = name
        self.lib_name = name.replace('-', '_')
        self.files = {}  # module path (tuple) -> file
        self.bins = {}  # 'bin:name' -> file
        for dp, _, fns in os.walk(src):
            for fn in fns:
                if not fn.endswith('.rs'):
                    continue
                p = os.path.join(dp, fn)
                rel = os.path.relpath(p, src)[:-3].split(os.sep)
                if rel == ['main'] or rel[0] == 'bin':
                    self.bins['bin:' + rel[-1]] = p
                    continue
                if rel[-1] == 'mod':
                    rel = rel[:-1]
                if rel == ['lib']:
                    rel = []
                self.files[tuple(rel)] = p
        self.text = {m: strip_code(open(p, encoding='utf-8').read()) for m, p in self.files.items()}
        self.bin_text = {b: strip_code(open(p, encoding='utf-8').read()) for b, p in self.bins.items()}
        self.test_only = set()
        self.children = defaultdict(set)
        self.macros = {}
        for mod, text in self.text.items():
            for m in re.finditer(r'(#\[cfg\(test\)\]\s*)?(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*;', text):
                child = mod + (m.group(4),)
                self.children[mod].add(m.group(4))
                if m.group(1):
                    self.test_only.add(child)
            for m in re.finditer(r'#\[macro_export\]\s*macro_rules!\s*(\w+)', text):
                self.macros[m.group(1)] = mod
        # A test-only file's own children are test-only too.
        for mod in sorted(self.files, key=len):
            if any(mod[:k] in self.test_only for k in range(1, len(mod))):
                self.test_only.add(mod)

    def module_of(self, full):
        """The file a module path falls in: the longest prefix that is a file."""
        for n in range(len(full), -1, -1):
            if tuple(full[:n]) in self.files:
                return tuple(full[:n])
        return None

    def resolve(self, mod, path):
        """The file `path` (written in `mod`'s file) names, or None for other crates and std."""
        path = [p for p in path if p not in ('*',)]
        if not path:
            return None
        head = path[0]
        if head == 'crate':
            if len(path) == 2 and path[1] in self.macros:
                return self.macros[path[1]]
            return self.module_of(path[1:])
        if head == 'super':
            base = list(mod)
            while path and path[0] == 'super':
                base, path = base[:-1], path[1:]
            return self.module_of(base + path)
        if head == 'self':
            return self.module_of(list(mod) + path[1:])
        if head in self.children[mod]:
            return self.module_of(list(mod) + path)
        return None

    def paths(self, text, children):
        found = []
        for m in re.finditer(r'\buse\s+([^;]+);', text):
            found += expand_use(re.sub(r'\s+', ' ', m.group(1)).replace(' ::', '::').replace(':: ', '::'))
        heads = ['crate', 'super', 'self'] + sorted(children)
        pat = r'(?<![\w:])((?:%s)(?:::\w+)+)' % '|'.join(map(re.escape, heads))
        for m in re.finditer(pat, text):
            found.append(m.group(1).split('::'))
        return found

    def graph(self):
        g = defaultdict(set)
        why = defaultdict(set)
        for mod, text in self.text.items():
            if mod in self.test_only:
                continue
            g[mod]
            for path in self.paths(without_test_blocks(text), self.children[mod]):
                t = self.resolve(mod, path)
                if t is not None and t != mod and t not in self.test_only:
                    g[mod].add(t)
                    why[(mod, t)].add('::'.join(path))
        for b, text in self.bin_text.items():
            g[b]
            for path in self.paths(without_test_blocks(text), set()):
                if path[0] == self.lib_name:
                    t = self.module_of(path[1:])
                    if t is not None:
                        g[b].add(t)
                        why[(b, t)].add('::'.join(path))
        return g, why


def tarjan(graph):
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v], key=str):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    for v in sorted(graph, key=str):
        if v not in index:
            visit(v)
    return sccs


def name(mod):
    return mod if isinstance(mod, str) else ('::'.join(mod) or '(root)')


def main(argv):
    roots, edges_of = [], None
    while argv:
        a = argv.pop(0)
        if a == '--edges':
            edges_of = argv.pop(0)
        else:
            roots.append(a)
    roots = roots or ['crates']
    worst = 0
    for root in roots:
        for crate_dir in sorted(os.listdir(root)):
            src = os.path.join(root, crate_dir, 'src')
            if not os.path.isdir(src):
                continue
            crate = Crate(crate_dir, src)
            g, why = crate.graph()
            if edges_of == crate_dir:
                for a in sorted(g, key=name):
                    for b in sorted(g[a], key=name):
                        print(f'{name(a)} -> {name(b)}: {", ".join(sorted(why[(a, b)]))}')
            for comp in tarjan(g):
                if len(comp) > 1:
                    worst = max(worst, len(comp))
                    print(f'{crate_dir}: circle of {len(comp)} files: {", ".join(sorted(name(m) for m in comp))}')
    print(f'widest circle: {worst} files')
    return worst


if __name__ == '__main__':
    widest = main(sys.argv[1:])
    sys.exit(1 if widest > int(os.environ.get('MAX_CIRCLE', '3')) else 0)
