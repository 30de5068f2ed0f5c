from app.core import deploy_app


def run(x):
    return x

deploy_app('after a form feed at the start of the line')
s = ' '; deploy_app('U+2028 inside a string is not a line end')
t = ''; run('NEL inside a string is not a line end')
# comment with U+2029   and U+2028   and VT  and FS  inside
u = run(1)  # line number must not have moved
v = """
line same linesame line
"""; deploy_app(v)
w = deploy_app(
    run(
        1,
    ),
)
if True: \
    run(2)
z = [
    deploy_app(i)

    for i in run(3)
]
