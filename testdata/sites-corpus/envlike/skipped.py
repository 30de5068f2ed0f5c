deploy_app("envlike must be skipped")
run(1)
get(2)
