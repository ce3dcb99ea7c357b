#!/usr/bin/env python3
"""Extracts the C++ code blocks of a Markdown page into one translation unit,
so that the build compiles every snippet of the documentation.

    extract_snippets.py --root SOURCE_DIR --out FILE.cpp PAGE.md
    extract_snippets.py --self-test

Every fenced block whose info string starts with `cpp` or `c++` is extracted.
The HTML comment on the last non-blank line before the fence (invisible when
the page is rendered) says how the block is wrapped:

    <!-- snippet: file -->                  (the default: no comment at all)
        Declarations at namespace scope: functions, types, variables.
    <!-- snippet: function(PARAMETERS) -->
        Statements: the body of `void f(PARAMETERS)`.
    <!-- snippet: coroutine(PARAMETERS) -->
        Statements with co_await: the body of `asio::awaitable<void> f(PARAMETERS)`.

Each block goes into a namespace of its own, so blocks may reuse names.
`#include` lines are moved to the top of the translation unit.  Every block
sees <smtpio.hpp>, <asio.hpp> and the usual standard headers (the preamble
below).  `#line` directives make compiler errors point at the Markdown page.
Unused parameters and variables are allowed (snippets show declarations that
a reader would go on to use); every other warning is an error in the build.

A comment that is not a known annotation, an annotation not followed by a C++
block, and an unterminated block are errors: nothing is silently skipped.
"""
import argparse
import os
import re
import sys

PREAMBLE = """\
// Snippet preamble: what every block of the documentation may use.
#include <smtpio.hpp>
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#endif
"""

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
ANNOTATION = re.compile(r"^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$")
MODE = re.compile(r"^(file|function|coroutine)(?:\((.*)\))?$", re.S)
INCLUDE = re.compile(r"^\s*#\s*include\s*[<\"]")


class SnippetError(Exception):
    pass


class Block:
    def __init__(self, page, line, mode, params, code):
        self.page = page      # path as written in #line
        self.line = line      # 1-based line of the first code line
        self.mode = mode      # file | function | coroutine
        self.params = params  # parameter list for function/coroutine
        self.code = code      # list of lines (indentation of the fence removed)


def parse(text, page):
    """The C++ blocks of a page, with their annotations."""
    lines = text.split("\n")
    blocks = []
    pending = None  # (mode, params, line) of an annotation waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i]
        m = ANNOTATION.match(line)
        if m:
            if pending:
                raise SnippetError("%s:%d: snippet annotation not followed by a C++ block" % (page, pending[2]))
            mm = MODE.match(m.group(1))
            if not mm:
                raise SnippetError("%s:%d: unknown snippet annotation '%s' (file, function(...), coroutine(...))"
                                   % (page, i + 1, m.group(1)))
            mode, params = mm.group(1), (mm.group(2) or "").strip()
            if mode == "file" and mm.group(2) is not None:
                raise SnippetError("%s:%d: 'file' takes no parameters" % (page, i + 1))
            pending = (mode, params, i + 1)
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            indent, fence, info = f.group(1), f.group(2), f.group(3).lower()
            start = i + 1
            j = start
            while j < len(lines):
                c = FENCE.match(lines[j])
                if c and c.group(2)[0] == fence[0] and len(c.group(2)) >= len(fence) and not c.group(3):
                    break
                j += 1
            if j >= len(lines):
                raise SnippetError("%s:%d: code block never closed" % (page, i + 1))
            if info in ("cpp", "c++"):
                code = []
                for k in range(start, j):
                    l = lines[k]
                    code.append(l[len(indent):] if l.startswith(indent) else l.lstrip())
                mode, params = (pending[0], pending[1]) if pending else ("file", "")
                blocks.append(Block(page, start + 1, mode, params, code))
                pending = None
            elif pending:
                raise SnippetError("%s:%d: snippet annotation before a '%s' block, not a C++ one"
                                   % (page, pending[2], info or "plain"))
            i = j + 1
            continue
        if pending and line.strip():
            raise SnippetError("%s:%d: snippet annotation not followed by a C++ block" % (page, pending[2]))
        i += 1
    if pending:
        raise SnippetError("%s:%d: snippet annotation not followed by a C++ block" % (page, pending[2]))
    return blocks


