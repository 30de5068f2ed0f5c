type Alias = list[int]
def generic[T](x: T) -> T:
    return run(x)
s = f"{'\n'.join(get(x) for x in 'ab')}"
t = f"{f"{deploy_app(1)}"}"
