deploy_app("build must be skipped")
run(1)
get(2)
