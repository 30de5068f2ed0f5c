def f(bar):
    # Valid Python (indentation means nothing inside brackets); tree-sitter-python
    # 0.25 reports an ERROR here (from CPython's Lib/test/test_compile.py).
    (bar.
run)
    (bar.
get(
))
    return run(bar)


def run(x=None):
    return x


def get():
    pass
