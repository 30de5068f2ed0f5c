deploy_app("thing.egg-info must be skipped")
run(1)
get(2)
