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
    atexit.register(g)

def clean():
    atexit.register(h)
