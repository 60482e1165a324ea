"""Files built into a binary as C++ string literals (the shipped tables, the model zoo)."""

def embed_files(name, srcs, out):
    """Writes `out`: one `{"basename", R"uintxembed(contents)uintxembed"},` line per file of srcs.

    A C++ file includes it inside an array of {name, text} pairs, so nothing is read from disk
    at run time. A file must not contain the delimiter `)uintxembed"`.
    """
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [out],
        cmd = "for f in $(SRCS); do echo \"{\\\"$$(basename $$f)\\\", R\\\"uintxembed(\"; cat $$f; echo \")uintxembed\\\"},\"; done > $@",
    )
