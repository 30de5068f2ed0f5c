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
    sorted([1], key=g)

def clean():
    sorted([1], key=h)
