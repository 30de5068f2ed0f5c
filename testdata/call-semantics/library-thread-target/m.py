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
    threading.Thread(target=g).start()

def clean():
    threading.Thread(target=h).start()
