def target(): pass

def other(): pass
