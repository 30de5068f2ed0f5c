# cc-ci harness: abra wrapper, app lifecycle, declared deps, generic tier checks.