def render(blocks, page, ident):
    """One translation unit holding every block of a page."""
    out = ["// Generated from %s by docs/tools/extract_snippets.py: do not edit." % page, PREAMBLE]
    for b in blocks:
        for l in b.code:
            if INCLUDE.match(l):
                out.append(l.strip())
    for n, b in enumerate(blocks, 1):
        out.append("")
        out.append("namespace smtpio_snippet_%s_%d {" % (ident, n))
        if b.mode == "function":
            out.append("void snippet(%s) {" % b.params)
        elif b.mode == "coroutine":
            out.append("asio::awaitable<void> snippet(%s) {" % b.params)
        out.append('#line %d "%s"' % (b.line, page))
        for l in b.code:
            out.append("" if INCLUDE.match(l) else l)
        if b.mode != "file":
            out.append("}")
        out.append("} // namespace smtpio_snippet_%s_%d" % (ident, n))
    out.append("")
    return "\n".join(out)


def self_test():
    sample = "\n".join([
        "# Title",                                   # 1
        "```cpp",                                    # 2
        "#include <vector>",                         # 3
        "int f() { return 1; }",                     # 4
        "```",                                       # 5
        "<!-- snippet: function(int x, char y) -->",  # 6
        "",                                          # 7
        "  ```c++",                                  # 8
        "  int z = x;",                              # 9
        "  ```",                                     # 10
        "```sh",                                     # 11
        "echo not c++",                              # 12
        "```",                                       # 13
        "<!-- snippet: coroutine() -->",             # 14
        "````cpp",                                   # 15
        "co_await asio::post(asio::use_awaitable);",  # 16
        "```",                                       # 17 (shorter: not a close)
        "````",                                      # 18
    ])
    b = parse(sample, "t.md")
    assert [x.mode for x in b] == ["file", "function", "coroutine"], [x.mode for x in b]
    assert b[0].line == 3 and b[1].line == 9 and b[2].line == 16, [x.line for x in b]
    assert b[1].params == "int x, char y" and b[1].code == ["int z = x;"], (b[1].params, b[1].code)
    assert b[2].code == ["co_await asio::post(asio::use_awaitable);", "```"], b[2].code
    tu = render(b, "t.md", "t")
    assert tu.index("#include <vector>") < tu.index("namespace smtpio_snippet_t_1")
    assert "void snippet(int x, char y) {" in tu and "asio::awaitable<void> snippet() {" in tu
    assert '#line 9 "t.md"' in tu
    for bad, why in [
        ("<!-- snippet: lambda -->\n```cpp\nx\n```", "unknown snippet annotation"),
        ("<!-- snippet: file(int) -->\n```cpp\nx\n```", "takes no parameters"),
        ("<!-- snippet: file -->\ntext\n```cpp\nx\n```", "not followed"),
        ("<!-- snippet: file -->\n```sh\nx\n```", "not a C++ one"),
        ("```cpp\nint x;\n", "never closed"),
        ("<!-- snippet: function() -->", "not followed"),
    ]:
        try:
            parse(bad, "bad.md")
        except SnippetError as e:
            assert why in str(e), (why, str(e))
        else:
            raise AssertionError("accepted: %r" % bad)
    print("extract_snippets.py: self-test passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("page", nargs="?")
    ap.add_argument("--root", help="source directory; #line paths are relative to it")
    ap.add_argument("--out", help="the translation unit to write")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.page or not a.out:
        ap.error("PAGE and --out are required")
    rel = os.path.relpath(a.page, a.root) if a.root else a.page
    ident = re.sub(r"[^A-Za-z0-9]", "_", os.path.splitext(rel)[0])
    with open(a.page, encoding="utf-8") as f:
        text = f.read()
    try:
        blocks = parse(text, rel)
    except SnippetError as e:
        print("error: " + str(e), file=sys.stderr)
        return 1
    tu = render(blocks, rel, ident)
    # Rewrite only on change, so an edit elsewhere in the page recompiles nothing.
    old = None
    if os.path.exists(a.out):
        with open(a.out, encoding="utf-8") as f:
            old = f.read()
    if old != tu:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(tu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
