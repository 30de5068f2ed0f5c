deploy_app("dist must be skipped")
run(1)
get(2)
