import dataclasses

@dataclasses.dataclass
class A:
    x: int = 0

    def __post_init__(self):
        target()

@dataclasses.dataclass
class B:
    x: int = 0

def target(): pass

def f():
    A()

def clean():
    B()
