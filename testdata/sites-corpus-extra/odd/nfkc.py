def run(*a):
    return a


# Python NFKC-normalizes identifiers: each callee below IS the name `run` to ast.
ｒｕｎ(1)
𝐫𝐮𝐧(2)
x = object(); x.ｇｅｔ()
ﬁ = 1
deploy＿app(3)
