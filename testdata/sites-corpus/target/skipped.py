deploy_app("target must be skipped")
run(1)
get(2)
