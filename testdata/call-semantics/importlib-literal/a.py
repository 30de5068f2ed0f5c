def target(): pass
