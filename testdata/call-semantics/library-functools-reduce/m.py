import atexit
import concurrent.futures
import functools
import signal
import threading

def g(*args):
    target()

def h(*args):
    return None

def target(): pass

def f():
    functools.reduce(g, [1, 2])

def clean():
    functools.reduce(h, [1, 2])
