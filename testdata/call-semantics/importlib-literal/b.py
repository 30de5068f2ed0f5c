def other(): pass
